"""The file schema enforces every limit the wire has: what `validate` accepts, the negotiation
can carry (a 600-character name, or a recurring id whose occurrences outgrow the wire's 128,
once passed `validate` and stopped the core)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from slotwise.coordinator.plan import compile_submission, load_plan
from slotwise.shared.errors import ScenarioError
from slotwise.shared.scenario import load_scenario
from tests.helpers import scenario_dict, write_scenario
from tests.unit.fakenet import FakeNetwork

DAILY = "FREQ=DAILY;COUNT=2"


def _meeting(**fields: Any) -> dict[str, Any]:
    return {"id": "m", "duration_minutes": 30, "invitees": ["a", "b"], **fields}


@pytest.mark.parametrize(("fields", "where", "said"), [
    ({"name": "n" * 501}, "meetings[0].name", "501 characters; at most 500"),
    ({"name": "n" * 495, "recurrence": DAILY}, "meetings[0].name", "at most 481 for a recurring meeting"),
    ({"id": "i" * 112, "recurrence": DAILY}, "meetings[0].id", "a recurring meeting's id has at most 111"),
    ({"id": "i" * 129}, "meetings[0].id", "at most 128"),
])
def test_what_the_wire_cannot_carry_is_refused_with_its_field(tmp_path: Path, fields: dict[str, Any],
                                                              where: str, said: str) -> None:
    data = scenario_dict({"a": {}, "b": {}}, [_meeting(**fields)], hours=(0, 48))
    with pytest.raises(ScenarioError, match=f"{re.escape(where)}: .*{re.escape(said)}"):
        load_plan(write_scenario(tmp_path / "s.yaml", data))
    ok = scenario_dict({"a": {}, "b": {}}, [], hours=(0, 48))
    scenario = load_scenario(write_scenario(tmp_path / "ok.yaml", ok))
    with pytest.raises(ScenarioError, match=re.escape(said)):  # and at serve's door, the same
        compile_submission(scenario, [_meeting(**fields)])


def test_the_longest_names_and_ids_allowed_negotiate_to_the_end(tmp_path: Path) -> None:
    data = scenario_dict({"a": {}, "b": {}}, [_meeting(id="i" * 111, name="n" * 481, recurrence=DAILY),
                                             _meeting(id="j" * 128, name="n" * 500)], hours=(0, 48))
    scenario, _ = load_plan(write_scenario(tmp_path / "s.yaml", data))
    decisions = FakeNetwork(scenario).run()
    assert len(decisions) == 3 and all(d.scheduled for d in decisions)


@pytest.mark.parametrize("field", ["id", "name"])
@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b", "a\x1bb"])
def test_control_characters_in_ids_and_titles_are_refused(tmp_path: Path, field: str, bad: str) -> None:
    data = scenario_dict({"a": {}, "b": {}}, [_meeting(**{field: bad})], hours=(0, 48))
    with pytest.raises(ScenarioError, match=re.escape(f"meetings[0].{field}")):
        load_plan(write_scenario(tmp_path / "s.yaml", data))
    ok = scenario_dict({"a": {}, "b": {}}, [], hours=(0, 48))
    scenario = load_scenario(write_scenario(tmp_path / "ok.yaml", ok))
    with pytest.raises(ScenarioError, match=re.escape(f"meetings[0].{field}")):
        compile_submission(scenario, [_meeting(**{field: bad})])
