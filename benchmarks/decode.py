"""Decode cost of hostile frames: every frame of at most 1 MiB is decoded or refused in at most
5 ms and 10 MB of extra memory (issue target). One command, one table:

    python benchmarks/decode.py [--repeat 21]

Time is the median of `--repeat` decodes (min and max beside it: this machine is shared, so
the spread says how noisy the median is); memory is tracemalloc's peak during one decode.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

import msgpack
from rich.console import Console
from rich.table import Table

from slotwise.shared.errors import DecodeError
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.codec import MAX_FRAME_BYTES, Encoder, decode
from slotwise.shared.wire.messages import MAX_CANDIDATES, AvailabilityRequest, Hello

TIME_TARGET_S = 0.005
MEMORY_TARGET_B = 10 << 20


def envelope(kind: str, body: object, **extra: object) -> dict[str, object]:
    return {"v": 2, "type": kind, "sender": "alice", "session": "s" * 32, "seq": 1, "body": body, **extra}


def fill(make: Callable[[int], object], limit: int = MAX_FRAME_BYTES) -> bytes:
    """The largest frame of this shape that still fits the frame limit."""
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(msgpack.packb(make(mid), datetime=True)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    packed: bytes = msgpack.packb(make(lo), datetime=True)
    return packed


def nested(depth: int, where: str = "body") -> bytes:
    """An envelope whose name (or sender) is a list nested `depth` deep, written byte by byte:
    msgpack's own packer refuses to go that deep, a hostile peer need not."""
    mark = "PLACEHOLDER"
    env = envelope("hello", {"name": mark}) if where == "body" else envelope("hello", {"name": "a"}) | {"sender": mark}
    packed: bytes = msgpack.packb(env).replace(msgpack.packb(mark), b"\x91" * depth + b"\x01")
    return packed


def cases() -> dict[str, bytes]:
    valid = Encoder(AgentId("coordinator")).encode(AvailabilityRequest(
        meeting_id="m", round=1, origin=datetime(2024, 7, 22, tzinfo=UTC), slot_minutes=1,
        duration_minutes=30, slots=tuple(range(MAX_CANDIDATES))))
    return {
        f"valid request, {MAX_CANDIDATES:,} candidates": valid,
        "valid Hello holding 20,000 meeting ids": Encoder(AgentId("alice")).encode(
            Hello(name="alice", accepted=tuple(f"meeting-{i:010d}" for i in range(20_000)))),
        "answers: ~1M ints where bools go": fill(
            lambda n: envelope("availability_response", {"meeting_id": "m", "round": 1, "available": [1] * n})),
        f"answers: {MAX_CANDIDATES:,} ints where bools go": msgpack.packb(
            envelope("availability_response", {"meeting_id": "m", "round": 1, "available": [1] * MAX_CANDIDATES})),
        "body with ~100k unknown keys": fill(
            lambda n: envelope("hello", {f"k{i}": 0 for i in range(n)} | {"name": "alice"})),
        "envelope with ~100k unknown keys": fill(
            lambda n: envelope("hello", {"name": "alice"}) | {f"k{i}": 0 for i in range(n)}),
        "a 1 MiB meeting id": fill(lambda n: envelope("release", {"meeting_id": "x" * n, "round": 1})),
        "a name nested ~1M deep": nested(MAX_FRAME_BYTES - 100),
        "a sender nested 1,000 deep": nested(1000, "sender"),
        "a list of 100k maps in a field": fill(
            lambda n: envelope("meeting_failed", {"meeting_id": "m", "reason": [{"a": 1}] * n})),
        f"{MAX_CANDIDATES:,} one-key maps in a field": msgpack.packb(
            envelope("meeting_failed", {"meeting_id": "m", "reason": [{"a": 1}] * MAX_CANDIDATES})),
        f"{MAX_CANDIDATES:,} ext values": msgpack.packb(
            envelope("hello", {"name": "alice", "accepted": [msgpack.ExtType(5, b"x")] * MAX_CANDIDATES})),
        "ext types everywhere": fill(
            lambda n: envelope("hello", {"name": "alice", "accepted": [msgpack.ExtType(5, b"x")] * n})),
        "declared length 2**32-1, no data": b"\xdd\xff\xff\xff\xff",
    }


def measure(frame: bytes, repeat: int) -> tuple[list[float], int, str]:
    def once() -> str:
        try:
            decode(frame)
            return "decoded"
        except DecodeError as exc:
            return f"refused: {str(exc)[:60]}"

    tracemalloc.start()
    verdict = once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    return times, peak, verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--smoke", action="store_true",
                        help="exit 0 whatever the times (CI checks that it runs; one timing on a busy "
                             "machine says nothing about the target)")
    args = parser.parse_args()
    table = Table(title=f"decode: median of {args.repeat} (min-max), peak extra memory; "
                        f"target {TIME_TARGET_S * 1000:g} ms and {MEMORY_TARGET_B >> 20} MB")
    for col in ("frame", "bytes", "ms (median)", "ms (min-max)", "peak MB", "verdict", "within target"):
        table.add_column(col)
    failures = 0
    for name, frame in cases().items():
        times, peak, verdict = measure(frame, args.repeat)
        median = statistics.median(times)
        ok = median <= TIME_TARGET_S and peak <= MEMORY_TARGET_B and len(frame) <= MAX_FRAME_BYTES
        failures += not ok
        table.add_row(name, f"{len(frame):,}", f"{median * 1000:.2f}",
                      f"{min(times) * 1000:.2f}-{max(times) * 1000:.2f}", f"{peak / 1e6:.1f}", verdict,
                      "yes" if ok else "[red]NO[/]")
    Console(soft_wrap=True).print(table)
    return 1 if failures and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
