"""The live service's store: every change kept across reopening, a request stored whole or not
at all, and a file that is not a store refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slotwise.coordinator.store import SqliteStore, StoreError
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval

T0 = datetime(2026, 11, 25, 9, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


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


def test_a_second_service_on_one_store_is_refused_naming_the_holder(tmp_path: Path) -> None:
    import os

    first = SqliteStore(tmp_path / "s.db")
    with pytest.raises(StoreError, match=rf"in use by another slotwise serve \(pid {os.getpid()}\)"):
        SqliteStore(tmp_path / "s.db")
    first.close()
    SqliteStore(tmp_path / "s.db").close()  # free again once the holder is gone


def test_another_programs_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE customers (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"not a slotwise store .*customers"):
        SqliteStore(other)
    tables = {n for (n,) in sqlite3.connect(other).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"customers"}  # nothing of ours was added to it
    marked = tmp_path / "marked.db"
    db = sqlite3.connect(marked)
    db.execute("PRAGMA application_id = 1234")
    db.close()
    with pytest.raises(StoreError, match="belongs to another program: application id 1234"):
        SqliteStore(marked)


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="written by a newer slotwise"):
        SqliteStore(tmp_path / "s.db")


def test_a_store_remembers_its_scenario_and_refuses_another(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "s.db", "team-a").close()
    SqliteStore(tmp_path / "s.db", "team-a").close()  # the same scenario again: fine
    with pytest.raises(StoreError, match="holds the meetings of scenario 'team-a', not 'team-b'"):
        SqliteStore(tmp_path / "s.db", "team-b")
