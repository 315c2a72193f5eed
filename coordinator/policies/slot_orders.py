"""Slot orders: among the candidates, which one the walk tries first."""

from __future__ import annotations

from typing import ClassVar

from slotwise.coordinator.policies.base import Configured, Kind, MeetingFacts


class Earliest(Configured):
    kind: ClassVar[Kind] = "slot_order"
    needs_free_at: ClassVar[bool] = False

    def key(self, facts: MeetingFacts, index: int) -> tuple[object, ...]:
        return (index,)


class MaxAvailability(Configured):
    """The slot where the most invitees can come; the earliest among equals."""

    kind: ClassVar[Kind] = "slot_order"
    needs_free_at: ClassVar[bool] = True

    def key(self, facts: MeetingFacts, index: int) -> tuple[object, ...]:
        return (-len(facts.free_at[index]), index)


class MaxFairness(Configured):
    """The slot whose chosen attendees are the least booked so far: load spreads across a pool
    (with a `roles` group capped by `max`, each meeting goes to the least-booked member)."""

    kind: ClassVar[Kind] = "slot_order"
    needs_free_at: ClassVar[bool] = True

    def key(self, facts: MeetingFacts, index: int) -> tuple[object, ...]:
        chosen = facts.chosen_at[index]
        if not chosen:
            return (1, 0, index)
        return (0, max(facts.load.get(p, 0) for p in chosen), sum(facts.load.get(p, 0) for p in chosen), index)
