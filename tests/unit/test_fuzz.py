"""Property tests: hostile or random input never crashes a core or a shell.

The decoder is fuzzed in test_codec; here whole messages that decode fine, but make no sense
(stale rounds, unknown meetings, wrong lengths, out-of-turn replies), are thrown at the
negotiation core and the agent core. The only exception allowed out is ProtocolError.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.coordinator.plan import compile_plan
from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.wire.codec import Encoder
from slotwise.shared.wire.gate import AgentGate
from slotwise.shared.wire.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Heartbeat,
    Hello,
    Hold,
    HoldReply,
    MeetingFailed,
    MeetingScheduled,
    Ready,
    Release,
    Shutdown,
    Welcome,
)
from tests.helpers import make_scenario, socketless_shell, to_agent
from tests.unit.fakenet import FakeNetwork, envelope

T0 = datetime(2024, 7, 22, 8, tzinfo=UTC)
names = st.sampled_from(["a", "b", "c", "zed"])
meetings = st.sampled_from(["m1", "m2", "nope"])
rounds = st.integers(0, 40)
moments = st.integers(-200, 2000).map(lambda m: T0 + timedelta(minutes=m))
flags = st.lists(st.booleans(), max_size=40).map(tuple)

agent_bodies = st.one_of(
    st.builds(Hello, name=names), st.just(Ready()), st.just(Heartbeat()),
    st.builds(AvailabilityResponse, meeting_id=meetings, round=rounds, available=flags),
    st.builds(HoldReply, meeting_id=meetings, round=rounds, accepted=st.booleans(),
              available=st.none() | flags),
    st.builds(Shutdown),  # not something an agent may send
)


def _interval(a: datetime, b: datetime) -> tuple[datetime, datetime]:
    return (a, b) if a < b else (b, a + timedelta(minutes=1))


coordinator_bodies = st.one_of(
    st.builds(Welcome, name=names, heartbeat_s=st.floats(0.01, 5)),
    st.builds(AvailabilityRequest, meeting_id=meetings, round=rounds, origin=moments,
              slot_minutes=st.integers(1, 120), duration_minutes=st.integers(1, 600),
              slots=st.lists(st.integers(0, 500), max_size=30).map(tuple)),
    st.builds(lambda m, r, a, b: Hold(meeting_id=m, round=r, start=_interval(a, b)[0], end=_interval(a, b)[1]),
              meetings, rounds, moments, moments),
    st.builds(Release, meeting_id=meetings, round=rounds),
    st.builds(lambda m, a, b, who: MeetingScheduled(meeting_id=m, name=m, start=_interval(a, b)[0],
                                                    end=_interval(a, b)[1], attendees=who),
              meetings, moments, moments, st.lists(names, max_size=3).map(tuple)),
    st.builds(MeetingFailed, meeting_id=meetings, reason=st.text(max_size=20)),
    st.just(Heartbeat()), st.just(Shutdown()),
)

SCENARIO = make_scenario({"a": {}, "b": {}, "c": {}}, [
    {"id": "m1", "duration_minutes": 60, "invitees": ["a", "b"]},
    {"id": "m2", "duration_minutes": 30, "invitees": ["b", "c"], "min_participants": 1},
])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(names, st.booleans(), agent_bodies, st.floats(0, 30)), max_size=40))
def test_negotiation_core_survives_any_message_sequence(script: list[tuple[str, bool, Any, float]]) -> None:
    net = FakeNetwork(SCENARIO)
    net._coord_actions(net.core.start(0.0))
    net.pump()
    for sender, own_session, body, now in sorted(script, key=lambda x: x[3]):
        session = net.codecs[AgentId(sender)].session if own_session and sender in net.codecs else "forged"
        try:
            net.now = now
            net._coord_actions(net.feed(envelope(sender, session, body)))
            net._coord_actions(net.core.tick(now))
        except ProtocolError:
            pass
    # Whatever happened, the negotiation still ends, soundly.
    from slotwise.report.audit import audit

    outcomes = net.run(limit_s=10_000)
    assert audit(SCENARIO, compile_plan(SCENARIO), outcomes) == []


@settings()
@given(st.lists(st.tuples(st.booleans(), coordinator_bodies), max_size=40))
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


@settings()
@given(st.lists(st.binary(max_size=300), min_size=0, max_size=4))
def test_agent_shell_handles_any_frames_without_raising(frames: list[bytes]) -> None:
    from slotwise.participant.calendar import Calendar
    from slotwise.participant.responder import Responder
    from slotwise.shared.slots import FreeTime

    shell = socketless_shell(Responder(AgentId("a"), Calendar(FreeTime([])), 30))
    assert shell._handle(frames) is None
    assert 1 <= shell.dropped <= max(1, len(frames) // 2)  # each pair counted and logged as a drop, never raised
