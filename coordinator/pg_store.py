"""The live service's state on PostgreSQL (`--store postgresql://…`), fenced by a lease.

The same semantics as the SQLite store (coordinator/store.py): every request, decision,
cancellation and move is committed before it is acknowledged or announced. What PostgreSQL adds
is a server several `serve` processes share, one leading and the others standing by
(coordinator/lease.py). Every state-changing transaction here first checks, inside itself, that
this instance still holds the lease at its epoch (`SELECT … FOR SHARE` on the lease row, so a
successor's takeover waits for the transaction, and the transaction after it fails): a deposed
leader — paused, partitioned, slow — cannot commit anything once a successor exists, and what it
does not commit it never announces. It learns so as `Deposed`.

The schema has a version and migrations, applied under a transaction-scoped advisory lock so two
instances starting together do not both apply them. The password comes from a file or the
environment (`SLOTWISE_PG_PASSWORD`), never from the URL or a log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from slotwise.coordinator.store import MeetingRow, StoreError, canonical
from slotwise.shared.decision import Decision

if TYPE_CHECKING:
    import psycopg

MIGRATION_LOCK = 0x736C7477  # pg_advisory_xact_lock key while migrating ("sltw")
# Each migration takes the schema from its index to the next version; never edit one, add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    ("""CREATE TABLE slotwise_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
     """CREATE TABLE slotwise_lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL,
        epoch BIGINT NOT NULL, expires_at TIMESTAMPTZ NOT NULL, address TEXT NOT NULL DEFAULT '')""",
     """CREATE TABLE slotwise_requests (series TEXT PRIMARY KEY, body TEXT NOT NULL, seq BIGINT NOT NULL)""",
     """CREATE TABLE slotwise_meetings (id TEXT PRIMARY KEY, series TEXT NOT NULL REFERENCES slotwise_requests(series),
        status TEXT NOT NULL, decision TEXT, moving TEXT, move_failure TEXT, seq BIGINT NOT NULL)""",
     """CREATE TABLE slotwise_archived (id TEXT PRIMARY KEY REFERENCES slotwise_meetings(id))""",
     """CREATE TABLE slotwise_instances (holder TEXT PRIMARY KEY, role TEXT NOT NULL, address TEXT NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL)"""),
)
SCHEMA_VERSION = len(MIGRATIONS)
PASSWORD_ENV = "SLOTWISE_PG_PASSWORD"


class Fence(Protocol):
    """Who leads and at which epoch (coordinator/lease.py's Lease)."""

    holder: str
    epoch: int


class Deposed(Exception):
    """This instance no longer holds the lease: a successor leads. Nothing was committed."""


def is_postgres(store: str) -> bool:
    return store.startswith(("postgresql://", "postgres://"))


def shown(dsn: str) -> str:
    """The address without anything secret, for logs and errors."""
    parts = urlsplit(dsn)
    host = parts.hostname or ""
    return f"{parts.scheme}://{parts.username + '@' if parts.username else ''}{host}" \
           f"{':' + str(parts.port) if parts.port else ''}{parts.path}"


def connect(dsn: str, password: str | None) -> psycopg.Connection[Any]:
    try:
        import psycopg
    except ImportError:
        raise StoreError(f"{shown(dsn)}: a PostgreSQL store needs psycopg: pip install 'slotwise[postgresql]'") from None

    if urlsplit(dsn).password is not None:
        raise StoreError("--store: a password does not go in the URL (it would show in `ps` and in logs); "
                         f"use --store-password-file or ${PASSWORD_ENV}")
    try:
        return psycopg.connect(dsn, password=password, autocommit=True, connect_timeout=10,
                               application_name="slotwise")
    except psycopg.Error as exc:
        raise StoreError(f"{shown(dsn)}: cannot connect: {str(exc).strip().splitlines()[0][:200]}") from None


def migrate(db: psycopg.Connection[Any], where: str) -> None:
    """Bring the schema to SCHEMA_VERSION; refuse one written by a newer slotwise."""
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        exists = db.execute("SELECT to_regclass('slotwise_meta') IS NOT NULL").fetchone()
        version = 0
        if exists and exists[0]:
            row = db.execute("SELECT value FROM slotwise_meta WHERE key = 'schema'").fetchone()
            version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(f"{where}: written by a newer slotwise (store schema {version}; "
                             f"this version reads {SCHEMA_VERSION})")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        db.execute("INSERT INTO slotwise_meta VALUES ('schema', %s) ON CONFLICT (key) DO UPDATE SET value = "
                   "EXCLUDED.value", (str(SCHEMA_VERSION),))


