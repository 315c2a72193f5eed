"""One suite for both stores: SQLite (embedded, the default) and PostgreSQL (started here), the
same semantics for every change; and the PostgreSQL store's own: its schema version, its fence."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from loguru import logger

from slotwise.coordinator.lease import Lease
from slotwise.coordinator.pg_store import SCHEMA_VERSION, Deposed, PostgresStore
from slotwise.coordinator.store import SqliteStore, StoreError
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval
from slotwise.testing.postgres import Postgres, postgres

T0 = datetime(2026, 11, 25, 9, tzinfo=UTC)
Open = Callable[..., Any]  # a store at the same place each call, for one test


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    with postgres() as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Open:
    if request.param == "sqlite":
        return lambda scenario=None: SqliteStore(tmp_path / "state.db", scenario)
    dsn = request.getfixturevalue("server").database()
    return lambda scenario=None: PostgresStore(dsn, scenario, None)


def placed(mid: str, hour: int) -> Decision:
    start = T0 + timedelta(hours=hour)
    return Decision.placed(MeetingId(mid), Interval(start, start + timedelta(minutes=30)), (AgentId("ana"),), 2)


def test_every_change_is_kept_across_reopening(opened: Open) -> None:
    store = opened()
    store.add([("a", {"id": "a"}), ("s", {"id": "s", "recurrence": "FREQ=DAILY"})],
              [("a", "a"), ("s@1", "s"), ("s@2", "s")])
    store.decide(placed("a", 1))
    store.decide(placed("s@1", 2))
    store.move_started("a", {"not_before": "x", "not_after": None})
    store.cancel(["s@1"])
    store.close()  # as after a SIGKILL: every call above committed on its own
    again = opened()
    rows = {r.id: r for r in again.meetings()}
    assert [r.id for r in again.meetings()] == ["a", "s@1", "s@2"]
    assert rows["a"].status == "scheduled" and rows["a"].decision == placed("a", 1)
    assert rows["a"].moving == {"not_before": "x", "not_after": None}
    assert rows["s@1"].status == "cancelled" and rows["s@2"].status == "pending"
    assert again.request("s") == {"id": "s", "recurrence": "FREQ=DAILY"} and again.request("nope") is None
    assert [s for s, _ in again.requests()] == ["a", "s"]
    again.move_failed("a", "no slot")
    assert again.meetings()[0].moving is None and again.meetings()[0].move_failure == "no slot"
    again.archive(["s@1", "s@1"])
    assert [r.id for r in again.meetings()] == ["a", "s@2"] and [r.id for r in again.archived(None, 10)] == ["s@1"]
    assert again.setting("grid_origin", "first") == "first" and again.setting("grid_origin", "second") == "first"
    if isinstance(again, SqliteStore):  # a SIGKILL or a power cut loses nothing committed
        assert sqlite3.connect(again.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_one_request_is_stored_whole_or_not_at_all(opened: Open) -> None:
    store = opened()
    store.add([("a", {"id": "a"})], [("a", "a")])
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        store.add([("b", {"id": "b"}), ("a", {"id": "a"})], [("b", "b")])  # a exists: nothing of it kept
    assert [r.id for r in store.meetings()] == ["a"] and store.request("b") is None
    store.close()


def test_a_store_remembers_its_scenario_and_refuses_another(opened: Open) -> None:
    opened("team-a").close()
    opened("team-a").close()
    with pytest.raises(StoreError, match="team-a"):
        opened("team-b")


def test_a_postgres_store_from_a_newer_version_is_refused(server: Postgres) -> None:
    dsn = server.database()
    PostgresStore(dsn, None, None).close()
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("UPDATE slotwise_meta SET value = %s WHERE key = 'schema'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match="newer slotwise"):
        PostgresStore(dsn, None, None)


def test_a_password_in_the_url_is_refused(server: Postgres) -> None:
    with pytest.raises(StoreError, match="does not go in the URL"):
        PostgresStore(server.dsn().replace("slotwise@", "slotwise:secret@"), None, None)


def test_a_deposed_leader_commits_nothing_once_a_successor_leads(server: Postgres) -> None:
    dsn = server.database()
    first = Lease(dsn, None, 0.5, logger)
    assert first.acquire() and first.epoch == 1
    store = PostgresStore(dsn, None, first)
    store.add([("a", {"id": "a"})], [("a", "a")])
    second = Lease(dsn, None, 0.5, logger)
    assert not second.acquire()  # the lease has not ended
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while not second.acquire():
        assert datetime.now(UTC) < deadline, "the lease never ended"
    assert second.epoch == 2 and not first.valid()
    with pytest.raises(Deposed):
        store.decide(placed("a", 1))  # the old leader, woken late: refused
    ours = PostgresStore(dsn, None, second)
    assert ours.meetings()[0].status == "pending"  # nothing of the deposed write
    ours.decide(placed("a", 2))
    assert ours.meetings()[0].decision == placed("a", 2)
    for s in (store, ours):
        s.close()
    for lease in (first, second):
        lease.close()


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ELECTORS = 3
FENCE_LEASE_S = 0.3
OPS = st.lists(st.tuples(st.integers(0, ELECTORS - 1), st.sampled_from(["acquire", "renew", "write", "pause", "kill"])),
               min_size=5, max_size=25)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_fence_under_random_pauses_and_kills(server: Postgres, ops: list[tuple[int, str]]) -> None:
    """Several electors on one store, in any order of takeovers, renewals, writes, pauses past
    the lease and kills: at most one holder writes per epoch, only the newest epoch writes, epochs
    only grow, and a handover always completes."""
    import time as clock

    dsn = server.database()
    PostgresStore(dsn, None, None).add([("m", {"id": "m"})], [("m", "m")])
    electors = [Lease(dsn, None, FENCE_LEASE_S, logger) for _ in range(ELECTORS)]
    stores = [PostgresStore(dsn, None, e) for e in electors]
    epochs: list[int] = []
    writers: dict[int, str] = {}
    try:
        for i, op in ops:
            e, store = electors[i], stores[i]
            if op == "acquire" and e.acquire():
                assert not epochs or e.epoch > epochs[-1]  # epochs only grow
                epochs.append(e.epoch)
            elif op == "renew" and e.epoch:
                e.renew()
            elif op == "write" and e.epoch:
                try:
                    store.decide(placed("m", len(writers) + 1))
                except Deposed:
                    continue
                assert writers.setdefault(e.epoch, e.holder) == e.holder  # one writer per epoch
                assert e.epoch == epochs[-1]  # no write from an epoch a successor replaced
            elif op == "pause":
                clock.sleep(FENCE_LEASE_S * 1.2)  # everyone stalls past the lease
            elif op == "kill":
                store.close()
                e.close()
                electors[i] = Lease(dsn, None, FENCE_LEASE_S, logger)  # a new process in its place
                stores[i] = PostgresStore(dsn, None, electors[i])
        # the handover completes: whoever leads goes away, another takes over within a few leases
        deadline = clock.monotonic() + 10 * FENCE_LEASE_S
        leading = next((j for j, e in enumerate(electors) if epochs and e.epoch == epochs[-1]), 0)
        survivor = electors[(leading + 1) % ELECTORS]  # the leader renews no more: another takes over
        while not survivor.acquire():
            assert clock.monotonic() < deadline, "no handover"
            clock.sleep(FENCE_LEASE_S / 5)
        assert not epochs or survivor.epoch > epochs[-1]
        stores[electors.index(survivor)].decide(placed("m", 99))
    finally:
        for s in stores:
            s.close()
        for e in electors:
            e.close()
