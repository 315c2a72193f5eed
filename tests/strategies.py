"""Hypothesis strategies for messages that decode fine but may make no sense: stale rounds,
unknown meetings, wrong lengths, out-of-turn replies, messages the sender may not send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

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

T0 = datetime(2024, 7, 22, 8, tzinfo=UTC)
names = st.sampled_from(["a", "b", "c", "zed"])
meetings = st.sampled_from(["m1", "m2", "nope"])
rounds = st.integers(0, 40)
moments = st.integers(-200, 2000).map(lambda m: T0 + timedelta(minutes=m))
flags = st.lists(st.booleans(), max_size=40).map(tuple)

agent_messages = st.one_of(
    st.builds(Hello, name=names), st.just(Ready()), st.just(Heartbeat()),
    st.builds(AvailabilityResponse, meeting_id=meetings, round=rounds, available=flags),
    st.builds(HoldReply, meeting_id=meetings, round=rounds, accepted=st.booleans(),
              available=st.none() | flags),
    st.builds(Shutdown),  # not something an agent may send
)


def _interval(a: datetime, b: datetime) -> tuple[datetime, datetime]:
    return (a, b) if a < b else (b, a + timedelta(minutes=1))


coordinator_messages = st.one_of(
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
