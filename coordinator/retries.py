"""Which failed meetings the live service negotiates again, and when (`policies.retry`).

A meeting fails for a reason that may pass: an invitee's agent was down, the only free slot
was taken by a meeting since cancelled or moved away, an invitee's calendar was full. So a
failed meeting waits, and is tried again when something happens that could make it fit: a
meeting cancelled or moved away (its invitees have time again), an invitee's agent back or its
calendar freeing time. Only the waiting meetings that invite someone concerned are tried: time
freed for other people cannot help them, and a calendar that changes every minute must not spend
everyone's attempts. At most `attempts` times, and only while the meeting's window is open.
Nothing here touches the core: the desk asks `due()` on its turn and retries those.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from slotwise.coordinator.negotiation import Action, Back, Cancelled, Decided, MoveFailed, TimeFreed
from slotwise.shared.ids import AgentId, MeetingId


class Retries:
    def __init__(self, attempts: int, invitees: Callable[[MeetingId], Collection[AgentId]]) -> None:
        self.attempts = attempts
        self._invitees = invitees
        self._tried: dict[MeetingId, int] = {}  # retries made, per meeting that failed
        self._waiting: set[MeetingId] = set()  # failed, with attempts left
        self._moving: set[MeetingId] = set()
        self._freed: set[AgentId] = set()  # people with time again since due() last looked
        self.made = 0  # retries made in all, for the operator's counters

    def failed(self, meeting_id: MeetingId) -> None:
        """A meeting failed (decided so, or found so in the store at start)."""
        if self._tried.get(meeting_id, 0) < self.attempts:
            self._waiting.add(meeting_id)

    def note(self, action: Action) -> None:
        if isinstance(action, Decided):
            meeting_id = MeetingId(action.decision.id)
            if action.decision.scheduled:
                self._waiting.discard(meeting_id)
                self._tried.pop(meeting_id, None)
            else:
                self.failed(meeting_id)
            if meeting_id in self._moving:
                self._moving.discard(meeting_id)
                if action.decision.scheduled:  # the slot it left is free for its invitees
                    self._freed.update(self._invitees(meeting_id))
        elif isinstance(action, MoveFailed):
            self._moving.discard(MeetingId(action.decision.id))
        elif isinstance(action, Cancelled):
            self.forget(MeetingId(action.meeting_id))
            self._freed.update(self._invitees(MeetingId(action.meeting_id)))
        elif isinstance(action, (Back, TimeFreed)):
            self._freed.add(action.agent)

    def moving(self, meeting_id: MeetingId) -> None:
        """A move began: if it lands elsewhere, the slot it leaves may fit a waiting meeting."""
        self._moving.add(meeting_id)

    def waiting(self, meeting_id: MeetingId) -> bool:
        return meeting_id in self._waiting

    def forget(self, meeting_id: MeetingId) -> None:
        """Cancelled, or retried by hand: no longer waiting on its own."""
        self._waiting.discard(meeting_id)

    def due(self, still_open: Callable[[MeetingId], bool]) -> list[MeetingId]:
        """The waiting meetings to try again now (their attempts counted), in id order: those
        inviting someone with time again. Those whose window has closed stop waiting."""
        freed, self._freed = self._freed, set()
        if not freed or not self._waiting:
            return []
        chosen: list[MeetingId] = []
        for meeting_id in sorted(self._waiting):
            if not still_open(meeting_id):
                self._waiting.discard(meeting_id)
            elif not freed.isdisjoint(self._invitees(meeting_id)):
                chosen.append(meeting_id)
                self._waiting.discard(meeting_id)  # it comes back through failed() if it fails again
                self._tried[meeting_id] = self._tried.get(meeting_id, 0) + 1
        self.made += len(chosen)
        return chosen
