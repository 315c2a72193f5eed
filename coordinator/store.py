"""The live service's state: every meeting requested, and what became of it, in SQLite.

Why a database and not the batch journal: the service changes meetings after deciding them
(cancel, move), and must find the in-flight ones again after a crash. SQLite in WAL mode with
`synchronous=FULL` makes each committed change survive a SIGKILL or a power cut, and every
change is committed before anyone hears of it (the shell writes, then announces).

`Store` is the small interface the service uses; `SqliteStore` is the one implementation, so a
server database can back the same interface later.

What is stored:
- `requests`: each meeting as it was submitted (canonical JSON), by its id. A repeated request
  is recognised by it (idempotency), and a restart recompiles meetings from it.
- `meetings`: one row per occurrence: status (pending, scheduled, failed, cancelled), the
  standing `Decision`, a move in flight (its window) and the last failed move's reason.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from slotwise.shared.decision import Decision
from slotwise.shared.errors import InputError

SCHEMA_VERSION = 1
APPLICATION_ID = 0x736C7477  # "sltw": marks the file as a slotwise store (PRAGMA application_id)
OUR_TABLES = frozenset({"meta", "requests", "meetings", "archived"})
Status = Literal["pending", "scheduled", "failed", "cancelled"]


class StoreError(InputError):
    """The store file cannot be used (not SQLite, another version, unwritable)."""


@dataclass(frozen=True)
class MeetingRow:
    id: str
    series: str  # the submitted meeting's id (an occurrence's series, or its own id)
    status: Status
    decision: Decision | None
    moving: dict[str, str | None] | None  # {"not_before", "not_after"} while a move is in flight
    move_failure: str | None


class Store(Protocol):
    def requests(self) -> list[tuple[str, Any]]: ...
    def request(self, series: str) -> Any | None: ...
    def add(self, requests: Sequence[tuple[str, Any]], occurrences: Sequence[tuple[str, str]]) -> None: ...
    def decide(self, decision: Decision) -> None: ...
    def move_started(self, meeting_id: str, window: dict[str, str | None]) -> None: ...
    def move_failed(self, meeting_id: str, reason: str) -> None: ...
    def cancel(self, meeting_ids: Sequence[str]) -> None: ...
    def meetings(self) -> list[MeetingRow]: ...
    def archive(self, meeting_ids: Sequence[str]) -> None: ...
    def archived(self, after: str | None, limit: int) -> list[MeetingRow]: ...
    def setting(self, key: str, default: str) -> str: ...
    def close(self) -> None: ...


def canonical(value: Any) -> str:
    """One spelling per meaning, so "the same request again" is a string comparison."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class SqliteStore:
    def __init__(self, path: Path, scenario: str | None = None) -> None:
        """`scenario`: the name of the scenario the service runs, recorded at the first start
        and required at every later one (a store holds one scenario's meetings; another's
        would fail one by one)."""
        self.path, self.scenario = path, scenario
        self._lock = _hold(path)  # one service per store, for this process's life
        try:
            self._db = sqlite3.connect(path, isolation_level=None)  # transactions are explicit
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._lock.close()
            raise StoreError(f"{path}: cannot use as a store: {exc}") from None
        except StoreError:
            self._lock.close()
            raise

    def _claim(self) -> None:
        """Refuse a file that is someone else's (another program's application id, or tables
        that are not ours), or a newer slotwise's; mark ours."""
        (app,) = self._db.execute("PRAGMA application_id").fetchone()
        tables = {name for (name,) in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        if app not in (0, APPLICATION_ID):
            raise StoreError(f"{self.path}: not a slotwise store (it belongs to another program: application id {app})")
        if app == 0 and tables - OUR_TABLES:
            others = ", ".join(sorted(tables - OUR_TABLES)[:5])
            raise StoreError(f"{self.path}: not a slotwise store (it holds other tables: {others})")
        if app == 0:
            self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _migrate(self) -> None:
        self._claim()
        with self._tx():
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: written by a newer slotwise (store schema {row[0]}; "
                                 f"this version reads {SCHEMA_VERSION})")
            if row is not None and int(row[0]) != SCHEMA_VERSION:
                raise StoreError(f"{self.path}: store schema {row[0]}; this version reads {SCHEMA_VERSION}")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            if self.scenario is not None:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('scenario', ?)", (self.scenario,))
                (owner,) = self._db.execute("SELECT value FROM meta WHERE key = 'scenario'").fetchone()
                if owner != self.scenario:
                    raise StoreError(f"{self.path}: holds the meetings of scenario {owner!r}, not "
                                     f"{self.scenario!r}; give this scenario a store of its own")
            self._db.execute("""CREATE TABLE IF NOT EXISTS requests (
                series TEXT PRIMARY KEY, body TEXT NOT NULL, seq INTEGER NOT NULL)""")
            self._db.execute("""CREATE TABLE IF NOT EXISTS meetings (
                id TEXT PRIMARY KEY, series TEXT NOT NULL REFERENCES requests(series),
                status TEXT NOT NULL, decision TEXT, moving TEXT, move_failure TEXT, seq INTEGER NOT NULL)""")
            # Meetings whose time has passed: kept, and listed on request, but no longer in the
            # service's memory nor restored at a restart.
            self._db.execute("CREATE TABLE IF NOT EXISTS archived (id TEXT PRIMARY KEY REFERENCES meetings(id))")

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    def __str__(self) -> str:
        return str(self.path)

    def requests(self) -> list[tuple[str, Any]]:
        """Every request with an occurrence not archived (those are all a restart needs)."""
        rows = self._db.execute(
            "SELECT series, body FROM requests r WHERE EXISTS (SELECT 1 FROM meetings m WHERE m.series = r.series "
            "AND m.id NOT IN (SELECT id FROM archived)) ORDER BY seq").fetchall()
        return [(series, json.loads(body)) for series, body in rows]

    def request(self, series: str) -> Any | None:
        row = self._db.execute("SELECT body FROM requests WHERE series = ?", (series,)).fetchone()
        return None if row is None else json.loads(row[0])

    def add(self, requests: Sequence[tuple[str, Any]], occurrences: Sequence[tuple[str, str]]) -> None:
        """All of one request's meetings, or none of them."""
        with self._tx():
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM requests").fetchone()[0]
            self._db.executemany("INSERT INTO requests VALUES (?, ?, ?)",
                                 [(series, canonical(body), seq + 1 + i) for i, (series, body) in enumerate(requests)])
            first = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM meetings").fetchone()[0]
            self._db.executemany("INSERT INTO meetings (id, series, status, seq) VALUES (?, ?, 'pending', ?)",
                                 [(mid, series, first + 1 + i) for i, (mid, series) in enumerate(occurrences)])

    def decide(self, decision: Decision) -> None:
        status = "scheduled" if decision.scheduled else "failed"
        with self._tx():
            self._db.execute("UPDATE meetings SET status = ?, decision = ?, moving = NULL WHERE id = ?",
                             (status, decision.model_dump_json(), decision.id))

    def move_started(self, meeting_id: str, window: dict[str, str | None]) -> None:
        with self._tx():
            self._db.execute("UPDATE meetings SET moving = ?, move_failure = NULL WHERE id = ?",
                             (canonical(window), meeting_id))

    def move_failed(self, meeting_id: str, reason: str) -> None:
        with self._tx():
            self._db.execute("UPDATE meetings SET moving = NULL, move_failure = ? WHERE id = ?",
                             (reason, meeting_id))

    def cancel(self, meeting_ids: Sequence[str]) -> None:
        with self._tx():
            self._db.executemany("UPDATE meetings SET status = 'cancelled', moving = NULL WHERE id = ?",
                                 [(m,) for m in meeting_ids])

    def meetings(self) -> list[MeetingRow]:
        """Every meeting not archived, in the order requested."""
        return self._rows("WHERE id NOT IN (SELECT id FROM archived) ORDER BY seq", ())

    def archive(self, meeting_ids: Sequence[str]) -> None:
        with self._tx():
            self._db.executemany("INSERT OR IGNORE INTO archived VALUES (?)", [(m,) for m in meeting_ids])

    def archived(self, after: str | None, limit: int) -> list[MeetingRow]:
        """One page of archived meetings, in id order."""
        return self._rows("WHERE id IN (SELECT id FROM archived) AND id > ? ORDER BY id LIMIT ?", (after or "", limit))

    def _rows(self, where: str, args: tuple[Any, ...]) -> list[MeetingRow]:
        rows = self._db.execute(
            f"SELECT id, series, status, decision, moving, move_failure FROM meetings {where}", args).fetchall()
        return [MeetingRow(mid, series, status, Decision.model_validate_json(d) if d else None,
                           json.loads(moving) if moving else None, failure)
                for mid, series, status, d, moving, failure in rows]

    def setting(self, key: str, default: str) -> str:
        """The value stored under `key`, storing `default` the first time: what must stay as it
        was when the service first ran (the slot grid's origin) whatever the scenario says now."""
        with self._tx():
            self._db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (f"setting:{key}", default))
            (value,) = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"setting:{key}",)).fetchone()
        return str(value)

    def close(self) -> None:
        self._db.close()
        self._lock.close()  # the lock goes with it


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (or ROLLBACK on error): each change is whole or absent."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _hold(path: Path) -> IO[str]:
    """An exclusive lock on `path`.lock for as long as the store is open: a second service on
    the same store is refused in one line naming the holder (two would both write, and diverge).
    The operating system drops the lock with the process, so a SIGKILLed service leaves none."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the store's life
    except OSError as exc:
        raise StoreError(f"{path}: cannot lock it ({exc.strerror or exc})") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read(32).strip() or "unknown"
        handle.close()
        raise StoreError(f"{path}: in use by another slotwise serve (pid {holder}); one service per store") from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
