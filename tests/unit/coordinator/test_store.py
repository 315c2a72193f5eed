"""The SQLite store's own: a file that is not a store refused, one service per file, a newer
schema refused. What both stores promise (every change kept across reopening, a request whole
or not at all, one scenario per store) is tests/integration/test_stores.py, run on both."""

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
