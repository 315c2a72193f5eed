"""The codec: every message round-trips, times are UTC on the wire, and bad, truncated, deep or
huge frames are decode errors saying why, refused before pydantic sees them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.shared.errors import DecodeError
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.codec import MAX_FRAME_BYTES, Encoder, decode
from slotwise.shared.wire.messages import (
    PROTOCOL_VERSION,
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

NOW = datetime(2024, 7, 21, 10, tzinfo=UTC)


SAMPLES = [
    Hello(name="alice", accepted=("m1",)),
    Welcome(name="alice", heartbeat_s=0.5),
    Ready(),
    AvailabilityRequest(meeting_id="m", round=3, origin=NOW, slot_minutes=15, duration_minutes=60,
                        slots=tuple(range(480))),
    AvailabilityResponse(meeting_id="m", round=3, available=(True, False)),
    Hold(meeting_id="m", round=4, start=NOW, end=NOW + timedelta(hours=1)),
    HoldReply(meeting_id="m", round=4, accepted=False, reason="busy", available=(False, True)),
    Release(meeting_id="m", round=4),
    MeetingScheduled(meeting_id="m", name="M", start=NOW, end=NOW + timedelta(hours=1),
                     attendees=("alice", "bob")),
    MeetingFailed(meeting_id="m", reason="nobody"),
    Heartbeat(),
    Shutdown(),
]


def raw(**overrides: object) -> bytes:
    """A valid hello envelope as a dict, with fields replaced, packed."""
    env: dict[str, object] = {"v": PROTOCOL_VERSION, "type": "hello", "sender": "alice", "session": "s",
                              "seq": 1, "body": {"name": "alice"}}
    env.update(overrides)
    return msgpack.packb(env, datetime=True)


@pytest.mark.parametrize("body", SAMPLES, ids=lambda b: type(b).__name__)
def test_every_message_round_trips(body: object) -> None:
    enc = Encoder(AgentId("alice"))
    env = decode(enc.encode(body))  # type: ignore[arg-type]
    assert env.body == body
    assert (env.sender, env.session, env.seq) == ("alice", enc.session, 1)


def test_sequence_numbers_grow_per_sender() -> None:
    enc = Encoder(AgentId("a"))
    seqs = [decode(enc.encode(Heartbeat())).seq for _ in range(3)]
    assert seqs == [1, 2, 3]


def test_times_are_utc_on_the_wire_whatever_zone_they_were_given_in() -> None:
    tokyo = timezone(timedelta(hours=9))
    hold = Hold(meeting_id="m", round=1, start=NOW.astimezone(tokyo), end=(NOW + timedelta(hours=1)).astimezone(tokyo))
    env = decode(Encoder(AgentId("c")).encode(hold))
    assert env.body.start == NOW and env.body.start.utcoffset() == timedelta(0)  # type: ignore[union-attr]


@pytest.mark.parametrize("frame, problem", [
    (b"", "not msgpack"),
    (b"\xc1", "not msgpack"),
    (msgpack.packb([1, 2, 3]), "not a map"),
    (raw(v=PROTOCOL_VERSION + 1), f"protocol version {PROTOCOL_VERSION + 1}"),
    (raw(v=None), "protocol version"),
    (raw(type="launch_missiles"), "unknown message type 'launch_missiles'"),
    (raw(type=7), "unknown message type 7"),
    (raw(body={"name": "alice", "extra": 1}), "invalid hello"),
    (raw(body={"name": 5}), "invalid hello"),
    (raw(body={"name": "../../etc"}), "invalid hello"),
    (raw(sender="a b"), "invalid hello"),
    (raw(seq="1"), "invalid hello"),
    (raw(seq="seven"), "invalid hello"),
    (raw(extra_header=1), "invalid hello"),
    (raw(type="availability_response", body={"meeting_id": "m", "round": 1, "available": [1, 0]}),
     "invalid availability_response"),
    (raw(type="hold", body={"meeting_id": "m", "round": 1, "start": 1721556000,
                            "end": "2024-07-21T11:00:00Z"}), "invalid hold"),  # no coercion
    (raw(type="hold", body={"meeting_id": "m", "round": -1, "start": NOW, "end": NOW}), "invalid hold"),
    (b"\x00" * (MAX_FRAME_BYTES + 1), "exceeds"),
])
def test_bad_frames_raise_decode_error_saying_why(frame: bytes, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem.replace("(", r"\(")):
        decode(frame)


def test_truncated_valid_frames_are_decode_errors() -> None:
    frame = Encoder(AgentId("a")).encode(SAMPLES[3])
    for cut in range(0, len(frame), 97):
        with pytest.raises(DecodeError):
            decode(frame[:cut])


@settings()
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise_anything_but_decode_error(data: bytes) -> None:
    try:
        decode(data)
    except DecodeError:
        pass


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)


@settings()
@given(st.sampled_from(sorted({type(b).model_fields["type"].default for b in SAMPLES})), json_like)
def test_well_formed_envelopes_with_arbitrary_bodies_never_crash(kind: str, body: object) -> None:
    try:
        decode(raw(type=kind, body=body))
    except DecodeError:
        pass


def test_deep_nesting_is_a_decode_error_not_a_recursion_error() -> None:
    x: object = 1
    for _ in range(1000):
        x = [x]
    with pytest.raises(DecodeError):
        decode(msgpack.packb({"v": x}))


def test_a_million_wrong_items_are_refused_before_pydantic() -> None:
    frame = msgpack.packb({"v": PROTOCOL_VERSION, "type": "availability_response", "sender": "a", "session": "s", "seq": 1,
                           "body": {"meeting_id": "m", "round": 1, "available": [1] * 1_000_000}})
    with pytest.raises(DecodeError, match=r"items|max_array_len"):
        decode(frame)


@pytest.mark.parametrize("field", [
    [{"a": 1}] * 50_000,  # many small maps
    [msgpack.ExtType(5, b"x")] * 50_000,  # many extension values
])
def test_many_containers_or_exts_are_refused_at_the_first_extra(field: object) -> None:
    frame = msgpack.packb({"v": PROTOCOL_VERSION, "type": "hello", "sender": "a", "session": "s", "seq": 1,
                           "body": {"name": "a", "accepted": field}})
    with pytest.raises(DecodeError, match=r"more than 4 maps|extension type 5"):
        decode(frame)
