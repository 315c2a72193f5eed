"""placement: optimize: against a brute-force optimum on small cases, through the core, and
without OR-Tools (falls back to the greedy walk with its repair pass, and says so)."""

from __future__ import annotations

import itertools
import random
import sys
from typing import Any

import pytest

from slotwise.coordinator.negotiation import Notice
from slotwise.coordinator.placement.problem import Attendance, Option, Placement, Wanted
from slotwise.coordinator.placement.repair import greedy_with_repair
from slotwise.coordinator.placement.solver import optimize
from slotwise.shared.ids import AgentId, MeetingId
from tests.helpers import at, make_scenario
from tests.unit.fakenet import FakeNetwork

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


def _crowded(placement: str) -> FakeNetwork:
    """a and b both need x; greedy gives a the earliest slot, the only one b can use."""
    scenario = make_scenario(
        {"x": {}, "y": {"available": [[at(9), at(11)]]}, "z": {"available": [[at(9), at(10)]]}},
        [{"id": "a", "duration_minutes": 60, "invitees": ["x", "y"]},
         {"id": "b", "duration_minutes": 60, "invitees": ["x", "z"]}],
        hours=(9, 11), slot=60, policies={"placement": placement})
    return FakeNetwork(scenario)


def test_through_the_core_optimize_places_what_greedy_cannot() -> None:
    greedy_run = {d.id: d for d in _crowded("greedy").run()}
    assert greedy_run["a"].scheduled and not greedy_run["b"].scheduled
    net = _crowded("optimize")
    optimized = {d.id: d for d in net.run()}
    assert optimized["a"].scheduled and optimized["b"].scheduled
    assert optimized["a"].start != optimized["b"].start  # x is never in two places
    assert any(isinstance(a, Notice) and "plans 2 of 2" in a.text for a in net.actions)


def test_without_ortools_it_falls_back_to_the_repaired_greedy_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ortools.sat.python", None)  # as if the extra were not installed
    net = _crowded("optimize")
    got = {d.id: d for d in net.run()}
    # The greedy walk places a alone; its repair pass moves a to 10:00 to make room for b.
    assert got["a"].scheduled and got["b"].scheduled
    assert (got["a"].start.isoformat(), got["b"].start.isoformat()) == (at(10), at(9))
    warning, plan = [a for a in net.actions if isinstance(a, Notice)]
    assert warning.warning and "pip install 'slotwise[optimize]'" in warning.text
    assert "plans 2 of 2" in plan.text and "greedy with repair" in plan.text


def _fill_at_first_hold(net: FakeNetwork, who: str) -> list[Any]:
    """`who`'s calendar fills at the time of the first hold it is sent, after it answered, so
    that hold is refused. Returns the list the refused hold is put in."""
    from slotwise.participant.calendar import Commitment
    from slotwise.shared.slots import Interval

    refused: list[Any] = []

    def deliver(sender: str, recipient: str, body: Any) -> bool:
        if type(body).__name__ == "Hold" and recipient == who and not refused:
            refused.append(body)
            agent = net.agents[AgentId(who)]
            agent.calendar.accepted[MeetingId("other")] = Commitment(MeetingId("other"), Interval(body.start, body.end), 0)
        return True

    net.deliver = deliver
    return refused


def test_a_refused_hold_sends_the_meeting_on_and_the_schedule_stays_valid() -> None:
    net = _crowded("optimize")
    refused = _fill_at_first_hold(net, "z")  # z's hold at 09:00
    got = {d.id: d for d in net.run()}
    assert refused
    placed = [d for d in got.values() if d.scheduled]
    for d1, d2 in itertools.combinations(placed, 2):  # nobody double-booked
        assert not (set(d1.participants) & set(d2.participants)) or d1.end <= d2.start or d2.end <= d1.start
    assert got["a"].scheduled  # the other meeting is untouched by b's refusal


def _shared(placement: str) -> FakeNetwork:
    """One slot, 09:00. a needs any one of x and y, b needs x: the walk holds both x and y for a
    (everyone free comes), and b, needing x at the same hour, fails. The plan sends y to a and x
    to b, and the walk's first hold for a asks y alone."""
    scenario = make_scenario(
        {"x": {}, "y": {}},
        [{"id": "a", "duration_minutes": 60, "invitees": ["x", "y"], "min_participants": 1, "priority": 1},
         {"id": "b", "duration_minutes": 60, "invitees": ["x"]}],
        hours=(9, 10), slot=60, policies={"placement": placement})
    return FakeNetwork(scenario)


def test_through_the_core_the_plan_leaves_someone_out_to_place_another_meeting() -> None:
    greedy_run = {d.id: d for d in _shared("greedy").run()}
    assert greedy_run["a"].attendees == ("x", "y") and not greedy_run["b"].scheduled
    got = {d.id: d for d in _shared("optimize").run()}
    assert got["a"].scheduled and got["a"].attendees == ("y",)
    assert got["b"].scheduled and got["b"].attendees == ("x",)


def _refusal_ahead_of_a_plan(placement: str) -> tuple[dict[str, Any], list[Any]]:
    """Slots 09, 10, 11. b (x, z) can only go at 10: z is free then alone. a (x, y, higher
    priority) is planned at 09, but y's calendar fills at 09 after answering, so a's hold there
    is refused. Walking on, a's next choice is 10 (its preference, earliest), which takes x from
    b; re-planned, a goes to 11 and b keeps its planned 10."""
    scenario = make_scenario(
        {"x": {}, "y": {}, "z": {"available": [[at(10), at(11)]]}},
        [{"id": "a", "duration_minutes": 60, "invitees": ["x", "y"], "priority": 2},
         {"id": "b", "duration_minutes": 60, "invitees": ["x", "z"], "priority": 1}],
        hours=(9, 12), slot=60, policies={"placement": placement})
    net = FakeNetwork(scenario)
    refused = _fill_at_first_hold(net, "y")
    return {d.id: d for d in net.run()}, refused


def test_a_refused_hold_re_plans_its_meeting_around_the_rest_of_the_plan() -> None:
    got, refused = _refusal_ahead_of_a_plan("optimize")
    assert refused and refused[0].start.hour == 9
    assert got["a"].scheduled and got["a"].start.isoformat() == at(11)
    assert got["b"].scheduled and got["b"].start.isoformat() == at(10)
    walked, _ = _refusal_ahead_of_a_plan("greedy")  # the walk alone: a takes 10, b has nowhere
    assert walked["a"].start.isoformat() == at(10) and not walked["b"].scheduled
