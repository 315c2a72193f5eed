"""Two `serve` processes on one PostgreSQL store (started here): one leads, one stands by. A
leader SIGKILLed in the middle of a stream of adds from several clients is replaced within its
lease, with every acknowledged add kept, nothing decided twice and every agent back; a leader
paused past its lease (SIGSTOP) writes and announces nothing when it wakes, and stands by."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from slotwise.client import Client
from slotwise.participant.launch import participant_command
from slotwise.shared.errors import AdminError
from slotwise.shared.scenario import load_scenario
from slotwise.testing.postgres import Postgres, postgres
from tests.integration.conftest import SLOTWISE, Children, until

PEOPLE = ("ana", "bo", "cy", "di")
LEASE_S = 2.0


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    with postgres() as running:
        yield running


class Pair:
    """Instances `a` and `b` of one service, their agents connected to both."""

    def __init__(self, children: Children, server: Postgres) -> None:
        from tests.integration.test_serve import scenario_file

        self.children, self.work = children, children.workdir
        self.scenario = scenario_file(self.work, hours=24 * 5)
        self.dsn = server.database()
        self.procs: dict[str, Any] = {}
        self.starts = 0

    def agents_at(self, name: str) -> str:
        return f"ipc://{self.work}/ag-{name}"

    def admin_at(self, name: str) -> str:
        return f"ipc://{self.work}/adm-{name}"

    def start(self, name: str) -> None:
        self.starts += 1
        self.procs[name] = self.children.start(
            [*SLOTWISE, "serve", str(self.scenario), "--bind", self.agents_at(name), "--admin", self.admin_at(name),
             "--store", self.dsn, "--lease", str(LEASE_S)], f"serve-{name}-{self.starts}")

    def agents(self) -> None:
        for who in PEOPLE:
            argv = participant_command(self.agents_at("a"), who, scenario=self.scenario, coordinator_timeout_s=0,
                                       extra=["--connect", self.agents_at("b")])
            self.children.start(argv, f"agent-{who}")

    def client(self, timeout: float = 30.0) -> Client:
        return Client([self.admin_at("a"), self.admin_at("b")], timeout=timeout)

    def status(self) -> dict[str, Any]:
        with self.client(timeout=5) as c:
            result: dict[str, Any] = c.status()
            return result


def _leads(pair: Pair, epoch: int) -> bool:
    try:
        status = pair.status()
    except AdminError:
        return False
    return status.get("role") == "leader" and status.get("epoch") == epoch


def _led_by_a(children: Children, server: Postgres) -> Pair:
    """`a` leading, `b` standing by, every agent connected."""
    pair = Pair(children, server)
    pair.start("a")
    until(lambda: _leads(pair, 1), "a leads")
    pair.start("b")
    pair.agents()
    until(lambda: len(pair.status()["participants"]["connected"]) == len(PEOPLE), "the agents joined")
    until(lambda: sorted(i["role"] for i in pair.status()["instances"]) == ["leader", "standby"], "b stands by")
    return pair


def test_a_standby_takes_over_from_a_killed_leader_and_nothing_acknowledged_is_lost(
        children: Children, server: Postgres) -> None:
    from tests.integration.test_serve import check_schedule, meeting

    pair = _led_by_a(children, server)

    acked: dict[str, dict[str, Any]] = {}
    killed = threading.Event()
    errors: list[BaseException] = []

    def adds(client_no: int) -> None:
        try:
            with pair.client(timeout=20) as c:
                for k in range(12):
                    mid = f"c{client_no}-{k}"
                    people = [PEOPLE[(client_no + k) % 4], PEOPLE[(client_no + k + 1) % 4]]
                    for _ in range(10):  # an add not acknowledged is sent again: the same request is one meeting
                        try:
                            [entry] = c.add([meeting(mid, *people, minutes=60)], wait=20)
                            acked[mid] = entry
                            break
                        except AdminError:
                            continue
                    if len(acked) >= 8:
                        killed.wait(30)  # the second half goes to the new leader
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=adds, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    until(lambda: len(acked) >= 8, "adds acknowledged by a")
    os.kill(pair.procs["a"].pid, signal.SIGKILL)
    pair.procs["a"].wait(timeout=10)
    killed_at = time.monotonic()
    killed.set()
    until(lambda: _leads(pair, 2), "b leads", within=30)
    took = time.monotonic() - killed_at
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    assert len(acked) == 36, sorted(acked)
    assert took < 3 * LEASE_S + 10, f"took {took:.1f}s"
    with pair.client() as c:
        until(lambda: len(c.status()["participants"]["connected"]) == len(PEOPLE), "every agent rejoined b")
        entries = c.list()
    listed = {e["id"]: e for e in entries}
    assert set(acked) <= set(listed)  # every acknowledged add is there
    for mid, entry in acked.items():
        if entry["status"] == "scheduled":  # decided once: what was acknowledged stands
            assert (listed[mid]["start"], listed[mid]["participants"]) == (entry["start"], entry["participants"])
    check_schedule(load_scenario(pair.scenario), entries)  # nobody double-booked


def test_a_leader_paused_past_its_lease_writes_nothing_when_it_wakes_and_stands_by(
        children: Children, server: Postgres) -> None:
    from tests.integration.test_serve import meeting

    pair = _led_by_a(children, server)
    with pair.client() as c:
        [first] = c.add([meeting("first", "ana", "bo")], wait=20)
    os.kill(pair.procs["a"].pid, signal.SIGSTOP)
    try:
        until(lambda: _leads(pair, 2), "b leads while a is paused", within=30)
        with Client(pair.admin_at("b"), timeout=20) as c:
            [second] = c.add([meeting("second", "ana", "bo")], wait=20)
    finally:
        paused_log = len(children.log("serve-a-1"))
        os.kill(pair.procs["a"].pid, signal.SIGCONT)
    def stood_by() -> bool:
        before, _, after = children.log("serve-a-1").partition("stopped serving")
        return bool(after) and "standing by" in after

    until(stood_by, "a notices and stands by")
    assert pair.procs["a"].poll() is None  # alive, standing by
    woken = children.log("serve-a-1")[paused_log:]
    assert "scheduled" not in woken and "cancelled" not in woken, woken  # it decided and announced nothing
    with Client(pair.admin_at("b"), timeout=20) as c:
        listed = {e["id"]: e for e in c.list()}
        assert c.status()["epoch"] == 2
    assert set(listed) == {"first", "second"}
    assert (listed["first"]["start"], listed["second"]["start"]) == (first["start"], second["start"])
    assert first["start"] != second["start"]  # ana and bo are not double-booked across the handover
