"""The compiled plan: a rule's minimum is the one enforced and reported, and every occurrence
of a recurring meeting is placed and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.coordinator.outcome import RunResult, RunStats
from slotwise.coordinator.plan import compile_plan, load_plan
from slotwise.report.audit import audit
from slotwise.report.results import Results
from slotwise.shared.errors import ScenarioError
from tests.helpers import at, make_scenario, scenario_dict, write_scenario
from tests.unit.fakenet import FakeNetwork, run_audited, t


def test_a_rule_minimum_is_what_is_enforced_and_reported() -> None:
    # The rule says 2 of 3; the meeting says nothing. Placed with 2, and reported as needing 2.
    s = make_scenario({"a": {}, "b": {}, "c": {"busy": [["2024-07-22T00:00:00Z", "2024-07-23T00:00:00Z"]]}},
                      [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b", "c"],
                        "rule": {"min_participants": 2}}])
    net = FakeNetwork(s)
    (d,) = net.run()
    assert d.scheduled and d.participants == ("a", "b")
    doc = Results.build(net.plan, RunResult([d], ("a", "b", "c"), (), RunStats())).document()
    assert doc["meetings"][0]["min_participants"] == 2
    assert list(doc["meetings"][0])[:7] == ["id", "name", "scheduled", "start", "end", "participants", "reason"]






def test_every_occurrence_of_a_recurring_meeting_is_placed_and_checked() -> None:
    # Mondays 22 Jul - 12 Aug. b is away on the third Monday; on the second, a one-off meeting
    # with higher priority takes 09:00, so that occurrence must move, not double-book.
    people = {"a": {"available": [[at(9 + 24 * 7 * w), at(12 + 24 * 7 * w)] for w in range(4)]},
              "b": {"busy": [[at(0, 14), at(24, 14)]]}}
    meetings = [
        {"id": "sync", "duration_minutes": 60, "invitees": ["a", "b"], "recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=4"},
        {"id": "one-off", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 5,
         "not_before": at(0, 7), "not_after": at(24, 7)},
    ]
    s, out = run_audited(people, meetings, hours=(0, 24 * 22))
    plan = compile_plan(s)
    ids = [m.id for m in plan.meetings]
    assert ids == ["sync@2024-07-22", "sync@2024-07-29", "sync@2024-08-05", "sync@2024-08-12", "one-off"]
    assert all(m.series == "sync" for m in plan.meetings[:4])
    assert out["sync@2024-07-22"].when.start == t(9)
    assert out["one-off"].when.start == t(9, 7)
    assert out["sync@2024-07-29"].when.start == t(10, 7)  # moved past the one-off
    assert not out["sync@2024-08-05"].scheduled and "b unavailable in all candidate slots" in out["sync@2024-08-05"].reason
    assert out["sync@2024-08-12"].when.start == t(9, 21)


@pytest.mark.parametrize("first", [0, 1])
def test_ids_are_unique_after_expansion_whichever_comes_first(tmp_path: Path, first: int) -> None:
    plain = {"id": "x@2024-07-22", "duration_minutes": 30, "invitees": ["a", "b"]}
    daily = {"id": "x", "duration_minutes": 30, "invitees": ["a", "b"],
             "recurrence": "FREQ=DAILY;COUNT=2"}
    meetings = [plain, daily] if first == 0 else [daily, plain]
    data = scenario_dict({"a": {}, "b": {}}, meetings, hours=(0, 48))
    with pytest.raises(ScenarioError, match=r"meetings\[1\]\.id: .*'x@2024-07-22'.*meetings\[0\]"):
        load_plan(write_scenario(tmp_path / "s.yaml", data))


def test_the_audit_catches_two_decisions_under_one_id() -> None:
    s = make_scenario({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}])
    (d,) = FakeNetwork(s).run()
    assert audit(s, compile_plan(s), [d]) == []
    assert "m was decided twice (two meetings under one id)" in audit(s, compile_plan(s), [d, d])
