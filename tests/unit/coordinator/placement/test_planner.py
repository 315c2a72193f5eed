"""The planner through the core: `optimize` places what greedy cannot and leaves someone out
where the rule allows; a refused hold re-plans its meeting; without OR-Tools it falls back to
the greedy walk with its repair pass, and says so."""

from __future__ import annotations

import itertools
import sys
from typing import Any

import pytest

from slotwise.coordinator.negotiation import Notice
from slotwise.shared.ids import AgentId, MeetingId
from tests.helpers import at, make_scenario
from tests.unit.fakenet import FakeNetwork


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
