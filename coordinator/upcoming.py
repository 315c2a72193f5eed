"""A live service never offers a slot that has already begun (unless `--allow-past`): what is
asked of the agents is cut to the future each time a meeting is negotiated, with the reason kept
for `explain`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.shared.slots import SlotGrid


def upcoming(spec: MeetingSpec, grid: SlotGrid, wall: datetime, *, allow_past: bool = False,
             exclude: datetime | None = None) -> MeetingSpec:
    """`spec` with only candidates that have not begun by `wall` (all, with `allow_past`), and
    not the one starting at `exclude` (where a meeting being moved is now)."""
    if allow_past and exclude is None:
        return spec
    why: dict[int, str] = {}
    for c in spec.candidates:
        if grid.start(c) == exclude:
            why[c] = "where it is now"
        elif not allow_past and grid.start(c) < wall:
            why[c] = "already begun"
    if not why:
        return spec
    return replace(spec, candidates=tuple(c for c in spec.candidates if c not in why),
                   excluded_at=MappingProxyType({**spec.excluded_at, **why}))
