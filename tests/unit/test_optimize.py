"""placement: optimize: against a brute-force optimum on small cases, through the core, and
without OR-Tools (falls back to the greedy walk and says so)."""

from __future__ import annotations

import itertools
import random
import sys
from typing import Any

import pytest

from slotwise.coordinator.negotiation import Notice
from slotwise.coordinator.optimize import Option, Placement, Wanted, _fits, greedy, optimize
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


def brute_force(wanted: list[Wanted]) -> tuple[int, int, int]:
    weights = {w.id: w.weight for w in wanted}
    best = (0, 0, 0)
    for pick in itertools.product(*[(None, *w.options) for w in wanted]):
        taken: dict[AgentId, list[tuple[int, int]]] = {}
        ok = True
        for w, o in zip(wanted, pick, strict=True):
            if o is None:
                continue
            if not _fits(o, w.gap, taken, {}, None):
                ok = False
                break
            for who in o.attendees:
                taken.setdefault(who, []).append((o.start, o.end))
        if ok:
            p = Placement({w.id: o for w, o in zip(wanted, pick, strict=True) if o is not None})
            best = max(best, p.value(weights))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_the_optimizer_finds_the_brute_force_optimum(seed: int) -> None:
    wanted = random_instance(seed)
    weights = {w.id: w.weight for w in wanted}
    found = optimize(wanted, time_limit_s=5)
    assert found.value(weights) == brute_force(wanted)
    assert found.value(weights) >= greedy(wanted).value(weights)
    taken: dict[AgentId, list[tuple[int, int]]] = {}
    for w in wanted:  # and what it chose is a packing: nobody in two places at once
        o = found.chosen.get(w.id)
        if o is not None:
            assert _fits(o, 0, taken, {}, None)
            for who in o.attendees:
                taken.setdefault(who, []).append((o.start, o.end))


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


def test_without_ortools_it_falls_back_to_greedy_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ortools.sat.python", None)  # as if the extra were not installed
    net = _crowded("optimize")
    got = {d.id: d for d in net.run()}
    assert got["a"].scheduled and not got["b"].scheduled  # exactly the greedy walk's result
    [notice] = [a for a in net.actions if isinstance(a, Notice)]
    assert notice.warning and "pip install 'slotwise[optimize]'" in notice.text


def test_a_refused_hold_sends_the_meeting_on_and_the_schedule_stays_valid() -> None:
    net = _crowded("optimize")
    refused: list[Any] = []

    def deliver(sender: str, recipient: str, body: Any) -> bool:
        # z's calendar fills at 09:00 after it answered: its hold there is refused.
        if type(body).__name__ == "Hold" and recipient == "z" and not refused:
            refused.append(body)
            from slotwise.participant.calendar import Commitment
            from slotwise.shared.slots import Interval

            agent = net.agents[AgentId("z")]
            agent.calendar.accepted[MeetingId("other")] = Commitment(MeetingId("other"), Interval(body.start, body.end), 0)
        return True

    net.deliver = deliver
    got = {d.id: d for d in net.run()}
    assert refused
    placed = [d for d in got.values() if d.scheduled]
    for d1, d2 in itertools.combinations(placed, 2):  # nobody double-booked
        assert not (set(d1.participants) & set(d2.participants)) or d1.end <= d2.start or d2.end <= d1.start
    assert got["a"].scheduled  # the other meeting is untouched by b's refusal
