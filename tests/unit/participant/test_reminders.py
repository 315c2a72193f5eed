"""Reminders on a controlled clock: when they fire, once, and what moves and cancellations do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slotwise.participant.reminders import ReminderClock, format_offset
from slotwise.shared.ids import MeetingId

T0 = datetime(2026, 11, 25, 9, tzinfo=UTC)


M = MeetingId("sync")


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def fire_all(clock: ReminderClock, until: datetime) -> list[tuple[datetime, str, int, bool]]:
    """Step the clock from one due time to the next, as the agent's single timer does."""
    out = []
    while (at := clock.next_at()) is not None and at <= until:
        out += [(at, f.meeting_id, f.offset_s, f.late) for f in clock.due(at)]
    return out


def test_reminders_fire_at_start_minus_offset_in_time_order() -> None:
    clock = ReminderClock()
    clock.schedule(M, "Sync", minutes(60), minutes(90), (86400, 900), now=T0)  # 1d passed: late
    clock.schedule(MeetingId("b"), "B", minutes(30), minutes(40), (600,), now=T0)
    fired = fire_all(clock, minutes(120))
    assert fired == [(T0, "sync", 86400, True), (minutes(20), "b", 600, False), (minutes(45), "sync", 900, False)]
    assert clock.next_at() is None and len(clock) == 0


def test_several_passed_offsets_fire_once_late_and_never_after_the_start() -> None:
    clock = ReminderClock()
    clock.schedule(M, "Sync", minutes(10), minutes(20), (86400, 3600, 900), now=T0)
    assert [(o, late) for _, _, o, late in fire_all(clock, minutes(30))] == [(900, True)]
    started = ReminderClock()
    started.schedule(M, "Sync", minutes(-5), minutes(20), (900,), now=T0)
    assert started.next_at() is None  # it has begun: no reminder at all


def test_a_move_replaces_reminders_and_a_cancel_drops_them() -> None:
    clock = ReminderClock()
    clock.schedule(M, "Sync", minutes(60), minutes(90), (900,), now=T0)
    clock.schedule(M, "Sync", minutes(120), minutes(150), (900,), now=T0)  # moved
    assert clock.next_at() == minutes(105)
    clock.schedule(MeetingId("b"), "B", minutes(30), minutes(40), (600,), now=T0)
    clock.drop(MeetingId("b"))
    assert fire_all(clock, minutes(200)) == [(minutes(105), "sync", 900, False)]


def test_a_repeated_announcement_does_not_fire_again() -> None:
    clock = ReminderClock()
    clock.schedule(M, "Sync", minutes(60), minutes(90), (900,), now=T0)
    assert len(fire_all(clock, minutes(50))) == 1
    clock.schedule(M, "Sync", minutes(60), minutes(90), (900,), now=minutes(50))  # told again on rejoin
    assert fire_all(clock, minutes(100)) == []


def test_muted_reminders_do_not_fire() -> None:
    clock = ReminderClock(mute_until=minutes(50))
    clock.schedule(M, "Sync", minutes(60), minutes(90), (900, 300), now=T0)
    assert [o for _, _, o, _ in fire_all(clock, minutes(100))] == [300]
    assert clock.muted == 1


def test_the_heap_does_not_grow_with_replaced_reminders() -> None:
    clock = ReminderClock()
    for i in range(10_000):
        clock.schedule(M, "Sync", minutes(60 + i), minutes(90 + i), (900, 300), now=T0)
    assert len(clock) == 2 and len(clock._heap) <= 2 * 2 + 64


def test_offsets_are_written_back_as_in_a_scenario() -> None:
    assert [format_offset(s) for s in (900, 86400, 90, 604800, 7200)] == ["15m", "1d", "90s", "1w", "2h"]
