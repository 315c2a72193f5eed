"""A coordinator killed mid-negotiation and resumed from its journal; a flood from one peer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import zmq
import zmq.asyncio

from coordinator.journal import read_journal
from coordinator.negotiation import Action, Started
from coordinator.service import CoordinatorService
from shared.endpoints import parse_endpoints
from shared.scenario import dump_availability, load_scenario
from tests.helpers import REPO, random_scenario, write_scenario
from tests.integration.conftest import SLOTWISE, Children, check_results

pytestmark = pytest.mark.integration


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _wait_for(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)  # ok-sleep: polling a file under a deadline
    raise AssertionError(f"timed out waiting for {what}")


def test_coordinator_sigkilled_and_resumed_loses_nothing(workdir: Path, children: Children) -> None:
    # Slow answers from one agent keep the negotiation going long enough to kill it midway.
    data = random_scenario(5, 8, 24, days=2, slot=30, join_timeout_s=10, response_timeout_s=2,
                           hold_timeout_s=2, heartbeat_s=0.25)
    path = write_scenario(workdir / "s.yaml", data)
    scenario = load_scenario(path)
    pub, reply = _free_ports(2)
    address = f"tcp://127.0.0.1:{pub},tcp://127.0.0.1:{reply}"
    journal = workdir / "decisions.jsonl"
    agents = {n: children.participant(address, n, scenario=path, timeout_s=60) for n in scenario.participants}
    first = children.start([*SLOTWISE, "coordinator", str(path), "--bind", address, "--journal", str(journal),
                            "-q", "--out", str(workdir / "never.json")], "coordinator-1")
    _wait_for(lambda: journal.exists() and len(journal.read_text().splitlines()) >= 4, 60,
              "three decisions in the journal")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    before = read_journal(journal, scenario.name)
    assert 3 <= len(before) < len(scenario.meetings), "killed too late to test resuming"
    out = workdir / "results.json"
    second = children.start([*SLOTWISE, "coordinator", str(path), "--bind", address, "--resume", str(journal),
                             "-q", "--out", str(out)], "coordinator-2")
    assert second.wait(timeout=90) == 0, children.log("coordinator-2")
    doc = json.loads(out.read_text())
    check_results(scenario, doc)
    by_id = {m["id"]: m for m in doc["meetings"]}
    for o in before:  # nothing decided was lost or moved
        m = by_id[o.meeting_id]
        assert m["scheduled"] == o.scheduled
        if o.when is not None:
            assert (m["start"], m["participants"]) == (o.when.start.isoformat(), list(o.attendees))
    after = read_journal(journal, scenario.name)
    assert len(after) == len(scenario.meetings)  # the journal now holds every decision once
    assert len({o.meeting_id for o in after}) == len(after)
    for name, proc in agents.items():
        assert proc.wait(timeout=30) == 0, children.log(name)
        accepted = {a["id"]: a["start"] for a in children.record(name)["accepted"]}
        mine = {m["id"]: m["start"] for m in doc["meetings"] if name in m["participants"]}
        assert accepted == mine, name


async def test_a_flooding_peer_does_not_stop_honest_ones(workdir: Path, children: Children) -> None:
    s = load_scenario(REPO / "scenarios" / "tutorial.yaml")
    service = CoordinatorService(s, parse_endpoints("tcp://127.0.0.1:*"))
    ctx = zmq.asyncio.Context.instance()
    flood = ctx.socket(zmq.DEALER)
    flood.linger = 0
    flood.sndhwm = 0
    sent = 0
    stop = asyncio.Event()

    async def flooding() -> None:
        nonlocal sent
        junk = b"\\x93" + os.urandom(200)
        while not stop.is_set() and sent < 200_000:
            for _ in range(500):
                flood.send(junk, zmq.NOBLOCK)
                sent += 1
            await asyncio.sleep(0)

    def on_action(action: Action) -> None:
        pass

    service.on_action = on_action
    try:
        endpoints = service.bind()
        flood.connect(endpoints.reply)
        agents = {}
        for name in s.participants:
            p = workdir / f"{name}.json"
            p.write_text(dump_availability(s.availability(name)))
            agents[name] = children.participant(str(endpoints), name, availability=p)
        task = asyncio.ensure_future(flooding())
        result = await asyncio.wait_for(service.run(), 60)
        stop.set()
        await task
    finally:
        flood.close()
        service.close()
    outcomes = {o.meeting_id: o for o in result.outcomes}
    assert outcomes["team-sync"].attendees == ("alice", "bob", "charlie")
    assert outcomes["project-review"].attendees == ("alice", "charlie")
    assert sent > 10_000 and result.stats.dropped > 5_000
    for name, proc in agents.items():
        assert proc.wait(timeout=15) == 0, children.log(name)
