"""Announcements go out in bursts: MeetingScheduled, MeetingFailed, MeetingCancelled.

Each announcement wakes every invitee it goes to; a burst wakes each once. An attendee's hold
blocks the slot until the announcement arrives, and the coordinator's ledger is authoritative,
so the delay costs nothing in safety. A live service answers its clients once a decision is
announced, so it announces at once (every_s = 0).
"""

from __future__ import annotations

from slotwise.coordinator.negotiation.actions import Publish
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.messages import Body

ANNOUNCE_EVERY_S = 0.02  # a batch run's bursts: at most this long after a decision


class Announcements:
    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._pending: list[tuple[Body, tuple[AgentId, ...]]] = []  # and who is told
        self.due: float | None = None

    def add(self, body: Body, to: tuple[AgentId, ...], now: float | None) -> None:
        """Queue an announcement; `now` None: it waits for the next flush, whenever that is
        (decisions resumed before negotiation begins)."""
        self._pending.append((body, to))
        if self.due is None and now is not None:
            self.due = now + self.every_s

    def flush(self) -> list[Publish]:
        burst = [Publish(body, to=to) for body, to in self._pending]
        self._pending.clear()
        self.due = None
        return burst

    def __bool__(self) -> bool:
        """Announcements are waiting for their burst: agents have not been told yet."""
        return bool(self._pending)
