"""100,000 mutated real frames through the decoder and both cores: the only exceptions that
come out are the peer-fault ones (DecodeError, ProtocolError), which the shells drop."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from slotwise.coordinator.negotiation import Negotiation
from slotwise.coordinator.plan import compile_plan
from slotwise.participant.calendar import Calendar
from slotwise.participant.responder import Responder
from slotwise.shared.errors import DecodeError, ProtocolError
from slotwise.shared.ids import AgentId
from slotwise.shared.slots import FreeTime, Interval
from slotwise.shared.wire.codec import decode
from slotwise.shared.wire.gate import AgentGate, Gate
from slotwise.shared.wire.messages import Welcome
from tests.helpers import make_scenario
from tests.mutations import T0, agent_bodies, agent_encoder, coordinator_bodies, coordinator_encoder, mutated, real_frames

FRAMES = 100_000


def _feed(frames: object, receive: object) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for frame in frames:  # type: ignore[attr-defined]
        try:
            receive(frame)  # type: ignore[operator]
            outcomes["accepted"] += 1
        except DecodeError:
            outcomes["undecodable"] += 1
        except ProtocolError:
            outcomes["refused"] += 1
    return outcomes


def test_the_coordinator_core_sees_only_peer_faults() -> None:
    s = make_scenario({n: {} for n in ("alice", "bob")},
                      [{"id": "team-sync", "duration_minutes": 60, "invitees": ["alice", "bob"]}])
    plan = compile_plan(s)
    core, gate = Negotiation(plan), Gate(plan.participants)
    core.start(0.0)
    frames = [f for name in ("alice", "bob") for f in real_frames(agent_encoder(name), agent_bodies(name))]
    # Through the gate, as the shell feeds the core: both agents over one connection (a host).
    outcomes = _feed(mutated(7, frames, FRAMES), lambda frame: core.receive(gate.admit(frame, "host"), 1.0))
    assert sum(outcomes.values()) == FRAMES and outcomes["undecodable"] > FRAMES // 2
    core.tick(100.0)  # and the core still works through its deadlines


def test_the_agent_core_sees_only_peer_faults() -> None:
    agent = Responder(AgentId("alice"), Calendar(FreeTime([Interval(T0, T0 + timedelta(hours=8))])), 30)
    agent.start(0.0)
    encoder, gate = coordinator_encoder(), AgentGate(AgentId("alice"))

    def receive(frame: bytes) -> None:
        admitted = gate.check(decode(frame))
        if admitted is not None:
            agent.receive(admitted, 1.0)

    receive(encoder.encode(Welcome(name="alice", heartbeat_s=0.5)))
    frames = real_frames(encoder, coordinator_bodies("alice"))
    outcomes = _feed(mutated(8, frames, FRAMES), receive)
    assert sum(outcomes.values()) == FRAMES and outcomes["undecodable"] > FRAMES // 2
    # Whatever was accepted, the agent's own promise holds: holds never overlap each other.
    held = sorted(c.when for c in agent.calendar.holds.values())
    assert all(not a.overlaps(b) for a, b in zip(held, held[1:]))
