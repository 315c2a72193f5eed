"""Compiling the stored requests again when the service starts.

A stored request that no longer compiles (a limit this version enforces at the door, say) must
not stop the service from starting: a slice that fails is compiled a request at a time, and one
that fails alone is left out, kept in the store as it was, and said so: the first few named with
their reasons, the rest counted in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.shared.errors import ScenarioError

if TYPE_CHECKING:
    from loguru import Logger

NAMED_LEFT_OUT = 3  # stored requests that no longer compile named one by one; the rest counted
RESTORE_SLICE = 500  # stored requests compiled at once, as requests were

Compile = Callable[[list[Any]], Sequence[MeetingSpec]]


def compile_stored(requests: Sequence[tuple[str, Any]], compile_bodies: Compile, log: Logger) -> list[MeetingSpec]:
    """Every occurrence of the stored `(request id, body)` pairs that still compiles."""
    specs: list[MeetingSpec] = []
    left_out: list[str] = []
    for i in range(0, len(requests), RESTORE_SLICE):
        chunk = requests[i:i + RESTORE_SLICE]
        try:
            specs += compile_bodies([body for _, body in chunk])
        except ScenarioError:
            specs += _compile_each(compile_bodies, chunk, left_out, log)
    if len(left_out) > NAMED_LEFT_OUT:
        log.error("{} more stored requests left out, for reasons like those above ({} of {} restored)",
                  len(left_out) - NAMED_LEFT_OUT, len(requests) - len(left_out), len(requests))
    return specs


def _compile_each(compile_bodies: Compile, chunk: Sequence[tuple[str, Any]], left_out: list[str],
                  log: Logger) -> list[MeetingSpec]:
    kept: list[MeetingSpec] = []
    for request_id, body in chunk:
        try:
            kept += compile_bodies([body])
        except ScenarioError as exc:
            left_out.append(request_id)
            if len(left_out) <= NAMED_LEFT_OUT:
                log.error("stored request {} is left out, it no longer compiles: {}", request_id,
                          "; ".join(p.message for p in exc.problems[:3])[:500])
    return kept