class PostgresStore:
    def __init__(self, dsn: str, scenario: str | None, lease: Fence | None, password: str | None = None) -> None:
        """`lease`: the lease this instance leads by; every change is fenced by it (None: no
        fence, for tools that read, and for tests of the store alone)."""
        self.dsn, self.scenario, self.lease = dsn, scenario, lease
        self._db = connect(dsn, password)
        try:
            migrate(self._db, shown(dsn))
            if scenario is not None:
                with self._tx():
                    self._db.execute("INSERT INTO slotwise_meta VALUES ('scenario', %s) ON CONFLICT DO NOTHING",
                                     (scenario,))
                    owner = self._one("SELECT value FROM slotwise_meta WHERE key = 'scenario'")
                if owner != scenario:
                    raise StoreError(f"{shown(dsn)}: holds the meetings of scenario {owner!r}, not {scenario!r}; "
                                     "give this scenario a database of its own")
        except BaseException:
            self._db.close()
            raise

    def __str__(self) -> str:
        return shown(self.dsn)

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """A transaction that commits only while this instance leads at its epoch."""
        with self._db.transaction():
            if self.lease is not None:
                held = self._db.execute(
                    "SELECT 1 FROM slotwise_lease WHERE id = 1 AND holder = %s AND epoch = %s AND expires_at > now() "
                    "FOR SHARE", (self.lease.holder, self.lease.epoch)).fetchone()
                if held is None:
                    raise Deposed(f"{self}: the lease of epoch {self.lease.epoch} is no longer ours")
            yield

    def _one(self, query: str, args: tuple[Any, ...] = ()) -> Any:
        row = self._db.execute(query, args).fetchone()
        assert row is not None, query
        return row[0]

    def requests(self) -> list[tuple[str, Any]]:
        rows = self._db.execute(
            "SELECT series, body FROM slotwise_requests r WHERE EXISTS (SELECT 1 FROM slotwise_meetings m "
            "WHERE m.series = r.series AND m.id NOT IN (SELECT id FROM slotwise_archived)) ORDER BY seq").fetchall()
        return [(series, json.loads(body)) for series, body in rows]

    def request(self, series: str) -> Any | None:
        row = self._db.execute("SELECT body FROM slotwise_requests WHERE series = %s", (series,)).fetchone()
        return None if row is None else json.loads(row[0])

    def add(self, requests: Sequence[tuple[str, Any]], occurrences: Sequence[tuple[str, str]]) -> None:
        with self._tx():
            seq = self._one("SELECT COALESCE(MAX(seq), 0) FROM slotwise_requests")
            with self._db.cursor() as cur:
                cur.executemany("INSERT INTO slotwise_requests VALUES (%s, %s, %s)",
                                [(s, canonical(b), seq + 1 + i) for i, (s, b) in enumerate(requests)])
                first = self._one("SELECT COALESCE(MAX(seq), 0) FROM slotwise_meetings")
                cur.executemany("INSERT INTO slotwise_meetings (id, series, status, seq) VALUES (%s, %s, 'pending', %s)",
                                [(m, s, first + 1 + i) for i, (m, s) in enumerate(occurrences)])

    def decide(self, decision: Decision) -> None:
        status = "scheduled" if decision.scheduled else "failed"
        with self._tx():
            self._db.execute("UPDATE slotwise_meetings SET status = %s, decision = %s, moving = NULL WHERE id = %s",
                             (status, decision.model_dump_json(), decision.id))

    def move_started(self, meeting_id: str, window: dict[str, str | None]) -> None:
        with self._tx():
            self._db.execute("UPDATE slotwise_meetings SET moving = %s, move_failure = NULL WHERE id = %s",
                             (canonical(window), meeting_id))

    def move_failed(self, meeting_id: str, reason: str) -> None:
        with self._tx():
            self._db.execute("UPDATE slotwise_meetings SET moving = NULL, move_failure = %s WHERE id = %s",
                             (reason, meeting_id))

    def cancel(self, meeting_ids: Sequence[str]) -> None:
        with self._tx(), self._db.cursor() as cur:
            cur.executemany("UPDATE slotwise_meetings SET status = 'cancelled', moving = NULL WHERE id = %s",
                            [(m,) for m in meeting_ids])

    def meetings(self) -> list[MeetingRow]:
        return self._rows("WHERE id NOT IN (SELECT id FROM slotwise_archived) ORDER BY seq", ())

    def archive(self, meeting_ids: Sequence[str]) -> None:
        with self._tx(), self._db.cursor() as cur:
            cur.executemany("INSERT INTO slotwise_archived VALUES (%s) ON CONFLICT DO NOTHING", [(m,) for m in meeting_ids])

    def archived(self, after: str | None, limit: int) -> list[MeetingRow]:
        return self._rows("WHERE id IN (SELECT id FROM slotwise_archived) AND id > %s ORDER BY id LIMIT %s",
                          (after or "", limit))

    def _rows(self, where: str, args: tuple[Any, ...]) -> list[MeetingRow]:
        rows = self._db.execute(
            f"SELECT id, series, status, decision, moving, move_failure FROM slotwise_meetings {where}",
            args).fetchall()
        return [MeetingRow(mid, series, status, Decision.model_validate_json(d) if d else None,
                           json.loads(moving) if moving else None, failure)
                for mid, series, status, d, moving, failure in rows]

    def setting(self, key: str, default: str) -> str:
        with self._tx():
            self._db.execute("INSERT INTO slotwise_meta VALUES (%s, %s) ON CONFLICT DO NOTHING", (f"setting:{key}", default))
            value = self._one("SELECT value FROM slotwise_meta WHERE key = %s", (f"setting:{key}",))
        return str(value)

    def close(self) -> None:
        self._db.close()
