"""The policy registry: built-ins by kind, unknown names and bad options saying what is known,
third-party policies through their entry points."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from slotwise.coordinator.policies import registry
from slotwise.coordinator.policies.registry import available, load_policy
from slotwise.shared.errors import PolicyError
from tests.helpers import REPO, at, make_scenario
from tests.unit.fakenet import FakeNetwork


def test_every_kind_lists_its_builtins() -> None:
    assert available("rule") == ["min-participants", "quorum", "required-attendees", "roles"]
    assert available("priority") == ["earliest-deadline-first", "most-constrained-first", "priority-then-order"]
    assert available("slot_order") == ["earliest", "max-availability", "max-fairness"]
    assert available("silence") == ["count-as-no", "drop-from-quorum", "wait"]
    assert set(available("constraint")) == {"blackout-dates", "daily-cap", "min-gap", "time-of-day",
                                            "weekdays", "working-hours"}


def test_unknown_names_and_bad_options_say_what_is_known() -> None:
    with pytest.raises(PolicyError, match="unknown slot order policy 'latest'; known: earliest, max-availability"):
        load_policy("slot_order", "latest")
    with pytest.raises(PolicyError, match="unknown rule policy 'earliest'"):
        load_policy("rule", "earliest")  # a real name, of another kind
    with pytest.raises(PolicyError, match="min-gap: minutes: Input should be greater than or equal to 1"):
        load_policy("constraint", {"min-gap": {"minutes": 0}})
    with pytest.raises(PolicyError, match="a policy is a name"):
        load_policy("constraint", {"min-gap": 1, "weekdays": 2})  # type: ignore[dict-item]


def test_third_party_policy_loads_through_its_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example plug-in in examples/, found the way pip-installed packages are: by metadata."""
    dist = tmp_path / "slotwise_no_lunch-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: slotwise-no-lunch\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[slotwise.policies]\nno-lunch = slotwise_no_lunch:NoLunch\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(REPO / "examples" / "slotwise_no_lunch"))
    registry._plugins.cache_clear()
    try:
        assert "no-lunch" in available("constraint")
        people = {"a": {"timezone": "Asia/Tokyo"}, "b": {}}
        s = make_scenario(people, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b"]}],
                          hours=(3, 6), policies={"constraints": [{"no-lunch": {}}]})  # from 12:00 Tokyo
        (o,) = FakeNetwork(s).run()
        assert o.when is not None and o.when.start == datetime.fromisoformat(at(4))  # 13:00 in Tokyo
    finally:
        registry._plugins.cache_clear()
