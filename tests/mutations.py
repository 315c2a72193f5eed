"""Mutations of real frames, for fuzzing the sockets: what a broken or hostile peer could send.

Each mutation starts from a frame a real peer sends (encoded by the real Encoder) and breaks it
one way: bit flips, truncation, trailing garbage, type confusion inside the envelope or body,
huge declared lengths, deep nesting, extension types. Seeded: the same seed, the same frames.
"""

from __future__ import annotations

import random
import struct
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack

from slotwise.shared.errors import DecodeError, ProtocolError
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.wire.codec import Encoder
from slotwise.shared.wire.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Body,
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

T0 = datetime(2024, 7, 21, 8, tzinfo=UTC)


def agent_bodies(name: str, meeting: str = "team-sync") -> list[Body]:
    return [Hello(name=name), Hello(name=name, accepted=(meeting,)), Ready(), Heartbeat(),
            AvailabilityResponse(meeting_id=meeting, round=1, available=(True, False) * 10),
            HoldReply(meeting_id=meeting, round=2, accepted=True),
            HoldReply(meeting_id=meeting, round=2, accepted=False, reason="busy", available=(False,) * 20)]


def coordinator_bodies(name: str, meeting: str = "team-sync") -> list[Body]:
    return [Welcome(name=name, heartbeat_s=0.5), Heartbeat(), Shutdown(),
            AvailabilityRequest(meeting_id=meeting, round=1, origin=T0, slot_minutes=30, duration_minutes=60,
                                slots=tuple(range(20))),
            Hold(meeting_id=meeting, round=2, start=T0, end=T0 + timedelta(hours=1)),
            Release(meeting_id=meeting, round=2),
            MeetingScheduled(meeting_id=meeting, name="Team Sync", start=T0, end=T0 + timedelta(hours=1),
                             attendees=(name,)),
            MeetingFailed(meeting_id=meeting, reason="nobody")]


def real_frames(encoder: Encoder, bodies: Sequence[Body]) -> list[bytes]:
    return [encoder.encode(b) for b in bodies]


def _flip(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


def _truncate(rng: random.Random, frame: bytes) -> bytes:
    return frame[:rng.randrange(len(frame))]


def _garbage(rng: random.Random, frame: bytes) -> bytes:
    return frame + rng.randbytes(rng.randint(1, 64))


_ODD_VALUES: list[Callable[[random.Random], Any]] = [
    lambda r: None, lambda r: r.randint(-2**63, 2**64 - 1), lambda r: r.random() * 1e300, lambda r: "x" * r.randint(0, 300),
    lambda r: r.randbytes(r.randint(0, 40)), lambda r: [1, "a", None], lambda r: {"k": [1]}, lambda r: True,
    lambda r: msgpack.ExtType(r.randint(0, 127), b"\x00" * r.randint(0, 8)),
]


def _confuse(rng: random.Random, frame: bytes) -> bytes:
    raw = msgpack.unpackb(frame, raw=False, timestamp=3)
    target = raw if rng.random() < 0.4 or not raw.get("body") else raw["body"]
    key = rng.choice(sorted(target))
    target[key] = rng.choice(_ODD_VALUES)(rng)
    return msgpack.packb(raw, datetime=True, use_bin_type=True)


def _huge_length(rng: random.Random, frame: bytes) -> bytes:
    """Replace a short container or string header with a 32-bit one declaring far too much."""
    marker = rng.choice([b"\xdd", b"\xdf", b"\xdb", b"\xc6"])  # array32, map32, str32, bin32
    cut = rng.randrange(len(frame))
    return frame[:cut] + marker + struct.pack(">I", rng.choice([2**32 - 1, 2**31, 10**9, 60_000])) + frame[cut + 1:]


def _deep(rng: random.Random, frame: bytes) -> bytes:
    raw = msgpack.unpackb(frame, raw=False, timestamp=3)
    mark = "DEEP"
    raw["body" if rng.random() < 0.5 else "sender"] = mark
    depth = rng.choice([10, 100, 1000, 100_000])
    return msgpack.packb(raw, datetime=True).replace(msgpack.packb(mark), b"\x91" * depth + b"\xc0")


MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    _flip, _flip, _flip, _truncate, _garbage, _confuse, _confuse, _huge_length, _deep]


def mutated(seed: int, frames: Sequence[bytes], count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(count):
        yield rng.choice(MUTATIONS)(rng, rng.choice(frames))


def coordinator_encoder() -> Encoder:
    return Encoder(COORDINATOR)


def agent_encoder(name: str) -> Encoder:
    return Encoder(AgentId(name))


def feed(frames: object, receive: object) -> Counter[str]:
    """Each frame to `receive`; counts what was accepted, undecodable or refused. Any other
    exception propagates: that is the failure these tests look for."""
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
