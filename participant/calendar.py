"""One person's calendar as the agent sees it: free time, holds, and accepted meetings.

Holds count as busy for every other meeting. That is what makes the agent the first line of
defence against double-booking: two coordinators' (or two rounds') holds can never both land on
the same hour of the same person.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slotwise.shared.ids import MeetingId
from slotwise.shared.slots import FreeTime, Interval, MinuteSpans, SlotGrid

FREED_WINDOWS = 16  # request windows compared after a read, to tell the coordinator time was freed


@dataclass(frozen=True, slots=True)
class Commitment:
    meeting_id: MeetingId
    when: Interval
    round: int  # the hold round it came from; 0 for an accepted meeting announced to us


FreeSource = FreeTime | Callable[[Interval], FreeTime]


class Booked(dict[MeetingId, Commitment]):
    """Accepted meetings, also kept in start order: what overlaps a window is found by
    bisection, so a question about the weeks ahead costs what lies there, not the whole history
    (an agent of a long-running service holds thousands of past meetings)."""

    def __init__(self) -> None:
        super().__init__()
        self._order: list[tuple[datetime, MeetingId]] = []
        self._longest = timedelta(0)

    def __setitem__(self, meeting: MeetingId, c: Commitment) -> None:
        if meeting in self:
            self._unindex(meeting)
        super().__setitem__(meeting, c)
        bisect.insort(self._order, (c.when.start, meeting))
        self._longest = max(self._longest, c.when.end - c.when.start)

    def __delitem__(self, meeting: MeetingId) -> None:
        self._unindex(meeting)
        super().__delitem__(meeting)

    def pop(self, meeting: MeetingId, *default: Any) -> Any:
        if meeting in self:
            self._unindex(meeting)
        return super().pop(meeting, *default)

    def _unindex(self, meeting: MeetingId) -> None:
        key = (self[meeting].when.start, meeting)
        i = bisect.bisect_left(self._order, key)
        if i < len(self._order) and self._order[i] == key:
            del self._order[i]

    def overlapping(self, window: Interval) -> Iterator[Commitment]:
        """The accepted meetings that overlap `window`."""
        i = bisect.bisect_left(self._order, (window.start - self._longest,))
        while i < len(self._order) and self._order[i][0] < window.end:
            c = self[self._order[i][1]]
            if c.when.overlaps(window):
                yield c
            i += 1


class Calendar:
    """`free` is fixed free time, or a function expanding (recurring) free time within a window."""

    def __init__(self, free: FreeSource) -> None:
        self._source = free
        self._free_cache: dict[tuple[datetime, datetime], FreeTime] = {}
        self._free_spans: dict[tuple[datetime, datetime, datetime], MinuteSpans] = {}
        self.holds: dict[MeetingId, Commitment] = {}
        self.accepted = Booked()

    def invalidate(self) -> None:
        """The owner's calendar changed: free time is expanded again on the next question."""
        self._free_cache.clear()
        self._free_spans.clear()

    def reread(self) -> bool:
        """The owner's calendar was read again: forget what was expanded, and say whether free
        time appeared in one of the windows lately asked about (the newest FREED_WINDOWS), where a
        meeting that failed for want of it may fit now. Only those windows are expanded again, and
        the next requests for them would expand them anyway."""
        if isinstance(self._source, FreeTime):
            return False
        before = list(self._free_cache.items())[-FREED_WINDOWS:]
        self.invalidate()
        return any(not old.covers(iv) for (start, end), old in before
                   for iv in self._free(Interval(start, end)))

    def conflicts(self) -> list[MeetingId]:
        """Accepted meetings the owner's free time no longer covers."""
        return [m for m, c in self.accepted.items() if not self._free(c.when).covers(c.when)]

    def _free(self, window: Interval) -> FreeTime:
        if isinstance(self._source, FreeTime):
            return self._source
        key = (window.start, window.end)
        found = self._free_cache.get(key)
        if found is not None:
            return found
        # Free time expanded for a wider window holds everything inside this one: a hold (one
        # slot) is answered from its request's expansion, not by expanding the calendar again.
        for (start, end), free in self._free_cache.items():
            if start <= window.start and window.end <= end:
                return free
        if len(self._free_cache) > 64:  # one entry per request window; requests repeat windows
            self._free_cache.clear()
        found = self._free_cache[key] = self._source(window)
        return found

    def clash(self, when: Interval, meeting: MeetingId) -> MeetingId | None:
        """Another meeting (held or accepted) that overlaps `when`; a meeting never clashes with itself."""
        for c in self.accepted.overlapping(when):
            if c.meeting_id != meeting:
                return c.meeting_id
        for other, c in self.holds.items():
            if other != meeting and c.when.overlaps(when):
                return other
        return None

    def can_attend(self, when: Interval, meeting: MeetingId) -> bool:
        return self._free(when).covers(when) and self.clash(when, meeting) is None

    def answer(self, grid: SlotGrid, duration: int, slots: Sequence[int],
               meeting: MeetingId) -> tuple[bool, ...]:
        """can_attend for every candidate at once.

        A host answers tens of thousands of requests of hundreds of candidates each, so this is
        span arithmetic, not a test per candidate: each free span makes a run of slots possible
        and each held or accepted span a run impossible, marked in a byte mask with slice
        assignments (C speed), in integer minutes from the grid origin."""
        if not slots:
            return ()
        lo, hi, step = min(slots), max(slots), grid.minutes
        window = Interval(grid.start(lo), grid.start(hi) + timedelta(minutes=duration))
        key = (grid.origin, window.start, window.end)
        free = self._free_spans.get(key)
        if free is None:
            if len(self._free_spans) > 64:
                self._free_spans.clear()
            free = self._free_spans[key] = MinuteSpans(self._free(window), grid.origin, inner=True)
        mask = bytearray(hi - lo + 1)
        for a, b in zip(free.starts, free.ends, strict=True):  # whole meeting inside [a, b)
            first, last = max(lo, -(-a // step)), min(hi, (b - duration) // step)
            if first <= last:
                mask[first - lo:last - lo + 1] = b"\x01" * (last - first + 1)
        nearby = [*self.accepted.overlapping(window), *self.holds.values()]
        taken = MinuteSpans((c.when for c in nearby if c.meeting_id != meeting), grid.origin, inner=False)
        for a, b in zip(taken.starts, taken.ends, strict=True):  # any overlap with [a, b)
            first, last = max(lo, (a - duration) // step + 1), min(hi, (b - 1) // step)
            if first <= last:
                mask[first - lo:last - lo + 1] = bytes(last - first + 1)
        if hi - lo + 1 == len(slots):  # candidates are usually a run of consecutive slots
            return tuple(map(bool, mask))
        return tuple(mask[s - lo] == 1 for s in slots)

    def hold(self, meeting: MeetingId, when: Interval, round_: int) -> str | None:
        """Reserve `when`; returns why not, or None on success. Idempotent per meeting.

        A hold for a meeting already accepted at another time is the live service moving it:
        the accepted slot stays ours until the move is announced."""
        accepted = self.accepted.get(meeting)
        if accepted is not None and accepted.when == when:
            return None
        if not self._free(when).covers(when):
            return "not free"
        if self.clash(when, meeting) is not None:
            return "busy with another meeting"
        self.holds[meeting] = Commitment(meeting, when, round_)
        return None

    def release(self, meeting: MeetingId, round_: int | None = None) -> None:
        held = self.holds.get(meeting)
        if held is not None and (round_ is None or held.round == round_):
            del self.holds[meeting]

    def accept(self, meeting: MeetingId, when: Interval) -> MeetingId | None:
        """Record a scheduled meeting; returns a clashing meeting if the coordinator erred.

        The coordinator's decision stands over our tentative holds: any other hold it overlaps
        is released, so a hold never contradicts an accepted meeting."""
        self.holds.pop(meeting, None)
        for other, held in list(self.holds.items()):
            if held.when.overlaps(when):
                del self.holds[other]
        clash = self.clash(when, meeting)
        self.accepted[meeting] = Commitment(meeting, when, 0)
        return clash
