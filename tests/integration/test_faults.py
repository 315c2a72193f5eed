"""Agents that go quiet, die, or never come; peers that send garbage. Real processes, real sockets.

The coordinator runs in the test's event loop (so the test can act at exact protocol moments);
every participant is a separate OS process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import msgpack
import pytest
import zmq
import zmq.asyncio

from slotwise.coordinator.negotiation import Action, Decided, Started
from slotwise.coordinator.outcome import RunResult
from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.service import CoordinatorService
from slotwise.report.audit import audit
from slotwise.shared.endpoints import parse_endpoints
from slotwise.shared.ids import AgentId
from slotwise.shared.scenario import Scenario, dump_availability, load_scenario
from slotwise.shared.wire.codec import Encoder
from slotwise.shared.wire.messages import PROTOCOL_VERSION, Heartbeat, MeetingScheduled
from tests.helpers import REPO, make_scenario
from tests.integration.conftest import Children

pytestmark = pytest.mark.integration


async def negotiate(scenario: Scenario, address: str, on_action: Callable[[CoordinatorService, Action], None]
                    = lambda s, a: None, before: Callable[[str], None] = lambda e: None,
                    timeout_s: float = 60) -> tuple[RunResult, CoordinatorService]:
    service = CoordinatorService(compile_plan(scenario), parse_endpoints(address))
    service.on_action = lambda action: on_action(service, action)
    try:
        endpoints = service.bind()
        before(str(endpoints))
        result = await asyncio.wait_for(service.run(), timeout_s)
    finally:
        service.close()
    return result, service


def start_agents(children: Children, scenario: Scenario, endpoints: str,
                 skip: frozenset[str] = frozenset()) -> dict[str, subprocess.Popen[str]]:
    procs = {}
    for name in scenario.participants:
        if name in skip:
            continue
        path = children.workdir / f"{name}.avail.json"
        path.write_text(dump_availability(scenario.availability(name)))
        procs[name] = children.participant(endpoints, name, availability=path)
    return procs


def outcomes(result: RunResult) -> dict[str, object]:
    return {o.id: o for o in result.decisions}


async def test_participant_that_never_answers(children: Children) -> None:
    s = make_scenario({"a": {}, "b": {}, "mute": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "mute"], "min_participants": 2},
                       {"id": "n", "duration_minutes": 60, "invitees": ["a", "mute"], "min_participants": 2}],
                      response_timeout_s=0.5, retries=1)

    def before(endpoints: str) -> None:
        start_agents(children, s, endpoints, skip=frozenset({"mute"}))
        children.mute(endpoints, "mute")

    result, _ = await negotiate(s, "tcp://127.0.0.1:*", before=before)
    got = outcomes(result)
    assert got["m"].scheduled and got["m"].attendees == ("a", "b")
    assert not got["n"].scheduled and "mute did not answer" in got["n"].reason
    assert result.missing == ()  # it joined; it just never answered
    assert audit(s, compile_plan(s), result.decisions) == []


async def test_participant_that_never_joins(children: Children) -> None:
    s = make_scenario({"a": {}, "b": {}, "ghost": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "ghost"]}],
                      join_timeout_s=1.5)
    result, _ = await negotiate(s, "tcp://127.0.0.1:*",
                                before=lambda e: start_agents(children, s, e, skip=frozenset({"ghost"})))
    assert result.missing == ("ghost",)
    (o,) = result.decisions
    assert not o.scheduled and "ghost never joined" in o.reason
    assert result.stats.startup_s >= 1.4


async def test_participant_killed_mid_negotiation(children: Children) -> None:
    # m1 and m2 share b, so m2 is placed after m1; b is SIGKILLed the moment m1 is decided.
    s = make_scenario({n: {} for n in "abcd"}, [
        {"id": "m1", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 2},
        {"id": "m2", "duration_minutes": 60, "invitees": ["b", "c", "d"], "min_participants": 2, "priority": 1},
        {"id": "m3", "duration_minutes": 60, "invitees": ["b", "c"], "min_participants": 2, "priority": 0},
    ], hold_timeout_s=0.5, heartbeat_s=0.2)
    procs: dict = {}
    killed: list[str] = []

    def on_action(service: CoordinatorService, action: Action) -> None:
        if isinstance(action, Decided) and not killed:
            os.kill(procs["b"].pid, signal.SIGKILL)
            killed.append(action.decision.meeting_id)

    result, _ = await negotiate(s, "tcp://127.0.0.1:*", on_action,
                                before=lambda e: procs.update(start_agents(children, s, e)))
    got = outcomes(result)
    assert killed == ["m1"] and got["m1"].scheduled and "b" in got["m1"].attendees
    assert got["m2"].scheduled and got["m2"].attendees == ("c", "d")
    assert not got["m3"].scheduled and "b " in got["m3"].reason  # says what happened to b
    assert procs["b"].wait(timeout=5) == -signal.SIGKILL
    assert audit(s, compile_plan(s), result.decisions) == []


async def test_garbage_to_every_socket_changes_nothing(children: Children, workdir: Path) -> None:
    s = load_scenario(REPO / "scenarios" / "tutorial.yaml")
    ctx = zmq.asyncio.Context.instance()
    rogue = ctx.socket(zmq.DEALER)
    rogue.setsockopt(zmq.LINGER, 0)
    evil = Encoder(AgentId("mallory"))
    garbage: list[list[bytes]] = [
        [b""], [b"\xc1\xc1"], [os.urandom(64)], [b"a", b"b", b"c"],
        [msgpack.packb({"v": 99, "type": "hello"})], [msgpack.packb({"v": PROTOCOL_VERSION, "type": "nuke"})],
        [msgpack.packb([1, 2, 3])], [evil.encode(Heartbeat())],
        [b"x" * (2 << 20)],  # over MAXMSGSIZE: ZeroMQ cuts this peer off (last on purpose)
    ]
    sent_to_coordinator = 0
    agents: dict = {}

    def before(endpoints: str) -> None:
        nonlocal sent_to_coordinator
        agents.update(start_agents(children, s, endpoints))
        rogue.connect(parse_endpoints(endpoints).reply)
        for frames in garbage:
            rogue.send_multipart(frames)
            sent_to_coordinator += 1

    def on_action(service: CoordinatorService, action: Action) -> None:
        if isinstance(action, Started):  # every agent is listening now: feed them garbage too
            fake = evil.encode(MeetingScheduled(meeting_id="team-sync", name="x", start=s.horizon.start,
                                                end=s.horizon.end, attendees=tuple(s.participants)))
            for frames in garbage[:-1] + [[fake]]:
                for name in s.participants:  # straight down each agent's connection, routed to it
                    connection = bytes.fromhex(service.gate.connection_of(AgentId(name)) or "")
                    service.transport.router.send_multipart([connection, name.encode(), *frames])

    try:
        result, service = await negotiate(s, "tcp://127.0.0.1:*", on_action, before)
    finally:
        rogue.close()
    got = outcomes(result)
    assert got["team-sync"].attendees == ("alice", "bob", "charlie")
    assert got["project-review"].attendees == ("alice", "charlie")
    assert result.stats.dropped >= sent_to_coordinator - 1  # the oversized frame never arrives
    for name, proc in agents.items():
        assert proc.wait(timeout=15) == 0, children.log(name)
        log = children.log(name)
        assert "dropped message" in log and "not a peer" in log
        record = children.record(name)
        accepted = {a["id"] for a in record["accepted"]}
        assert accepted == {m for m, o in got.items() if name in o.attendees}
