"""The agent core on a fake link: joining, answers that reveal one boolean per candidate, holds
and releases, sessions, hosted agents; and hostile or random input that must never get past
as anything but a peer fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.participant.calendar import Calendar
from slotwise.participant.responder import Exit, Responder, Send
from slotwise.participant.responder import Link as HostLink
from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.slots import FreeTime, Interval
from slotwise.shared.wire.codec import Encoder, decode
from slotwise.shared.wire.gate import AgentGate
from slotwise.shared.wire.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Body,
    Heartbeat,
    Hello,
    Hold,
    HoldReply,
    MeetingScheduled,
    Ready,
    Release,
    Shutdown,
    Welcome,
)
from tests.helpers import socketless_shell, to_agent
from tests.mutations import T0 as FRAMES_DAY
from tests.mutations import coordinator_bodies, coordinator_encoder, feed, mutated, real_frames
from tests.strategies import coordinator_messages

FRAMES = 100_000


def test_the_agent_core_sees_only_peer_faults() -> None:
    agent = Responder(AgentId("alice"), Calendar(FreeTime([Interval(FRAMES_DAY, FRAMES_DAY + timedelta(hours=8))])), 30)
    agent.start(0.0)
    encoder, gate = coordinator_encoder(), AgentGate(AgentId("alice"))

    def receive(frame: bytes) -> None:
        admitted = gate.check(decode(frame))
        if admitted is not None:
            agent.receive(admitted, 1.0)

    receive(encoder.encode(Welcome(name="alice", heartbeat_s=0.5)))
    frames = real_frames(encoder, coordinator_bodies("alice"))
    outcomes = feed(mutated(8, frames, FRAMES), receive)
    assert sum(outcomes.values()) == FRAMES and outcomes["undecodable"] > FRAMES // 2
    # Whatever was accepted, the agent's own promise holds: holds never overlap each other.
    held = sorted(c.when for c in agent.calendar.holds.values())
    assert all(not a.overlaps(b) for a, b in zip(held, held[1:]))


@settings()
@given(st.lists(st.tuples(st.booleans(), coordinator_messages), max_size=40))
def test_agent_core_survives_any_message_sequence(script: list[tuple[bool, Any]]) -> None:
    from slotwise.participant.calendar import Calendar
    from slotwise.participant.responder import Responder
    from slotwise.shared.slots import FreeTime, Interval

    agent = Responder(AgentId("a"), Calendar(FreeTime([Interval(T0, T0 + timedelta(hours=9))])), 30)
    agent.start(0.0)
    real, forged = Encoder(COORDINATOR), Encoder(COORDINATOR)
    gate = AgentGate(AgentId("a"))
    to_agent(agent, gate, real.encode(Welcome(name="a", heartbeat_s=1.0)), 0.0)
    for genuine, body in script:
        try:
            to_agent(agent, gate, (real if genuine else forged).encode(body), 1.0)
        except ProtocolError:
            pass
    accepted = list(agent.calendar.accepted.values())
    held = list(agent.calendar.holds.values())
    # Holds never overlap each other or another accepted meeting (the agent's own promise); a
    # hold may overlap its own meeting's accepted slot: that meeting is being moved.
    for i, x in enumerate(held):
        assert not any(x.when.overlaps(y.when) for y in held[i + 1:] + accepted if y.meeting_id != x.meeting_id)


T0 = datetime(2024, 7, 22, 8, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


class Link:
    """A coordinator stand-in that encodes real envelopes for one responder."""

    def __init__(self, free: list[tuple[float, float]]) -> None:
        cal = Calendar(FreeTime(Interval(h(a), h(b)) for a, b in free))
        self.agent = Responder(AgentId("alice"), cal, coordinator_timeout_s=10)
        self.gate = AgentGate(AgentId("alice"))
        self.codec = Encoder(COORDINATOR)
        self.out = self.agent.start(0.0)
        self.send(Welcome(name="alice", heartbeat_s=1.0))

    def send(self, body: Body, now: float = 0.0, codec: Encoder | None = None) -> list[Send | Exit]:
        return to_agent(self.agent, self.gate, (codec or self.codec).encode(body), now)  # type: ignore[return-value]

    def reply(self, body: Body) -> Body:
        (action,) = self.send(body)
        assert isinstance(action, Send)
        return action.body


def request(meeting: str, slots: tuple[int, ...], duration: int = 60) -> AvailabilityRequest:
    return AvailabilityRequest(meeting_id=meeting, round=1, origin=T0, slot_minutes=30,
                               duration_minutes=duration, slots=slots)


def test_hello_then_ready_after_welcome() -> None:
    link = Link([(0, 8)])
    assert isinstance(link.out[0], Send) and isinstance(link.out[0].body, Hello)
    assert isinstance(link.reply(Welcome(name="alice", heartbeat_s=1.0)), Ready)


def test_answers_one_boolean_per_candidate_and_nothing_else() -> None:
    link = Link([(1, 3)])  # free 09:00-11:00
    answer = link.reply(request("m", (0, 2, 3, 4)))  # 08:00, 09:00, 09:30, 10:00 for an hour
    assert isinstance(answer, AvailabilityResponse)
    assert answer.available == (False, True, True, True)
    assert set(AvailabilityResponse.model_fields) == {"type", "meeting_id", "round", "available"}


def test_accepted_meeting_makes_overlapping_slots_no() -> None:
    link = Link([(0, 8)])
    link.send(MeetingScheduled(meeting_id="a", name="A", start=h(1), end=h(2), attendees=("alice",)))
    answer = link.reply(request("b", (1, 2, 3, 4)))
    assert isinstance(answer, AvailabilityResponse)
    assert answer.available == (False, False, False, True)  # 08:30, 09:00, 09:30 overlap 09-10


def test_overlapping_hold_refused_with_fresh_answers_and_release_frees_it() -> None:
    link = Link([(0, 8)])
    assert link.reply(Hold(meeting_id="a", round=1, start=h(1), end=h(2))).accepted  # type: ignore[attr-defined]
    link.reply(request("b", (2, 4)))
    refused = link.reply(Hold(meeting_id="b", round=2, start=h(1.5), end=h(2.5)))
    assert isinstance(refused, HoldReply) and not refused.accepted
    assert refused.available == (False, True)  # 09:00 still blocked by a's hold, 10:00 free
    link.send(Release(meeting_id="a", round=1))
    again = link.reply(Hold(meeting_id="b", round=3, start=h(1.5), end=h(2.5)))
    assert isinstance(again, HoldReply) and again.accepted


def test_hold_outside_free_time_is_refused() -> None:
    link = Link([(0, 1)])
    reply = link.reply(Hold(meeting_id="a", round=1, start=h(2), end=h(3)))
    assert isinstance(reply, HoldReply) and not reply.accepted and reply.reason == "not free"


def test_messages_from_another_coordinator_session_are_refused() -> None:
    link = Link([(0, 8)])
    with pytest.raises(ProtocolError, match="session"):
        link.send(request("m", (0,)), codec=Encoder(COORDINATOR))


def test_messages_not_from_the_coordinator_are_refused() -> None:
    link = Link([(0, 8)])
    with pytest.raises(ProtocolError, match="not a peer"):
        link.send(Shutdown(), codec=Encoder(AgentId("mallory")))


def test_shutdown_exits_cleanly_and_silence_exits_uncleanly() -> None:
    link = Link([(0, 8)])
    (action,) = link.send(Shutdown(reason="done"))
    assert isinstance(action, Exit) and action.clean
    quiet = Link([(0, 8)])  # welcomed at t=0 with a 10 s coordinator timeout
    assert all(not isinstance(a, Exit) for a in quiet.agent.tick(9.9))
    (gone,) = quiet.agent.tick(10.0)
    assert isinstance(gone, Exit) and not gone.clean and "silent" in gone.reason


def test_hello_is_resent_until_welcomed() -> None:
    cal = Calendar(FreeTime([]))
    agent = Responder(AgentId("bob"), cal, coordinator_timeout_s=10)
    agent.start(0.0)
    resent = agent.tick(agent.next_deadline())
    assert len(resent) == 1 and isinstance(resent[0], Send) and isinstance(resent[0].body, Hello)


def test_duplicates_and_replays_are_dropped() -> None:
    link = Link([(0, 8)])
    frame = link.codec.encode(Heartbeat())
    to_agent(link.agent, link.gate, frame, 1.0)
    with pytest.raises(ProtocolError, match="duplicate or replayed"):
        to_agent(link.agent, link.gate, frame, 1.0)


def test_says_hello_again_when_the_coordinator_goes_quiet() -> None:
    link = Link([(0, 8)])  # welcomed at t=0, heartbeat 1 s
    assert link.agent.welcomed
    actions = link.agent.tick(4.0)  # four heartbeats of silence
    assert not link.agent.welcomed
    assert any(isinstance(a, Send) and isinstance(a.body, Hello) for a in actions)
    again = link.agent.tick(4.5)  # and keeps saying it until someone answers
    assert any(isinstance(a, Send) and isinstance(a.body, Hello) for a in again)


def test_a_scheduled_meeting_releases_any_hold_it_overlaps() -> None:
    """Found by hypothesis: a decision must never leave a hold contradicting it."""
    link = Link([(0, 8)])
    assert link.reply(Hold(meeting_id="m1", round=1, start=h(1), end=h(2))).accepted  # type: ignore[attr-defined]
    link.send(MeetingScheduled(meeting_id="m2", name="M2", start=h(1.5), end=h(2.5), attendees=("alice",)))
    assert "m1" not in link.agent.calendar.holds and "m2" in link.agent.calendar.accepted


def test_a_new_reply_connection_is_named_by_a_fresh_hello() -> None:
    link = Link([(0, 8)])
    assert link.agent.tick(0.1) == []  # welcomed: nothing to say yet
    link.agent.reconnected(0.2)
    (hello,) = link.agent.tick(0.2)
    assert isinstance(hello, Send) and isinstance(hello.body, Hello)
    (ready,) = link.send(Welcome(name="alice", heartbeat_s=1.0), now=0.3)  # same coordinator: holds kept
    assert isinstance(ready, Send) and isinstance(ready.body, Ready)


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
    link = HostLink()
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
    link = HostLink()
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


def test_meetings_long_past_leave_the_agent_and_its_hello() -> None:
    from slotwise.shared.ids import MeetingId

    agent = Responder(AgentId("a"), Calendar(FreeTime([Interval(T0, T0 + timedelta(days=30))])), 0)
    for day in range(10):
        when = Interval(T0 + timedelta(days=day), T0 + timedelta(days=day, hours=1))
        agent.calendar.accept(MeetingId(f"m{day}"), when)
    assert agent.forget_ended(T0 + timedelta(days=4)) == 4  # m0..m3 ended before day 4
    assert sorted(agent.calendar.accepted) == [f"m{d}" for d in range(4, 10)]
    assert agent._hello().accepted == tuple(f"m{d}" for d in range(4, 10))
    assert list(agent.calendar.accepted.overlapping(Interval(T0, T0 + timedelta(days=2)))) == []  # the index too
    assert agent.forget_ended(T0 + timedelta(days=4)) == 0
