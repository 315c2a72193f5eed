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
    MaskedAvailability,
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
    st.builds(MaskedAvailability, meeting_id=meetings, round=rounds, sums=st.binary(max_size=64)),
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

# Meeting requests as a user might write them, near and past every limit the door enforces:
# ids and names of any script and length around the bounds, recurrences down to minutely,
# windows, priorities, people the scenario does not have, more invitees than can come.
PEOPLE = ("ana", "bo", "cy", "di", "ed", "fa")
_printable = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=20)
_often = st.text("abcxyz-_.中é@/ ", min_size=1, max_size=8)
_ids = st.one_of(_often, _often, _often, _often,
                 st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=4),
                 _printable.filter(bool),
                 st.tuples(st.sampled_from("a中@/"), st.integers(105, 135)).map(lambda c: c[0] * c[1]))
_titles = st.one_of(_printable, _printable, _printable, st.integers(470, 520).map(lambda n: "n" * n),
                    st.sampled_from(["a\nb", "\x00", "tab\tin", "é" * 250]))
_invitees = st.tuples(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=6, unique=True),
                      st.sampled_from([(), (), (), (), ("zed",)])).map(lambda p: [*p[0], *p[1]])


def _meeting(mid: str, title: str | None, minutes: int, invitees: list[str], extra: dict[str, object]) -> dict[str, object]:
    body: dict[str, object] = {"id": mid, "duration_minutes": minutes, "invitees": invitees, **extra}
    if title is not None:
        body["name"] = title
    return body


meeting_requests = st.builds(
    _meeting, _ids, st.none() | st.none() | _titles, st.sampled_from([30, 60, 60, 90, 15, 600, 0]), _invitees,
    st.fixed_dictionaries({}, optional={
        "min_participants": st.sampled_from([1, 2, 2, 3, 4, 6, 8, 0]),
        "priority": st.integers(-3, 20),
        "recurrence": st.sampled_from(["FREQ=DAILY;COUNT=2", "FREQ=DAILY;COUNT=3", "FREQ=WEEKLY;COUNT=2",
                                       "FREQ=HOURLY;COUNT=3", "FREQ=DAILY", "FREQ=DAILY;COUNT=2",
                                       "FREQ=MINUTELY;COUNT=2", "nonsense"]),
        "not_before": st.integers(-24, 30).map(lambda h: (T0 + timedelta(hours=h)).isoformat()),
        "not_after": st.integers(-24, 60).map(lambda h: (T0 + timedelta(hours=h)).isoformat()),
        "rule": st.sampled_from(["min-participants", "quorum", {"name": "quorum", "fraction": 0.5}, "nobody"]),
    }))
