"""The audit that checks a finished schedule from the results alone: a sound schedule passes,
and each broken promise (double booking, a rule not met, a slot outside free time) is named."""

from __future__ import annotations

from datetime import datetime

import pytest

from slotwise.coordinator.plan import compile_plan
from slotwise.report.audit import audit
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval
from tests.helpers import at, make_scenario

S = make_scenario({"a": {"available": [[at(9), at(12)]]}, "b": {}, "c": {}}, [
    {"id": "x", "duration_minutes": 60, "invitees": ["a", "b"]},
    {"id": "y", "duration_minutes": 60, "invitees": ["b", "c"]},
])


def placed(mid: str, start: float, *who: str) -> Decision:
    when = Interval(datetime.fromisoformat(at(start)), datetime.fromisoformat(at(start + 1)))
    return Decision.placed(MeetingId(mid), when, tuple(AgentId(w) for w in who), 2)


def test_a_sound_schedule_passes() -> None:
    assert audit(S, compile_plan(S), [placed("x", 9, "a", "b"), placed("y", 10, "b", "c")]) == []


@pytest.mark.parametrize("outcomes, problem", [
    ([placed("x", 9, "a", "b"), placed("y", 9, "b", "c")], "b is double-booked: y overlaps x"),
    ([placed("x", 13, "a", "b"), placed("y", 10, "b", "c")], "x: a is not free then"),
    ([placed("x", 9, "a"), placed("y", 10, "b", "c")], "x breaks its rule: had 1 of 2 required (a)"),
    ([placed("x", 9, "a", "b"), placed("y", 10, "b", "a")], "y: a was not invited"),
    ([placed("x", 9, "a", "b")], "y was never decided"),
    ([placed("x", 9, "a", "b"), Decision(id="y", scheduled=False, round_trips=1)], "y was not placed and gives no reason"),
])
def test_each_broken_rule_is_caught(outcomes: list[Decision], problem: str) -> None:
    assert problem in audit(S, compile_plan(S), outcomes)
