"""Damping for calendar conflicts in the live service: a calendar that conflicts with every slot
it is given (a misconfigured sync, an autoresponder booking over meetings) must not spin the
service moving one meeting forever. Sans-IO: the desk passes `now`."""

from __future__ import annotations

from collections import deque

from slotwise.shared.ids import AgentId, MeetingId

DAY_S = 86_400.0  # the window of `conflict_moves_per_day`

Key = tuple[MeetingId, AgentId]


class Damping:
    """A meeting moved for an attendee's conflict is not moved again for them within `quiet_s`,
    nor for conflicts more than `per_day` times in any 24 hours; a conflict reported meanwhile
    waits here until it may be answered."""

    def __init__(self, quiet_s: float, per_day: int) -> None:
        self.quiet_s = quiet_s
        self.per_day = per_day
        self._moved: dict[Key, float] = {}  # when each (meeting, attendee) conflict last moved it
        self._day: dict[MeetingId, deque[float]] = {}  # each meeting's conflict moves in the last day
        self._deferred: dict[Key, float] = {}  # held back, until when

    def due(self, now: float) -> list[Key]:
        """Held-back conflicts that may be answered now (no longer held)."""
        ready = [key for key, until in self._deferred.items() if now >= until]
        for key in ready:
            del self._deferred[key]
        return ready

    def waiting(self, key: Key) -> bool:
        return key in self._deferred

    def hold(self, key: Key, now: float) -> float | None:
        """Until when this conflict must wait (it is held back till then), or None: it may
        move its meeting now, and that move is counted."""
        day = self._day.setdefault(key[0], deque())
        while day and now - day[0] >= DAY_S:
            day.popleft()
        waits = []
        last = self._moved.get(key)
        if last is not None and now - last < self.quiet_s:
            waits.append(last + self.quiet_s)
        if len(day) >= self.per_day:
            waits.append(day[0] + DAY_S)
        if waits:
            self._deferred[key] = max(waits)
            return self._deferred[key]
        self._moved[key] = now
        day.append(now)
        return None

    def next_deadline(self) -> float | None:
        return min(self._deferred.values(), default=None)
