"""Policies as a scenario names them: errors carry field paths, and shorthands resolve to the
policy they stand for."""

from __future__ import annotations

from slotwise.coordinator.plan import _compile, compile_plan
from slotwise.coordinator.policies.rules import RequiredAttendees
from tests.helpers import make_scenario


def test_scenario_policy_errors_carry_field_paths() -> None:
    s = make_scenario({"a": {}, "b": {}}, [
        {"id": "m", "duration_minutes": 30, "invitees": ["a", "b"], "constraints": ["weekday"]},
        {"id": "n", "duration_minutes": 30, "invitees": ["a", "b"], "constraints": ["weekdays"]}])
    problems = dict(_compile(s)[1])
    said = problems[("meetings", 0, "constraints", 0)]
    assert "unknown constraint policy 'weekday' (did you mean 'weekdays'?); known: blackout-dates" in said
    s = make_scenario({"a": {}, "b": {}}, [
        {"id": "m", "duration_minutes": 30, "invitees": ["a", "b"], "rule": {"required": ["zed"]}}])
    assert dict(_compile(s)[1])[("meetings", 0, "rule")] == "required 'zed' is not invited"


def test_rule_shorthand_from_the_issue_is_required_attendees() -> None:
    s = make_scenario({n: {} for n in "abc"}, [
        {"id": "design-review", "duration_minutes": 30, "invitees": ["a", "b", "c"],
         "rule": {"required": ["a"], "min_participants": 3}}])
    rule = compile_plan(s).meetings[0].policies.rule
    assert isinstance(rule, RequiredAttendees) and rule.options.required == ["a"]
