"""Intervals, candidates and free time, against brute force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotwise.shared.slots import FreeTime, Interval, MinuteSpans, SlotGrid, merge, subtract

T = datetime(2024, 7, 22, tzinfo=UTC)


def iv(a: float, b: float) -> Interval:
    return Interval(T + timedelta(hours=a), T + timedelta(hours=b))


def test_intervals_are_half_open_and_refuse_naive_or_reversed_times() -> None:
    assert not iv(9, 10).overlaps(iv(10, 11))
    assert iv(9, 10).overlaps(iv(9.5, 11))
    with pytest.raises(ValueError, match="naive"):
        Interval(datetime(2024, 1, 1), datetime(2024, 1, 2))
    with pytest.raises(ValueError, match="before it starts"):
        iv(10, 9)


def test_candidates_are_every_aligned_start_where_the_meeting_fits() -> None:
    grid = SlotGrid(T, 30)
    assert grid.candidates(iv(8, 10), 60) == [16, 17, 18]  # 08:00, 08:30, 09:00
    assert grid.candidates(iv(8, 10), 121) == []
    assert grid.candidates(iv(8.25, 9.5), 30) == [17, 18]  # aligned to the grid, not the horizon


def test_merge_and_subtract() -> None:
    assert merge([iv(9, 10), iv(10, 11), iv(13, 14), iv(9.5, 9.75)]) == [iv(9, 11), iv(13, 14)]
    assert subtract([iv(8, 18)], [iv(9, 10), iv(12, 13), iv(17, 19)]) == [iv(8, 9), iv(10, 12), iv(13, 17)]
    assert subtract([iv(8, 9)], [iv(7, 10)]) == []


spans = st.lists(st.tuples(st.integers(0, 48), st.integers(1, 8)), max_size=8).map(
    lambda xs: [iv(a / 2, (a + d) / 2) for a, d in xs])


@given(spans, spans, st.integers(0, 60), st.integers(1, 8))
def test_free_time_agrees_with_brute_force(base: list[Interval], holes: list[Interval], a: int, d: int) -> None:
    free = FreeTime(subtract(base, holes))
    probe = iv(a / 2, (a + d) / 2)
    minutes = [probe.start + timedelta(minutes=m) for m in range(0, probe.minutes, 5)]
    brute = all(any(b.start <= t < b.end for b in base) and not any(h.start <= t < h.end for h in holes)
                for t in minutes)
    assert free.covers(probe) == brute


def test_minute_spans_round_conservatively() -> None:
    odd = Interval(T + timedelta(seconds=30), T + timedelta(minutes=10, seconds=30))
    free = MinuteSpans([odd], T, inner=True)
    busy = MinuteSpans([odd], T, inner=False)
    assert (free.starts, free.ends) == ([1], [10])
    assert (busy.starts, busy.ends) == ([0], [11])
