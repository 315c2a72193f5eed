"""Time on the wire and in the cores: aware UTC datetimes, intervals, and the slot grid.

Every instant slotwise handles is timezone-aware. Naive datetimes are refused here rather than
guessed at, because a guessed zone is the classic way two agents disagree about "10:00". The
scenario loader turns naive times into aware ones using the scenario's zone before they get here.

A *slot grid* is an origin and a slot length. Candidate starts are whole slots from the origin,
so a request can name hundreds of candidates as small integers instead of datetimes.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo


def require_aware(moment: datetime) -> datetime:
    """Return the instant in UTC; a naive datetime is a programming error, not a guess."""
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"naive datetime {moment.isoformat()} (a time zone is required)")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """Half-open [start, end): back-to-back meetings touch but do not overlap."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start))
        object.__setattr__(self, "end", require_aware(self.end))
        if self.end <= self.start:
            raise ValueError(f"interval ends ({self.end}) before it starts ({self.start})")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


# "Free at any time": wide enough for any horizon, far enough from datetime's limits that
# arithmetic on it never overflows.
ALWAYS = Interval(datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping cover of the input; touching intervals are joined."""
    merged: list[Interval] = []
    for iv in sorted(intervals):
        if merged and iv.start <= merged[-1].end:
            if iv.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, iv.end)
        else:
            merged.append(iv)
    return merged


def subtract(base: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """Parts of `base` not covered by any of `holes` (both may overlap themselves)."""
    result: list[Interval] = []
    cuts = merge(holes)
    for piece in merge(base):
        start = piece.start
        for hole in cuts:
            if hole.end <= start or hole.start >= piece.end:
                continue
            if hole.start > start:
                result.append(Interval(start, hole.start))
            start = max(start, hole.end)
            if start >= piece.end:
                break
        if start < piece.end:
            result.append(Interval(start, piece.end))
    return result


class FreeTime:
    """A sorted set of free intervals answering "is all of this interval free?" in O(log n)."""

    __slots__ = ("_intervals", "_starts")

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self._intervals = merge(intervals)
        self._starts = [iv.start for iv in self._intervals]

    def covers(self, wanted: Interval) -> bool:
        i = bisect.bisect_right(self._starts, wanted.start) - 1
        return i >= 0 and self._intervals[i].contains(wanted)

    def __iter__(self) -> Iterator[Interval]:
        return iter(self._intervals)

    def __len__(self) -> int:
        return len(self._intervals)


class MinuteSpans:
    """Merged intervals as whole minutes from an origin, for answering hundreds of slots fast.

    Building an Interval per candidate costs microseconds; two bisects over ints cost far less.
    Rounding is conservative in the direction given: `inner` shrinks each interval to whole
    minutes (for free time: never claim a partial minute is free), otherwise they grow (for busy
    time: never claim a partial minute is not busy).
    """

    __slots__ = ("ends", "starts")

    def __init__(self, intervals: Iterable[Interval], origin: datetime, *, inner: bool) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for iv in merge(intervals):
            a = (iv.start - origin) / timedelta(minutes=1)
            b = (iv.end - origin) / timedelta(minutes=1)
            lo, hi = (math.ceil(a), math.floor(b)) if inner else (math.floor(a), math.ceil(b))
            if lo < hi:
                self.starts.append(lo)
                self.ends.append(hi)

    def covers(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start) - 1
        return i >= 0 and self.ends[i] >= end

    def overlaps(self, start: int, end: int) -> bool:
        j = bisect.bisect_right(self.ends, start)
        return j < len(self.starts) and self.starts[j] < end


@dataclass(frozen=True, slots=True)
class SlotGrid:
    """Slot k starts at origin + k * minutes."""

    origin: datetime
    minutes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", require_aware(self.origin))
        if self.minutes <= 0:
            raise ValueError("slot length must be a positive number of minutes")

    def start(self, slot: int) -> datetime:
        return self.origin + timedelta(minutes=slot * self.minutes)

    def interval(self, slot: int, duration_minutes: int) -> Interval:
        start = self.start(slot)
        return Interval(start, start + timedelta(minutes=duration_minutes))

    def candidates(self, horizon: Interval, duration_minutes: int) -> list[int]:
        """Every slot-aligned start inside the horizon where the whole meeting fits."""
        span = int((horizon.end - self.origin).total_seconds() // 60)
        first = max(0, -(-int((horizon.start - self.origin).total_seconds() // 60) // self.minutes))
        last_start = span - duration_minutes  # latest start, in minutes from the origin
        if last_start < 0:
            return []
        return list(range(first, last_start // self.minutes + 1))


def format_moment(moment: datetime, zone: tzinfo) -> str:
    """How a person reads a slot in a reason or a table: "Sun 21 Jul 10:00"."""
    return moment.astimezone(zone).strftime("%a %d %b %H:%M")


def format_interval(iv: Interval, zone: tzinfo) -> str:
    return f"{format_moment(iv.start, zone)}-{iv.end.astimezone(zone).strftime('%H:%M')}"

