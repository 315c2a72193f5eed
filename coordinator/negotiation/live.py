"""The core of a service that never ends (`slotwise serve`): meetings arrive, leave and move
while agents stay connected.

- `submit`: new meetings, negotiated against everything booked, first come, first served (each
  request's own meetings in priority order; with `placement: optimize`, a request of several
  is placed together once its answers are in). A confirmed meeting is never disturbed by a new one.
- `cancel`: holds released, the slot freed, every invitee told.
- `move`: the same meeting re-negotiated with the same invitees while its old slot stays booked
  (a meeting never conflicts with itself, in the ledger and in the agents' calendars); a move
  that finds nothing leaves it where it was (MoveFailed).
- `drop_attendee`: the meeting goes on without someone, if its rule still holds.
- `restore`: a meeting the service's store already decided, booked as before, before `start`.

It announces at once (a client waits for each decision), keeps no decision list (the store
does), and never reaches DONE.
"""

from __future__ import annotations

from collections.abc import Sequence

from slotwise.coordinator.negotiation.actions import (
    Action,
    AnswerGiven,
    Cancelled,
    ConflictReported,
    Decided,
    Publish,
    TimeFreed,
)
from slotwise.coordinator.negotiation.core import Negotiation
from slotwise.coordinator.negotiation.state import OPEN, MeetingEvent, MeetingPhase, MeetingState, MeetingView, Phase
from slotwise.coordinator.plan import Plan
from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.shared.decision import Decision
from slotwise.shared.errors import UsageError
from slotwise.shared.guarded import guarded
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.wire.messages import Answer, MeetingCancelled, Release


