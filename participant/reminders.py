"""Reminders: one heap of next firing times, no timer per meeting and no polling.

The agent's shell sleeps until `next_at()` (alongside its socket deadlines) and then takes
`due(now)`; nothing here reads a clock, so tests drive it with any `now` they like.

A meeting's reminders are replaced whenever it is announced again (moved, or told again after a
restart) and dropped when it is cancelled. Entries in the heap are never searched for: a
replaced meeting's old entries stay until they surface and are skipped by their version, and the
heap is rebuilt when stale entries outnumber live ones, so memory follows the live reminders.

A reminder whose time has passed when it is learned (the agent was down, or the meeting was
booked late) fires at once, marked late, if the meeting has not started, and once only, however
many of its offsets have passed. Reminders due before `mute_until` are not fired at all.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slotwise.shared.ids import MeetingId


@dataclass(frozen=True, slots=True)
class Fired:
    meeting_id: MeetingId
    title: str
    start: datetime
    end: datetime
    offset_s: int  # how long before the start it was meant to fire
    due: datetime  # when it was meant to fire
    late: bool  # its time had passed when the agent learned of it

    def as_json(self, participant: str, fired_at: datetime) -> dict[str, object]:
        return {"participant": participant, "meeting_id": self.meeting_id, "title": self.title,
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "offset": format_offset(self.offset_s), "due": self.due.isoformat(),
                "fired_at": fired_at.isoformat(), "late": self.late}


@dataclass
class _Meeting:
    version: int
    title: str
    start: datetime
    end: datetime
    fired: set[int] = field(default_factory=set)  # offsets already fired for this start
    pending: int = 0  # its entries in the heap


# (fire at, tie-breaker, meeting, version, offset, late)
_Entry = tuple[datetime, int, MeetingId, int, int, bool]


class ReminderClock:
    def __init__(self, mute_until: datetime | None = None) -> None:
        self.mute_until = mute_until
        self._heap: list[_Entry] = []
        self._meetings: dict[MeetingId, _Meeting] = {}
        self._versions = 0
        self._live = 0  # heap entries whose version is current
        self.muted = 0

    def schedule(self, meeting_id: MeetingId, title: str, start: datetime, end: datetime,
                 offsets: tuple[int, ...], now: datetime) -> None:
        """(Re)place a meeting's reminders; offsets are seconds before `start`."""
        old = self._meetings.get(meeting_id)
        fired = old.fired if old is not None and old.start == start else set()
        self._drop(meeting_id)
        self._versions += 1
        entry = self._meetings[meeting_id] = _Meeting(self._versions, title, start, end, fired)
        passed = [o for o in offsets if o not in fired and start - timedelta(seconds=o) <= now]
        for offset in offsets:
            due = start - timedelta(seconds=offset)
            if offset not in fired and due > now:
                self._push(due, entry, meeting_id, offset, late=False)
        if passed and now < start:
            # Every passed offset is covered by one late reminder: the nearest to the start.
            self._push(now, entry, meeting_id, min(passed), late=True)
            fired.update(passed)
        self._compact()

    def drop(self, meeting_id: MeetingId) -> None:
        """The meeting was cancelled or moved without us: none of its reminders fire."""
        self._drop(meeting_id)
        self._compact()

    def _drop(self, meeting_id: MeetingId) -> None:
        old = self._meetings.pop(meeting_id, None)
        if old is not None:
            self._live -= old.pending

    def _push(self, due: datetime, meeting: _Meeting, meeting_id: MeetingId, offset: int, *, late: bool) -> None:
        self._versions += 1
        heapq.heappush(self._heap, (due, self._versions, meeting_id, meeting.version, offset, late))
        meeting.pending += 1
        self._live += 1

    def _current(self, e: _Entry) -> _Meeting | None:
        m = self._meetings.get(e[2])
        return m if m is not None and m.version == e[3] else None

    def _compact(self) -> None:
        if len(self._heap) > 64 and len(self._heap) > 2 * self._live:
            self._heap = [e for e in self._heap if self._current(e) is not None]
            heapq.heapify(self._heap)
            self._live = len(self._heap)

    def next_at(self) -> datetime | None:
        """When `due` next has something to return."""
        while self._heap and self._current(self._heap[0]) is None:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def due(self, now: datetime) -> list[Fired]:
        out: list[Fired] = []
        while self._heap and self._heap[0][0] <= now:
            due, _, meeting_id, _, offset, late = entry = heapq.heappop(self._heap)
            m = self._current(entry)
            if m is None:
                continue
            self._live -= 1
            m.pending -= 1
            m.fired.add(offset)
            if self.mute_until is not None and due < self.mute_until:
                self.muted += 1
                continue
            out.append(Fired(meeting_id, m.title, m.start, m.end, offset, m.start - timedelta(seconds=offset), late))
        if len(self._meetings) > 64 + 2 * self._live:  # forget meetings that have started, all fired
            for meeting_id in [k for k, m in self._meetings.items() if m.pending == 0 and m.start <= now]:
                del self._meetings[meeting_id]
        return out

    def __len__(self) -> int:
        return self._live


def format_offset(seconds: int) -> str:
    """900 -> "15m": the way offsets are written in a scenario."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
