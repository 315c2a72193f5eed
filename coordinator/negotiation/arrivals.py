"""An agent arriving while negotiation is under way: a rejoining one is told what it holds, a
late joiner is asked what is still open. Both read the agenda only; the core decides when."""

from __future__ import annotations

from collections.abc import Callable

from slotwise.coordinator.negotiation.actions import Action, Publish
from slotwise.coordinator.negotiation.agenda import Agenda
from slotwise.coordinator.negotiation.state import MeetingPhase, MeetingState
from slotwise.coordinator.negotiation.walk import Walk
from slotwise.coordinator.placement.judge import Absence
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.messages import Body, MeetingCancelled


def holdings(agenda: Agenda, sender: AgentId) -> list[Action]:
    """A restarted agent rejoining: the meetings it holds (and, in the live service, those of
    its meetings cancelled meanwhile). Sent right behind its Welcome, which it reads first on
    the same connection: so it learns them even if the run ends before its Ready is read."""
    told: list[Action] = []
    for meeting_id in agenda.invited(sender):
        st = agenda.get(meeting_id)
        d = st.current if st is not None else None
        if st is None or d is None or sender not in d.participants:
            continue
        body: Body = (MeetingCancelled(meeting_id=st.id) if st.phase is MeetingPhase.CANCELLED
                      else d.announcement(st.spec.title, st.spec.remind, st.spec.uid))
        told.append(Publish(body, to=(sender,)))
    return told


def late_asks(agenda: Agenda, walk: Walk, sender: AgentId, now: float,
              solving: Callable[[MeetingState], bool]) -> list[Action]:
    """An agent that joined after negotiation began is asked for every meeting that invites it
    and is not being decided right now (holding, or in a solve): a late joiner costs time, not
    meetings."""
    actions: list[Action] = []
    for meeting_id in agenda.invited(sender):
        st = agenda.get(meeting_id)
        if st is None or st.absent.get(sender) is not Absence.NEVER_JOINED:
            continue
        if st.phase is MeetingPhase.ASKING or (st.phase is MeetingPhase.ANSWERED and not solving(st)):
            actions += walk.ask_late(st, sender, now)
    return actions