class LiveNegotiation(Negotiation):
    announce_every_s = 0.0  # a client waits for each decision: no bursts
    finishes = False

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan)
        # An answer-based priority cannot wait for answers to a stream that never ends: each
        # request's meetings are ordered when they arrive.
        self._ordered = True

    def _record(self, decision: Decision) -> None:
        """Nothing: the service keeps its decisions in its store and each meeting's state; a list
        here would grow with every move, for ever."""

    def _conflict(self, st: MeetingState, sender: AgentId) -> list[Action]:
        if st.phase is not MeetingPhase.DECIDED:
            return []  # a meeting being moved is being dealt with already
        return [ConflictReported(st.id, sender)]

    def _freed(self, sender: AgentId) -> list[Action]:
        return [TimeFreed(sender)]

    def _answer(self, sender: AgentId, body: Answer) -> list[Action]:
        st = self.agenda.get(MeetingId(body.meeting_id))
        if st is None or st.phase is not MeetingPhase.DECIDED or st.decision is None \
                or sender not in st.decision.participants:
            return []  # not a meeting they attend as it stands (moved, cancelled, or never theirs)
        return [AnswerGiven(st.id, sender, body.partstat)]

    # --- verbs ----------------------------------------------------------------------------------

    @guarded
    def submit(self, specs: Sequence[MeetingSpec], now: float) -> list[Action]:
        """New meetings, negotiated against everything booked; ids must be new (the service
        answers a repeated request itself)."""
        for spec in specs:
            if spec.id in self.agenda:
                raise UsageError(f"meeting {spec.id} exists already")
        fresh = [self._state(spec) for spec in specs]
        fresh.sort(key=lambda st: self.plan.priority.key(st.judge.facts(st.spec.order, False)))
        if self.plan.optimize_s is not None and len(fresh) > 1:
            self._batch(fresh)
        for st in fresh:
            self.agenda.put(st)
            self.agenda.turns.append(st)
        if self.phase is not Phase.NEGOTIATING:
            return []  # asked when joining ends
        # Agents hear every cancellation and move before they are asked again: a slot the ledger
        # has freed must not still look taken to them (one socket keeps this order).
        actions: list[Action] = list(self.announcements.flush())
        for st in fresh:
            actions += self.walk.ask(st, now)
        return actions + self._advance(now)

    @guarded
    def move(self, spec: MeetingSpec, now: float) -> list[Action]:
        """Negotiate `spec` (an existing meeting with a new window) with the same invitees; the
        old slot stays booked until a new one is confirmed."""
        old = self.agenda.get(spec.id)
        if old is None or old.phase is not MeetingPhase.DECIDED or old.decision is None:
            raise UsageError(f"meeting {spec.id} is not decided, so it cannot be moved")
        st = self._state(spec)
        st.previous = old.decision
        self.agenda.put(st)
        self.agenda.turns.append(st)
        if self.phase is not Phase.NEGOTIATING:
            return []
        return [*self.announcements.flush(), *self.walk.ask(st, now), *self._advance(now)]

    @guarded
    def forget(self, meeting_id: MeetingId) -> None:
        """A closed meeting whose time has passed leaves the core: its booking, and what a
        rejoining agent is told. The live service keeps it in its store (archived)."""
        st = self.agenda.get(meeting_id)
        if st is None or st.phase in OPEN:
            raise UsageError(f"meeting {meeting_id} is unknown or still being negotiated")
        current = st.current
        if current is not None and current.scheduled:
            self.ledger.unbook(st.id, current.attendees)
        self.proposals.drop(st.id)
        self.agenda.forget(st)

    @guarded
    def retry(self, spec: MeetingSpec, now: float) -> list[Action]:
        """Negotiate a failed meeting again from the start, against everything booked now (its
        candidates as the caller gives them: those not yet begun)."""
        old = self.agenda.get(spec.id)
        if old is None or old.phase is not MeetingPhase.DECIDED or old.decision is None or old.decision.scheduled:
            raise UsageError(f"meeting {spec.id} has not failed, so it cannot be retried")
        st = self._state(spec)
        self.agenda.put(st)
        self.agenda.turns.append(st)
        if self.phase is not Phase.NEGOTIATING:
            return []
        return [*self.announcements.flush(), *self.walk.ask(st, now), *self._advance(now)]

    @guarded
    def cancel(self, meeting_id: MeetingId, now: float) -> list[Action]:
        """Cancel a meeting in any state: holds are released, its slot is freed, everyone is told."""
        st = self.agenda.get(meeting_id)
        if st is None or st.phase is MeetingPhase.CANCELLED:
            raise UsageError(f"meeting {meeting_id} is unknown or cancelled already")
        actions: list[Action] = []
        if st.hold is not None:
            actions += [Publish(Release(meeting_id=st.id, round=st.hold.exchange.round), to=(w,))
                        for w in sorted(st.hold.exchange.asked)]
            st.hold = None
        st.asking = None
        previous = st.current
        if previous is not None and previous.scheduled:
            self.ledger.unbook(st.id, previous.attendees)
        st.decision = previous
        self.proposals.drop(st.id)
        st.fire(MeetingEvent.CANCEL)
        self.announcements.add(MeetingCancelled(meeting_id=st.id), st.spec.invitees, now)
        actions.append(Cancelled(st.id, previous))  # the shell's record comes before anyone hears
        if self.phase is Phase.NEGOTIATING:
            actions += self.announcements.flush()
        return actions + self._advance(now)

    @guarded
    def drop_attendee(self, meeting_id: MeetingId, who: AgentId, now: float) -> list[Action]:
        """The meeting goes on without `who`, if its rule still holds; returns [] if it does not
        (the caller then moves it)."""
        st = self.agenda.get(meeting_id)
        d = None if st is None else st.decision
        if st is None or st.phase is not MeetingPhase.DECIDED or d is None or not d.scheduled or d.when is None:
            return []
        rest = tuple(a for a in d.attendees if a != who)
        if not rest or not st.spec.policies.rule.satisfied(st.judge.judged_meeting(), rest):
            return []
        self.ledger.unbook(st.id, d.attendees)
        self.ledger.book(st.id, d.when, rest)
        decision = Decision.placed(st.id, d.when, rest, d.round_trips)
        st.decision = decision
        self.announcements.add(decision.announcement(st.spec.title, st.spec.remind, st.spec.uid), st.spec.invitees, now)
        return [Decided(decision), *self.announcements.flush()]

    @guarded
    def restore(self, spec: MeetingSpec, decision: Decision | None, *, cancelled: bool = False) -> None:
        """A meeting the live service's store already decided (or cancelled): booked as before
        and announced again when negotiation begins, never asked again. Before `start` only."""
        if self.started or spec.id in self.agenda:
            raise UsageError(f"restore({spec.id}) after start, or twice")
        st = self._state(spec)
        self.agenda.put(st)
        if not cancelled:
            assert decision is not None, "only a cancelled meeting may have no decision"
            self._resume(st, decision)
            return
        st.decision = decision
        st.fire(MeetingEvent.CANCEL)
        self.announcements.add(MeetingCancelled(meeting_id=st.id), st.spec.invitees, None)

    # --- views ----------------------------------------------------------------------------------

    def meeting(self, meeting_id: MeetingId) -> MeetingView | None:
        """A meeting as it stands (None: never submitted)."""
        st = self.agenda.get(meeting_id)
        if st is None:
            return None
        return MeetingView(st.spec, st.phase, st.current, st.move_failure,
                           st.previous is not None and st.phase in OPEN)

    def moving(self, meeting_id: MeetingId) -> bool:
        st = self.agenda.get(meeting_id)
        return st is not None and st.previous is not None and st.phase in OPEN
