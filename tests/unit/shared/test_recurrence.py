"""Recurring meetings: own ids per instance, limits (finer than hourly, too many occurrences)
refused, and errors that point at what was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slotwise.coordinator.plan import load_plan
from slotwise.shared.errors import ScenarioError
from tests.helpers import scenario_dict, write_scenario


def test_several_instances_a_day_get_their_own_ids(tmp_path: Path) -> None:
    data = scenario_dict({"a": {}}, [{"id": "standup", "duration_minutes": 15, "invitees": ["a"],
                                      "recurrence": "FREQ=DAILY;BYHOUR=9,14;COUNT=4"}], hours=(0, 72))
    _, plan = load_plan(write_scenario(tmp_path / "s.yaml", data))
    ids = [m.id for m in plan.meetings]
    assert ids == ["standup@2024-07-22T09:00", "standup@2024-07-22T14:00",
                   "standup@2024-07-23T09:00", "standup@2024-07-23T14:00"]
    assert len({m.title for m in plan.meetings}) == 4


@pytest.mark.parametrize("where, rule", [
    ("meetings", "FREQ=SECONDLY"),
    ("participants", "FREQ=MINUTELY"),
])
def test_recurrence_finer_than_hourly_is_a_validation_error(tmp_path: Path, where: str, rule: str) -> None:
    if where == "meetings":
        data = scenario_dict({"a": {}}, [{"id": "m", "duration_minutes": 15, "invitees": ["a"], "recurrence": rule}])
    else:
        window = {"rrule": rule, "start": "2024-07-22T09:00:00Z", "end": "2024-07-22T09:05:00Z"}
        data = scenario_dict({"a": {"available": [window]}}, [{"id": "m", "duration_minutes": 15, "invitees": ["a"]}])
    with pytest.raises(ScenarioError, match="more often than hourly"):
        load_plan(write_scenario(tmp_path / "s.yaml", data))


def test_too_many_occurrences_is_an_error_not_a_silent_cut(tmp_path: Path) -> None:
    data = scenario_dict({"a": {}}, [{"id": "m", "duration_minutes": 15, "invitees": ["a"],
                                      "recurrence": "FREQ=HOURLY"}], hours=(0, 24 * 60))
    with pytest.raises(ScenarioError, match="more than 1000 occurrences"):
        load_plan(write_scenario(tmp_path / "s.yaml", data))


def test_recurrence_errors_point_at_what_was_written(tmp_path: Any) -> None:
    from slotwise.shared.errors import ScenarioError
    from slotwise.shared.scenario import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(
        "name: r\nhorizon: {start: 2024-07-22T08:00:00Z, end: 2024-07-29T18:00:00Z}\n"
        "participants: {a: {}}\nmeetings:\n"
        "  - {id: ok, duration_minutes: 30, invitees: [a], recurrence: 'FREQ=DAILY;COUNT=3'}\n"
        "  - {id: bad, duration_minutes: 30, invitees: [a], recurrence: 'FREQ=HOURLY;BYDAY=XX'}\n")
    import pytest

    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert f"{path}:6: meetings[1]: invalid recurrence 'FREQ=HOURLY;BYDAY=XX'" in info.value.render()
