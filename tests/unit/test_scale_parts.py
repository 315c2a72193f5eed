"""The pieces that make organisation scale cheap, each checked against the slow obvious way."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slotwise.coordinator.liveness import Liveness
from slotwise.coordinator.negotiation import Lost, Negotiation
from slotwise.coordinator.placement.judge import SlotJudge
from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.turns import Turns
from slotwise.participant.calendar import Calendar
from slotwise.participant.responder import Link, Responder
from slotwise.shared.errors import DecodeError, KeysError
from slotwise.shared.ids import COORDINATOR, AgentId, MeetingId
from slotwise.shared.keys import ClientKeys, ServerKeys, generate, host_names
from slotwise.shared.slots import FreeTime, Interval, SlotGrid
from slotwise.shared.wire.codec import Encoder, decode
from slotwise.shared.wire.gate import AgentGate, Gate
from slotwise.shared.wire.messages import AvailabilityRequest, Heartbeat, Hello, Ready, Welcome
from slotwise.shared.wire.routing import parse_recipients, recipients_frame
from tests.helpers import make_scenario, socketless_shell, to_agent

# --- whose turn it is ---------------------------------------------------------------------------

@dataclass(eq=False)
class _M:
    name: str
    people: tuple[str, ...]
    open: bool = True
    log: list[str] = field(default_factory=list)


def _turn_by_scan(order: list[_M]) -> list[_M]:
    """The definition: open, and no open meeting ahead of it shares anyone."""
    blocked: set[str] = set()
    ready = []
    for m in order:
        if m.open and blocked.isdisjoint(m.people):
            ready.append(m)
        if m.open:
            blocked.update(m.people)
    return ready


@pytest.mark.parametrize("seed", range(30))
def test_turns_agree_with_a_full_scan_as_meetings_close(seed: int) -> None:
    rng = random.Random(seed)
    people = [f"p{i}" for i in range(rng.randint(2, 12))]
    order = [_M(f"m{i}", tuple(rng.sample(people, rng.randint(1, min(4, len(people)))))) for i in range(30)]
    turns: Turns[_M] = Turns(lambda m: m.open, lambda m: m.people)
    turns.reset(order)
    told: set[_M] = set()  # ready() names a meeting once when its turn comes
    while any(m.open for m in order):
        told = {m for m in told | set(turns.ready()) if m.open}
        assert told == set(_turn_by_scan(order))
        # Close one of the meetings whose turn it is, as a walk would, and touch it.
        m = rng.choice(_turn_by_scan(order))
        m.open = False
        turns.touch(m)
    assert list(turns.ready()) == [] and len(turns) == 0


def test_a_meeting_appended_later_waits_behind_everyone_ahead() -> None:
    a, b = _M("a", ("x",)), _M("b", ("x", "y"))
    turns: Turns[_M] = Turns(lambda m: m.open, lambda m: m.people)
    turns.reset([a])
    turns.append(b)
    assert list(turns.ready()) == [a]
    a.open = False
    turns.touch(a)
    assert list(turns.ready()) == [b]


# --- the walk's bitmask filter ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_open_mask_marks_exactly_the_candidates_where_enough_are_free(seed: int) -> None:
    rng = random.Random(seed)
    invitees = [f"p{i}" for i in range(rng.randint(1, 7))]
    s = make_scenario({p: {} for p in invitees},
                      [{"id": "m", "duration_minutes": rng.choice([30, 60, 90]), "invitees": invitees,
                        "min_participants": rng.randint(1, len(invitees))}])
    plan = compile_plan(s)
    spec = plan.meetings[0]
    ledger = Ledger(plan.grid)
    for k in range(rng.randint(0, 12)):  # other meetings booked for random people
        start = plan.grid.start(rng.choice(spec.candidates))
        ledger.book(MeetingId(f"o{k}"), Interval(start, start + timedelta(minutes=rng.choice([15, 30, 60]))),
                    [p for p in rng.sample(invitees, rng.randint(1, len(invitees)))
                     if ledger.conflict(p, Interval(start, start + timedelta(minutes=60))) is None])
    answers = {p: [rng.random() < 0.7 for _ in spec.candidates] for p in invitees if rng.random() < 0.9}
    judge = SlotJudge(spec, plan.grid, ledger, plan.people, answers, {})
    mask = judge.open_mask(spec.required)
    assert mask is not None
    for i in range(len(spec.candidates)):
        assert bool(mask[i]) == (len(judge.free_at(i)) >= spec.required), i


# --- liveness per connection --------------------------------------------------------------------

def test_liveness_is_first_heard_first_expired() -> None:
    live = Liveness(2.0)
    for t, who in enumerate(["a", "b", "c"]):
        live.heard(who, float(t))
    live.heard("a", 3.0)  # heard again: now the last to expire
    assert live.next_deadline() == 3.0  # b, heard at 1
    assert live.expired(2.9) == []
    assert live.expired(4.0) == ["b", "c"]  # at 1 + 2 and 2 + 2; a was heard again at 3
    assert live.next_deadline() == 5.0
    live.forget("a")
    assert live.next_deadline() is None


def test_a_silent_host_loses_all_its_agents_at_once_and_they_come_back_together() -> None:
    s = make_scenario({"a": {}, "b": {}, "c": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "c"]}], join_timeout_s=5)
    plan = compile_plan(s)
    core, gate = Negotiation(plan), Gate(plan.participants)
    core.start(0.0)
    codecs = {n: Encoder(AgentId(n)) for n in "abc"}
    for n, peer in (("a", "host"), ("b", "host"), ("c", "alone")):
        core.receive(gate.admit(codecs[n].encode(Hello(name=n)), peer), 0.0)
        core.receive(gate.admit(codecs[n].encode(Ready()), peer), 0.0)
    timeout = core.liveness.timeout_s
    core.receive(gate.admit(codecs["c"].encode(Heartbeat()), "alone"), timeout - 0.1)
    lost = [a.agent for a in core.tick(timeout + 0.01) if isinstance(a, Lost)]
    assert lost == ["a", "b"]  # the host's connection went quiet; c's did not
    # One of them speaks again over the same connection: both are back.
    core.receive(gate.admit(codecs["a"].encode(Heartbeat()), "host"), timeout + 0.5)
    assert core.lost == ()


# --- routing frames and host keys ---------------------------------------------------------------

def test_routing_frames_name_only_hosted_agents_and_are_bounded() -> None:
    hosted = [AgentId("a"), AgentId("b")]
    assert parse_recipients(recipients_frame(None), hosted) == hosted
    assert parse_recipients(recipients_frame(["b", "zed"]), hosted) == ["b"]
    for bad in (b"zed", b"\xff\xfe", b"a " * 200):
        with pytest.raises(DecodeError):
            parse_recipients(bad, hosted)


def test_a_host_key_speaks_for_its_names_and_no_one_else(tmp_path: Path) -> None:
    generate(tmp_path, COORDINATOR)
    generate(tmp_path, "carol")
    public, _ = generate(tmp_path, "h1", host_for=["alice", "bob"])
    assert host_names(public) == {"alice", "bob"}
    ClientKeys.load_host(tmp_path, "h1")  # the host's own secret loads
    server = ServerKeys.load(tmp_path)
    assert server.speaks_for("h1") == {"alice", "bob"} and server.speaks_for("carol") == {"carol"}
    server.require(["alice", "bob", "carol"])
    with pytest.raises(KeysError, match="no public key for dave"):
        server.require(["alice", "dave"])
    frame = Encoder(AgentId("alice")).encode(Heartbeat())
    assert decode(frame, sender="h1", speaks_for=server.speaks_for("h1")).sender == "alice"
    with pytest.raises(DecodeError, match="key belongs to 'h1'"):
        decode(Encoder(AgentId("carol")).encode(Heartbeat()), sender="h1", speaks_for=server.speaks_for("h1"))
    with pytest.raises(KeysError):
        generate(tmp_path, "h2", host_for=["ok", "not a name"])


# --- the host shell -------------------------------------------------------------------------------

def _welcomed(agents: list[Responder], coordinator: Encoder, gates: dict[AgentId, AgentGate] | None = None,
              ) -> dict[AgentId, AgentGate]:
    """Each agent started and welcomed through its gate (the host's own, when given)."""
    gates = gates if gates is not None else {r.name: AgentGate(r.name) for r in agents}
    for r in agents:
        r.start(0.0)
        to_agent(r, gates[r.name], coordinator.encode(Welcome(name=r.name, heartbeat_s=1.0)), 0.0)
    return gates


def test_a_host_decodes_once_and_answers_for_each_named_agent() -> None:
    free = FreeTime([Interval(datetime(2024, 7, 22, 9, tzinfo=UTC), datetime(2024, 7, 22, 12, tzinfo=UTC))])
    link = Link()
    agents = [Responder(AgentId(n), Calendar(free), 30.0, link) for n in ("a", "b", "c")]
    shell = socketless_shell(*agents)
    coordinator = Encoder(COORDINATOR)
    _welcomed(agents, coordinator, {name: h.gate for name, h in shell.agents.items()})
    origin = datetime(2024, 7, 22, tzinfo=UTC)
    request = coordinator.encode(AvailabilityRequest(meeting_id="m", round=1, origin=origin, slot_minutes=60,
                                                     duration_minutes=60, slots=(8, 9, 11)))
    shell._handle([b"a c", request])
    replies = [decode(f) for f in shell.sent_frames]  # type: ignore[attr-defined]
    assert sorted(r.sender for r in replies) == ["a", "c"]  # b was not asked
    assert {r.body.available for r in replies} == {(False, True, True)}  # type: ignore[union-attr]
    assert shell.dropped == 0


def test_hosted_agents_share_what_they_hear_of_the_coordinator() -> None:
    link = Link()
    agents = [Responder(AgentId(n), Calendar(FreeTime([])), 30.0, link) for n in ("a", "b")]
    quiet = agents[1]
    quiet.heartbeats = False  # as a host sets it for all but its first agent
    coordinator = Encoder(COORDINATOR)
    gates = _welcomed(agents, coordinator)
    to_agent(agents[0], gates[AgentId("a")], coordinator.encode(Heartbeat()), 3.9)
    # b heard nothing itself, but the connection did: no Hello again, and no giving up.
    assert quiet.tick(4.5) == []
    alone = Responder(AgentId("c"), Calendar(FreeTime([])), 30.0)  # its own connection
    _welcomed([alone], coordinator)
    assert [type(a.body).__name__ for a in alone.tick(4.5) if hasattr(a, "body")] == ["Hello"]


def test_answers_by_span_arithmetic_match_one_check_per_slot() -> None:
    rng = random.Random(7)
    origin = datetime(2024, 7, 22, tzinfo=UTC)
    for _ in range(30):
        free = FreeTime([Interval(origin + timedelta(minutes=a), origin + timedelta(minutes=a + rng.randint(15, 300)))
                         for a in sorted(rng.sample(range(0, 2000, 5), 6))])
        cal = Calendar(free)
        for k in range(rng.randint(0, 4)):
            start = origin + timedelta(minutes=rng.randrange(0, 2000, 15))
            cal.hold(MeetingId(f"h{k}"), Interval(start, start + timedelta(minutes=rng.choice([15, 45]))), 1)
        grid, duration = SlotGrid(origin, 15), rng.choice([15, 30, 60])
        slots = sorted(rng.sample(range(0, 130), 40)) if rng.random() < 0.5 else list(range(10, 120))
        slow = tuple(cal.can_attend(grid.interval(s, duration), MeetingId("m")) for s in slots)
        assert cal.answer(grid, duration, slots, MeetingId("m")) == slow
