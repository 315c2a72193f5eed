"""The CP-SAT solver against a brute-force optimum on small cases: meeting counts, attendance
subsets, gaps and daily caps. Skipped, with the reason, where the optimize extra is missing."""

from __future__ import annotations

import itertools
import random

import pytest

from slotwise.coordinator.placement.problem import Attendance, Option, Placement, Wanted
from slotwise.coordinator.placement.repair import greedy_with_repair
from slotwise.coordinator.placement.solver import optimize
from slotwise.shared.ids import AgentId, MeetingId

pytest.importorskip("ortools", reason="the optimizer needs the optimize extra (OR-Tools), not installed here")

PEOPLE = [AgentId(p) for p in "abcd"]


def random_instance(seed: int) -> list[Wanted]:
    rng = random.Random(seed)
    wanted = []
    for m in range(rng.randint(3, 6)):
        mid = MeetingId(f"m{m}")
        starts = rng.sample(range(0, 8 * 60, 60), rng.randint(1, 4))
        options = tuple(Option(mid, i, i, s, s + 60, tuple(sorted(rng.sample(PEOPLE, rng.randint(1, 3)))))
                        for i, s in enumerate(sorted(starts)))
        wanted.append(Wanted(mid, rng.randint(1, 3), options=options))
    return wanted


def _fits(option: Option, taken: dict[AgentId, list[tuple[int, int]]]) -> bool:
    return all(not (a < option.end and option.start < b) for who in option.attendees for a, b in taken.get(who, ()))


def brute_force(wanted: list[Wanted]) -> tuple[int, int, int]:
    weights = {w.id: w.weight for w in wanted}
    best = (0, 0, 0)
    for pick in itertools.product(*[(None, *w.options) for w in wanted]):
        taken: dict[AgentId, list[tuple[int, int]]] = {}
        ok = True
        for o in pick:
            if o is None:
                continue
            if not _fits(o, taken):
                ok = False
                break
            for who in o.attendees:
                taken.setdefault(who, []).append((o.start, o.end))
        if ok:
            p = Placement({w.id: o for w, o in zip(wanted, pick, strict=True) if o is not None})
            best = max(best, p.value(weights))
    return best


def assert_a_packing(found: Placement) -> None:
    """Nobody attending is in two of the chosen meetings at once."""
    taken: dict[AgentId, list[tuple[int, int]]] = {}
    for m, o in found.chosen.items():
        for who in found.attendees(m):
            assert all(not (a < o.end and o.start < b) for a, b in taken.get(who, ())), f"{who} in two places"
            taken.setdefault(who, []).append((o.start, o.end))


@pytest.mark.parametrize("seed", range(25))
def test_the_optimizer_finds_the_brute_force_optimum(seed: int) -> None:
    wanted = random_instance(seed)
    weights = {w.id: w.weight for w in wanted}
    found = optimize(wanted, time_limit_s=5)
    assert found.value(weights) == brute_force(wanted)
    assert found.value(weights) >= greedy_with_repair(wanted).value(weights)
    assert_a_packing(found)  # and what it chose is a packing


def flexible_instance(seed: int) -> list[Wanted]:
    """Options whose rule accepts any `least` of their attendees, one of whom may be required."""
    rng = random.Random(seed)
    wanted = []
    for m in range(rng.randint(3, 5)):
        mid = MeetingId(f"m{m}")
        starts = sorted(rng.sample(range(0, 4 * 60, 30), rng.randint(1, 3)))
        options = []
        for i, start in enumerate(starts):
            people = tuple(sorted(rng.sample(PEOPLE, rng.randint(2, 4))))
            must = frozenset(rng.sample(people, 1)) if rng.random() < 0.3 else frozenset()
            options.append(Option(mid, i, i, start, start + 60, people,
                                  attendance=Attendance(rng.randint(1, len(people)), must)))
        wanted.append(Wanted(mid, rng.randint(1, 3), options=tuple(options)))
    return wanted


def brute_force_flexible(wanted: list[Wanted]) -> tuple[int, int, int]:
    """Every option, and every subset of its attendees the rule accepts."""
    weights = {w.id: w.weight for w in wanted}
    choices: list[list[tuple[Option, tuple[AgentId, ...]] | None]] = []
    for w in wanted:
        mine: list[tuple[Option, tuple[AgentId, ...]] | None] = [None]
        for o in w.options:
            assert o.attendance is not None
            for k in range(o.attendance.least, len(o.attendees) + 1):
                mine += [(o, sub) for sub in itertools.combinations(o.attendees, k) if o.attendance.must <= set(sub)]
        choices.append(mine)
    best = (0, 0, 0)
    for pick in itertools.product(*choices):
        taken: dict[AgentId, list[tuple[int, int]]] = {}
        placed = Placement()
        for w, c in zip(wanted, pick, strict=True):
            if c is None:
                continue
            o, sub = c
            if any(a < o.end and o.start < b for who in sub for a, b in taken.get(who, ())):
                break
            for who in sub:
                taken.setdefault(who, []).append((o.start, o.end))
            placed.chosen[w.id], placed.attending[w.id] = o, sub
        else:
            best = max(best, placed.value(weights))
    return best


@pytest.mark.parametrize("seed", range(20))
def test_with_attendance_variables_the_optimizer_matches_brute_force_over_subsets(seed: int) -> None:
    wanted = flexible_instance(seed)
    weights = {w.id: w.weight for w in wanted}
    found = optimize(wanted, time_limit_s=5)
    assert found.value(weights) == brute_force_flexible(wanted)
    assert_a_packing(found)  # of the people actually attending
    for m, o in found.chosen.items():  # each option's rule met
        who_comes = found.attendees(m)
        assert o.attendance is not None and len(who_comes) >= o.attendance.least
        assert o.attendance.must <= set(who_comes) <= set(o.attendees)


def test_leaving_someone_out_of_one_meeting_can_place_another() -> None:
    """x is free for both meetings at once; a needs any 1 of {x, y}, b needs x. Fixed attendee
    sets place one meeting; attendance variables place both, a without x."""
    x, y = AgentId("x"), AgentId("y")
    a, b = MeetingId("a"), MeetingId("b")
    wanted = [Wanted(a, 1, options=(Option(a, 0, 0, 0, 60, (x, y), attendance=Attendance(1)),)),
              Wanted(b, 1, options=(Option(b, 0, 0, 30, 90, (x,), attendance=Attendance(1)),))]
    found = optimize(wanted, 5)
    assert set(found.chosen) == {a, b}
    assert found.attendees(a) == (y,) and found.attendees(b) == (x,)


def test_min_gap_and_daily_caps_are_respected() -> None:
    a, b = MeetingId("a"), MeetingId("b")
    day = (AgentId("x"), __import__("datetime").date(2024, 7, 22))
    wanted = [Wanted(a, 1, gap=30, cap=1, options=(Option(a, 0, 0, 0, 60, (AgentId("x"),), (day,)),)),
              Wanted(b, 1, gap=30, cap=1, options=(Option(b, 0, 0, 60, 120, (AgentId("x"),), (day,)),))]
    assert len(optimize(wanted, 5).chosen) == 1  # the cap (and the gap) allow one of the two
    uncapped = [Wanted(w.id, 1, gap=0, options=w.options) for w in wanted]
    assert len(optimize(uncapped, 5).chosen) == 2
