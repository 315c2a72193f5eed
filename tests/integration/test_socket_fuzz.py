"""100,000 mutated real frames into the sockets of a running coordinator and a running agent.

The coordinator (a real `slotwise coordinator` process) takes them on its socket from 25
connections (each within its rate limit, so every frame is decoded), and garbage subscriptions
from a subscriber it has no socket for; then the honest agents join and the negotiation must
come out exactly right. The agent (a real `slotwise participant` process) takes them from a
stand-in coordinator, then must still answer a real request correctly. Neither process may log a
traceback, and neither may grow past a memory bound."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import zmq

from slotwise.shared.errors import DecodeError
from slotwise.shared.ids import COORDINATOR
from slotwise.shared.scenario import load_scenario
from slotwise.shared.wire.codec import Encoder, decode
from slotwise.shared.wire.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Hello,
    Ready,
    Shutdown,
    Welcome,
)
from tests.helpers import REPO
from tests.integration.conftest import SLOTWISE, Children, check_results
from tests.mutations import T0, agent_bodies, agent_encoder, coordinator_bodies, mutated, real_frames

pytestmark = pytest.mark.integration
TUTORIAL = REPO / "scenarios" / "tutorial.yaml"
CONNECTIONS, PER_CONNECTION = 25, 4_000  # 100,000 frames, each connection within its burst
MEMORY_BOUND_KB = 400_000


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _wait_for_path(path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)  # ok-sleep: waiting for another process to bind a socket file, under a deadline


def _coordinator(workdir: Path, children: Children) -> tuple[subprocess.Popen[str], str, Path]:
    """A real coordinator for the tutorial, joining for up to a minute, its socket bound."""
    address, out = f"ipc://{workdir}/sw", workdir / "r.json"
    proc = children.start([*SLOTWISE, "coordinator", str(TUTORIAL), "--bind", address,
                           "--join-timeout", "60", "--out", str(out), "-q"], "coordinator")
    _wait_for_path(workdir / "sw", 30)
    return proc, address, out


def test_a_running_coordinator_survives_100k_mutated_frames(workdir: Path, children: Children) -> None:
    coordinator, address, out = _coordinator(workdir, children)
    frames = [f for name in ("alice", "bob", "charlie", "diana")
              for f in real_frames(agent_encoder(name), agent_bodies(name))]
    ctx = zmq.Context()
    try:
        socks = []
        stream = mutated(11, frames, CONNECTIONS * PER_CONNECTION)
        for _ in range(CONNECTIONS):
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.SNDHWM, PER_CONNECTION + 10)
            sock.setsockopt(zmq.LINGER, 20_000)
            sock.connect(address)
            socks.append(sock)
            for _ in range(PER_CONNECTION):
                sock.send(next(stream))
        xsub = ctx.socket(zmq.XSUB)
        xsub.setsockopt(zmq.LINGER, 5_000)
        xsub.connect(address)  # a ROUTER refuses a subscriber at the handshake
        for frame in mutated(12, frames, 2_000):
            xsub.send(bytes([len(frame) % 2]) + frame)  # (un)subscribe to garbage topics, some huge
        for sock in [*socks, xsub]:
            sock.close()  # linger: every frame is handed to the coordinator first
    finally:
        ctx.term()  # returns once every frame has been handed over
    peak = _peak_rss_kb(coordinator.pid)
    for name in ("alice", "bob", "charlie", "diana"):
        children.participant(address, name, scenario=TUTORIAL)
    assert coordinator.wait(timeout=90) == 0, children.log("coordinator")
    log = children.log("coordinator")
    assert "Traceback" not in log and "internal error" not in log
    doc = json.loads(out.read_text())
    check_results(load_scenario(TUTORIAL), doc)
    assert [m["scheduled"] for m in doc["meetings"]] == [True, True]
    assert doc["participants"]["missing"] == []
    assert doc["stats"]["dropped_messages"] >= 0.9 * CONNECTIONS * PER_CONNECTION  # all read, nearly all refused
    assert peak < MEMORY_BOUND_KB, f"coordinator peaked at {peak} kB"


def test_a_running_agent_survives_100k_mutated_frames(workdir: Path, children: Children) -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.SNDHWM, 200_000)
    try:
        router.bind(f"ipc://{workdir}/sw")
        agent = children.participant(f"ipc://{workdir}/sw", "alice", scenario=TUTORIAL, timeout_s=60)

        def welcome(codec: Encoder) -> bytes:
            """Welcome each Hello until Ready comes back; returns the agent's connection identity."""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if router.poll(100):
                    # An agent batches what it has to say: one message may carry several envelopes.
                    identity, *envelopes = router.recv_multipart()
                    for frame in envelopes:
                        try:
                            body = decode(frame).body
                        except DecodeError:
                            continue
                        if isinstance(body, Hello):
                            router.send_multipart([identity, b"alice", codec.encode(Welcome(name="alice", heartbeat_s=5))])
                        elif isinstance(body, Ready):
                            return identity
            raise AssertionError("the agent never said Ready")

        honest = Encoder(COORDINATOR)
        identity = welcome(honest)
        # Shutdown left out: a mangled copy that still decodes is a real order to exit.
        frames = real_frames(honest, [b for b in coordinator_bodies("alice") if not isinstance(b, Shutdown)])
        for frame in mutated(13, frames, CONNECTIONS * PER_CONNECTION):
            router.send_multipart([identity, b"alice", frame])
        # A new coordinator incarnation (fresh session, fresh sequence numbers) asks for real:
        # the agent hears nothing from the old one for a while and says Hello again.
        after = Encoder(COORDINATOR)
        identity = welcome(after)
        request = AvailabilityRequest(meeting_id="team-sync", round=424_242, origin=T0, slot_minutes=30,
                                      duration_minutes=60, slots=(2, 4, 10))  # 09:00, 10:00, 13:00
        deadline = time.monotonic() + 30
        answer = None
        while answer is None and time.monotonic() < deadline:
            # Welcome again each time: a mangled Welcome of the old incarnation may have drawn the
            # Ready that welcome() saw, and the agent answers only the incarnation it last greeted.
            router.send_multipart([identity, b"alice", after.encode(Welcome(name="alice", heartbeat_s=5))])
            router.send_multipart([identity, b"alice", after.encode(request)])
            if router.poll(500):
                for _ in range(1000):  # skip Hellos and heartbeats still in flight
                    try:
                        envelopes = router.recv_multipart(zmq.NOBLOCK)[1:]
                    except zmq.Again:
                        break
                    for frame in envelopes:
                        try:
                            body = decode(frame).body
                        except DecodeError:
                            continue
                        if isinstance(body, AvailabilityResponse) and body.round == request.round:  # by round
                            answer = body
                    if answer is not None:
                        break
        assert answer is not None, children.log("alice")
        # alice is free 09:00-12:00 and 14:00-17:00 in the tutorial: 09:00 and 10:00 yes, 13:00 no.
        assert answer.available == (True, True, False)
        peak = _peak_rss_kb(agent.pid)
        router.send_multipart([identity, b"alice", after.encode(Shutdown())])
        assert agent.wait(timeout=30) == 0
    finally:
        router.close(0)
        ctx.term()
    log = children.log("alice")
    assert "Traceback" not in log and "internal error" not in log
    assert peak < MEMORY_BOUND_KB, f"agent peaked at {peak} kB"
    assert os.path.exists(children.record_path("alice"))


