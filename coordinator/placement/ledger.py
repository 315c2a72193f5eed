"""The coordinator's own record of who attends what.

The ledger is the second line of defence against double-booking: agents refuse overlapping
holds, and the coordinator never even proposes a slot that collides with a meeting it has
already placed for that person. A booking that would double-book someone is our bug: it
asserts before anything is half-booked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from slotwise.coordinator.policies.base import Booking
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval, SlotGrid


class Ledger:
    """Bookings per person, in whole minutes from the slot grid's origin.

    The walk asks "is this person booked then?" for every candidate of every meeting; integer
    comparisons keep that off the coordinator's critical path (one Interval per check did not).
    """

    def __init__(self, grid: SlotGrid) -> None:
        self.grid = grid
        self._booked: dict[AgentId, list[tuple[int, int, Booking]]] = {}

    def _minutes(self, when: Interval) -> tuple[int, int]:
        a = (when.start - self.grid.origin) // timedelta(minutes=1)
        b = -((self.grid.origin - when.end) // timedelta(minutes=1))  # ceiling
        return a, b

    def conflict_at(self, who: AgentId, start: int, end: int, ignore: MeetingId | None = None) -> MeetingId | None:
        """The meeting `who` is booked in during [start, end) minutes from the origin, if any.

        A meeting never conflicts with itself (`ignore`): a meeting being moved keeps its old
        slot booked until the new one is confirmed, and may move to an overlapping slot."""
        for a, b, booking in self._booked.get(who, ()):
            if a < end and start < b and booking.meeting_id != ignore:
                return booking.meeting_id
        return None

    def conflict(self, who: AgentId, when: Interval) -> MeetingId | None:
        return self.conflict_at(who, *self._minutes(when))

    def book(self, meeting: MeetingId, when: Interval, attendees: Sequence[AgentId]) -> None:
        a, b = self._minutes(when)
        for who in attendees:
            clash = self.conflict_at(who, a, b)
            assert clash is None, f"{who} would be double-booked: {meeting} overlaps {clash}"
            self._booked.setdefault(who, []).append((a, b, Booking(meeting, when)))

    def copy(self) -> Ledger:
        """A scratch ledger to try placements on (the optimizer's dry run of the walk)."""
        other = Ledger(self.grid)
        other._booked = {who: list(entries) for who, entries in self._booked.items()}
        return other

    def unbook(self, meeting: MeetingId, attendees: Sequence[AgentId]) -> None:
        """Free the attendees' slot for `meeting` (cancelled, or moved elsewhere)."""
        for who in attendees:
            entries = self._booked.get(who, [])
            entries[:] = [e for e in entries if e[2].meeting_id != meeting]

    def entries(self, who: AgentId) -> Sequence[tuple[int, int, Booking]]:
        """`who`'s bookings as (start, end) minutes from the origin, and the booking."""
        return self._booked.get(who, ())

    def bookings(self, who: AgentId, ignore: MeetingId | None = None) -> list[Booking]:
        return [b for _, _, b in self._booked.get(who, ()) if b.meeting_id != ignore]

    def load(self, who: AgentId) -> int:
        return len(self._booked.get(who, ()))
