"""Reminders on a controlled clock, and the live service's store across reopenings."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slotwise.coordinator.store import SqliteStore, StoreError
from slotwise.participant.reminders import ReminderClock, format_offset
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval

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


# --- the store ----------------------------------------------------------------------------------

def placed(mid: str, hour: int) -> Decision:
    return Decision.placed(MeetingId(mid), Interval(minutes(60 * hour), minutes(60 * hour + 30)),
                           (AgentId("ana"),), 2)


def test_the_store_keeps_every_change_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SqliteStore(path)
    store.add([("a", {"id": "a"}), ("s", {"id": "s", "recurrence": "FREQ=DAILY"})],
              [("a", "a"), ("s@1", "s"), ("s@2", "s")])
    store.decide(placed("a", 1))
    store.decide(placed("s@1", 2))
    store.move_started("a", {"not_before": "x", "not_after": None})
    store.cancel(["s@1"])
    store.close()  # as after a SIGKILL: every call above committed on its own
    again = SqliteStore(path)
    rows = {r.id: r for r in again.meetings()}
    assert [r.id for r in again.meetings()] == ["a", "s@1", "s@2"]
    assert rows["a"].status == "scheduled" and rows["a"].decision == placed("a", 1)
    assert rows["a"].moving == {"not_before": "x", "not_after": None}
    assert rows["s@1"].status == "cancelled" and rows["s@2"].status == "pending"
    assert again.request("s") == {"id": "s", "recurrence": "FREQ=DAILY"}
    assert [s for s, _ in again.requests()] == ["a", "s"]
    again.move_failed("a", "no slot")
    assert again.meetings()[0].moving is None and again.meetings()[0].move_failure == "no slot"
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_one_request_is_stored_whole_or_not_at_all(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.add([("a", {"id": "a"})], [("a", "a")])
    with pytest.raises(sqlite3.IntegrityError):
        store.add([("b", {"id": "b"}), ("a", {"id": "a"})], [("b", "b")])  # a exists: nothing of it kept
    assert [r.id for r in store.meetings()] == ["a"] and store.request("b") is None


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just words " * 100)
    with pytest.raises(StoreError, match="cannot use as a store"):
        SqliteStore(path)
    db = tmp_path / "future.db"
    SqliteStore(db).close()
    sqlite3.connect(db).execute("UPDATE meta SET value = '99' WHERE key = 'schema'").connection.commit()
    with pytest.raises(StoreError, match="schema 99"):
        SqliteStore(db)
