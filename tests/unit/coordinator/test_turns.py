"""Turns: whose meeting walks next, checked against a full scan as meetings close and are added."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from slotwise.coordinator.turns import Turns


@dataclass(eq=False)
class _M:
    name: str
    people: tuple[str, ...]
    open: bool = True
    log: list[str] = field(default_factory=list)


def _turn_by_scan(order: list[_M]) -> list[_M]:
    """The definition: open, and no open meeting ahead of it shares anyone."""
    blocked: set[str] = set()
    ready = []
    for m in order:
        if m.open and blocked.isdisjoint(m.people):
            ready.append(m)
        if m.open:
            blocked.update(m.people)
    return ready


@pytest.mark.parametrize("seed", range(30))
def test_turns_agree_with_a_full_scan_as_meetings_close(seed: int) -> None:
    rng = random.Random(seed)
    people = [f"p{i}" for i in range(rng.randint(2, 12))]
    order = [_M(f"m{i}", tuple(rng.sample(people, rng.randint(1, min(4, len(people)))))) for i in range(30)]
    turns: Turns[_M] = Turns(lambda m: m.open, lambda m: m.people)
    turns.reset(order)
    told: set[_M] = set()  # ready() names a meeting once when its turn comes
    while any(m.open for m in order):
        told = {m for m in told | set(turns.ready()) if m.open}
        assert told == set(_turn_by_scan(order))
        # Close one of the meetings whose turn it is, as a walk would, and touch it.
        m = rng.choice(_turn_by_scan(order))
        m.open = False
        turns.touch(m)
    assert list(turns.ready()) == [] and len(turns) == 0


def test_a_meeting_appended_later_waits_behind_everyone_ahead() -> None:
    a, b = _M("a", ("x",)), _M("b", ("x", "y"))
    turns: Turns[_M] = Turns(lambda m: m.open, lambda m: m.people)
    turns.reset([a])
    turns.append(b)
    assert list(turns.ready()) == [a]
    a.open = False
    turns.touch(a)
    assert list(turns.ready()) == [b]
