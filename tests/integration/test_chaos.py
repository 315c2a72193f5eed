"""Seeded fault mixes against a whole deployment: the coordinator SIGKILLed and resumed twice,
an agent stalled past its liveness timeout, and an allow-listed stranger flooding the coordinator
with mutated frames, in an order and at moments the seed picks. Afterwards the schedule must be
valid, every decision made before each kill must stand, and every agent's own record must agree
with the final schedule."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import zmq
import zmq.auth

from slotwise.shared.decision import Decision
from slotwise.shared.keys import generate
from slotwise.shared.scenario import load_scenario
from slotwise.testing.harness import Cluster
from tests.helpers import random_scenario, write_scenario
from tests.integration.conftest import check_results
from tests.mutations import agent_bodies, agent_encoder, mutated, real_frames

pytestmark = pytest.mark.integration


def _flood(cluster: Cluster, seed: int, count: int) -> None:
    """An allow-listed key that is nobody's participant sends mutated frames as fast as it can."""
    assert cluster.keys is not None
    public, secret = zmq.auth.load_certificate(str(cluster.keys / "mallory.key_secret"))
    server, _ = zmq.auth.load_certificate(str(cluster.keys / "coordinator.key"))
    ctx = zmq.Context()
    try:
        sock = ctx.socket(zmq.DEALER)
        sock.curve_secretkey, sock.curve_publickey, sock.curve_serverkey = secret, public, server
        sock.setsockopt(zmq.SNDHWM, count + 10)
        sock.setsockopt(zmq.LINGER, 2000)
        sock.connect(cluster.address)
        names = list(cluster.scenario.participants)
        frames = [f for n in names for f in real_frames(agent_encoder(n), agent_bodies(n, "m000"))]
        for frame in mutated(seed, frames, count):
            try:
                sock.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                break
        sock.close()
    finally:
        ctx.term()


def _stall(cluster: Cluster, who: str, seconds: float) -> None:
    cluster.cut(who)  # loopback: SIGSTOP, so it stops answering and heartbeating
    try:
        time.sleep(seconds)  # ok-sleep: the fault itself is a stall of this length
    finally:
        cluster.restore(who)


def _stand(doc: dict[str, object], before: list[Decision]) -> None:
    by_id = {m["id"]: m for m in doc["meetings"]}  # type: ignore[attr-defined]
    for d in before:
        m = by_id[d.id]
        assert (m["scheduled"], m["start"], m["participants"]) == (
            d.scheduled, d.start.isoformat() if d.start else None, list(d.participants)), d.id


@pytest.mark.parametrize("seed", [1, 2])
def test_seeded_fault_mix(seed: int, tmp_path: Path, slotwise_cluster: Callable[..., Cluster]) -> None:
    rng = random.Random(seed)
    data = random_scenario(100 + seed, 6, 24, days=2, slot=30, join_timeout_s=20, response_timeout_s=0.6,
                           hold_timeout_s=0.6, heartbeat_s=0.2)
    path = write_scenario(tmp_path / "chaos.yaml", data)
    scenario = load_scenario(path)
    busiest = sorted(scenario.participants, key=lambda p: -sum(p in m.invitees for m in scenario.meetings))
    slow = busiest[0]  # paces the negotiation, so there is a middle to act in
    cluster = slotwise_cluster(path, participant_args={slow: ["--reply-delay", "0.25"]})
    assert cluster.keys is not None
    generate(cluster.keys, "mallory")  # allow-listed, but nobody's participant
    cluster.start()
    total = len(cluster.plan.meetings)
    faults = ["stall", "flood"]
    rng.shuffle(faults)
    stood: list[list[Decision]] = []
    for kill in range(2):
        for fault in faults[kill:kill + 1]:
            if fault == "stall":
                _stall(cluster, rng.choice(busiest[1:4]), rng.uniform(0.5, 1.5))
            else:
                _flood(cluster, seed * 10 + kill, rng.randint(2_000, 8_000))
        target = len(cluster.decisions()) + rng.randint(1, 3)
        cluster.wait_for(lambda t=target: len(cluster.decisions()) >= t, 90, f"{target} decisions")
        cluster.kill_coordinator()
        before = cluster.decisions()
        assert len(before) < total, f"every meeting was decided before kill {kill + 1}"
        stood.append(before)
        cluster.start_coordinator(resume=True)
    doc = cluster.wait(timeout_s=120)
    check_results(scenario, doc)  # valid: free, invited, rules met, nobody double-booked
    for before in stood:
        _stand(doc, before)  # no decision lost across either kill
    assert set(cluster.wait_participants(60).values()) == {0}
    for name in scenario.participants:  # every agent agrees with the final schedule
        accepted = {a["id"]: a["start"] for a in cluster.record(name)["accepted"]}
        assert accepted == {m["id"]: m["start"] for m in doc["meetings"] if name in m["participants"]}, name
    log = "".join(cluster.log(f"coordinator-{run}") for run in (1, 2, 3))
    assert "Traceback" not in log
