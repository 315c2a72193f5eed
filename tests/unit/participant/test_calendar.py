"""The agent's calendar: answers by span arithmetic agree with checking each slot, and a batch
answer agrees with one-by-one answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from slotwise.participant.calendar import Calendar
from slotwise.shared.ids import MeetingId
from slotwise.shared.slots import FreeTime, Interval, SlotGrid


def test_answers_by_span_arithmetic_match_one_check_per_slot() -> None:
    rng = random.Random(7)
    origin = datetime(2024, 7, 22, tzinfo=UTC)
    for _ in range(30):
        free = FreeTime([Interval(origin + timedelta(minutes=a), origin + timedelta(minutes=a + rng.randint(15, 300)))
                         for a in sorted(rng.sample(range(0, 2000, 5), 6))])
        cal = Calendar(free)
        for k in range(rng.randint(0, 4)):
            start = origin + timedelta(minutes=rng.randrange(0, 2000, 15))
            cal.hold(MeetingId(f"h{k}"), Interval(start, start + timedelta(minutes=rng.choice([15, 45]))), 1)
        grid, duration = SlotGrid(origin, 15), rng.choice([15, 30, 60])
        slots = sorted(rng.sample(range(0, 130), 40)) if rng.random() < 0.5 else list(range(10, 120))
        slow = tuple(cal.can_attend(grid.interval(s, duration), MeetingId("m")) for s in slots)
        assert cal.answer(grid, duration, slots, MeetingId("m")) == slow


T = datetime(2024, 7, 22, tzinfo=UTC)


def iv(a: float, b: float) -> Interval:
    return Interval(T + timedelta(hours=a), T + timedelta(hours=b))


spans = st.lists(st.tuples(st.integers(0, 48), st.integers(1, 8)), max_size=8).map(
    lambda xs: [iv(a / 2, (a + d) / 2) for a, d in xs])


@given(spans, spans, st.lists(st.tuples(st.integers(0, 120), st.integers(1, 16)), max_size=20))
def test_calendar_batch_answer_agrees_with_one_by_one(free: list[Interval], taken: list[Interval],
                                                      probes: list[tuple[int, int]]) -> None:
    from slotwise.participant.calendar import Calendar, Commitment

    cal = Calendar(FreeTime(free))
    for i, busy in enumerate(taken):
        cal.holds[f"h{i}"] = Commitment(f"h{i}", busy, 1)
    grid = SlotGrid(T, 30)
    for slot, dur in probes:
        batch = cal.answer(grid, dur * 15, [slot], "new")
        assert batch == (cal.can_attend(grid.interval(slot, dur * 15), "new"),)


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 24)), max_size=40),
       st.lists(st.integers(0, 39), max_size=10), st.tuples(st.integers(0, 220), st.integers(1, 40)))
def test_accepted_meetings_overlapping_a_window_are_found_as_a_full_scan_finds_them(
        booked: list[tuple[int, int]], dropped: list[int], probe: tuple[int, int]) -> None:
    from slotwise.participant.calendar import Booked, Commitment

    accepted = Booked()
    for i, (a, d) in enumerate(booked):
        accepted[MeetingId(f"m{i}")] = Commitment(MeetingId(f"m{i}"), iv(a / 4, (a + d) / 4), 0)
    for i, (a, d) in enumerate(booked[:5]):  # moved: the same meeting at another time
        accepted[MeetingId(f"m{i}")] = Commitment(MeetingId(f"m{i}"), iv((a + 7) / 4, (a + 7 + d) / 4), 0)
    for i in dropped:  # cancelled: gone from the index too
        accepted.pop(MeetingId(f"m{i}"), None)
    window = iv(probe[0] / 4, (probe[0] + probe[1]) / 4)
    expected = {m for m, c in accepted.items() if c.when.overlaps(window)}
    assert {c.meeting_id for c in accepted.overlapping(window)} == expected


def test_answers_ignore_what_lies_outside_the_asked_window_however_much_there_is() -> None:
    # 5,000 meetings in the past and one in the window: the answer sees exactly that one.
    cal = Calendar(FreeTime([Interval(T - timedelta(days=400), T + timedelta(days=30))]))
    for i in range(5000):
        start = T - timedelta(days=300) + timedelta(hours=i)
        cal.accept(MeetingId(f"past{i}"), Interval(start, start + timedelta(minutes=30)))
    cal.accept(MeetingId("now"), iv(10, 11))
    grid = SlotGrid(T, 30)
    answer = cal.answer(grid, 60, list(range(16, 26)), MeetingId("new"))  # 08:00 to 13:00
    assert answer == tuple(not 9 < s / 2 < 11 for s in range(16, 26))  # an hour from s/2 o'clock overlaps 10-11
    assert answer == tuple(cal.can_attend(grid.interval(s, 60), MeetingId("new")) for s in range(16, 26))


def test_a_reread_says_whether_time_was_freed_in_a_window_asked_about_and_nothing_else() -> None:
    day = datetime(2024, 7, 22, 8, tzinfo=UTC)
    hour = timedelta(hours=1)
    free = [Interval(day, day + hour)]  # 08-09 free; what the owner's calendar says

    def source(window: Interval) -> FreeTime:
        return FreeTime(iv for iv in free if iv.start < window.end and window.start < iv.end)

    cal = Calendar(source)
    assert not cal.reread()  # nothing asked yet: no window to compare
    grid = SlotGrid(day, 60)
    assert cal.answer(grid, 60, [0, 1, 2], MeetingId("m")) == (True, False, False)
    free[:] = [Interval(day, day + hour / 2)]  # busier: no news for the coordinator
    assert not cal.reread()
    free[:] = [Interval(day + 5 * hour, day + 6 * hour)]  # 13-14 free: outside the window asked
    assert not cal.reread()
    free[:] = [Interval(day + hour, day + 2 * hour)]  # 09-10 free: inside it
    assert cal.reread()
    assert cal.answer(grid, 60, [0, 1, 2], MeetingId("m")) == (False, True, False)
    assert not cal.reread()  # read again, unchanged
    assert not Calendar(FreeTime(free)).reread()  # fixed free time never changes
