"""A flood from one peer while honest agents negotiate.

(A coordinator killed and resumed from its journal is in test_hosts.py, on both networks.)
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import zmq
import zmq.asyncio

from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.service import CoordinatorService
from slotwise.shared.endpoints import parse_endpoints
from slotwise.shared.scenario import dump_availability, load_scenario
from tests.helpers import REPO
from tests.integration.conftest import Children

pytestmark = pytest.mark.integration


async def test_a_flooding_peer_does_not_stop_honest_ones(workdir: Path, children: Children) -> None:
    s = load_scenario(REPO / "scenarios" / "tutorial.yaml")
    service = CoordinatorService(compile_plan(s), parse_endpoints("tcp://127.0.0.1:*"))
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
    outcomes = {o.id: o for o in result.decisions}
    assert outcomes["team-sync"].attendees == ("alice", "bob", "charlie")
    assert outcomes["project-review"].attendees == ("alice", "charlie")
    assert sent > 10_000 and result.stats.dropped > 5_000
    for name, proc in agents.items():
        assert proc.wait(timeout=15) == 0, children.log(name)