def test_subscriptions_cost_the_coordinator_nothing(workdir: Path, children: Children) -> None:
    """A PUB socket kept every subscription a peer sent, with no limit on their number: 50,000
    of 505 bytes took a coordinator to 1.2 GB. There is no PUB socket now; a subscriber is
    refused at the handshake and can store nothing."""
    coordinator, address, out = _coordinator(workdir, children)
    ctx = zmq.Context()
    try:
        for kind in (zmq.XSUB, zmq.SUB):
            sock = ctx.socket(kind)
            sock.setsockopt(zmq.LINGER, 5_000)
            sock.connect(address)
            for i in range(50_000):
                topic = i.to_bytes(4, "big") + b"t" * 500
                if kind == zmq.XSUB:
                    sock.send(b"\x01" + topic)
                else:
                    sock.setsockopt(zmq.SUBSCRIBE, topic)
            sock.close()
    finally:
        ctx.term()  # every byte handed over (or refused) before we look
    assert _peak_rss_kb(coordinator.pid) < 150_000
    for name in ("alice", "bob", "charlie", "diana"):
        children.participant(address, name, scenario=TUTORIAL)
    assert coordinator.wait(timeout=60) == 0, children.log("coordinator")
    assert json.loads(out.read_text())["stats"]["scheduled"] == 2
