"""Every shipped scenario through `slotwise run`, real processes, checked from the results file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from slotwise.shared.scenario import load_scenario
from tests.helpers import REPO
from tests.integration.conftest import check_results, run_cli

pytestmark = pytest.mark.integration
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))


def run(path: Path, workdir: Path) -> dict[str, Any]:
    out = workdir / "results.json"
    done = run_cli("run", str(path), "--out", str(out), "-q", timeout=120)
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    check_results(load_scenario(path), doc)
    return doc


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_runs_clean(path: Path, workdir: Path) -> None:
    doc = run(path, workdir)
    assert doc["stats"]["scheduled"] >= 1


def test_policy_rules_scenario(workdir: Path) -> None:
    by_id = {m["id"]: m for m in run(REPO / "scenarios/policies-rules.yaml", workdir)["meetings"]}
    assert "alice" in by_id["design-review"]["participants"]
    assert by_id["design-review"]["start"] == "2024-09-16T13:00:00+00:00"  # 14:00 London, when alice frees up
    assert len(by_id["town-hall"]["participants"]) >= 6


def test_policy_time_scenario(workdir: Path) -> None:
    by_id = {m["id"]: m for m in run(REPO / "scenarios/policies-time.yaml", workdir)["meetings"]}
    series = [m for m in by_id.values() if m["series"] == "atlantic-sync"]
    assert [m["id"] for m in series] == ["atlantic-sync@2024-10-22", "atlantic-sync@2024-10-29",
                                         "atlantic-sync@2024-11-05"]
    assert all(m["scheduled"] for m in series)
    bridge = by_id["pacific-bridge"]
    assert not bridge["scheduled"] and "outside working hours" in bridge["reason"]


def test_policy_priority_scenario(workdir: Path) -> None:
    by_id = {m["id"]: m for m in run(REPO / "scenarios/policies-priority.yaml", workdir)["meetings"]}
    assert by_id["visitor-tour"]["start"] == "2024-07-22T09:00:00+00:00"  # most constrained, placed first
    assert by_id["lead-sync"]["scheduled"]
    hosts = Counter(next(p for p in by_id[f"interview-{i}"]["participants"] if p.startswith("host"))
                    for i in range(1, 7))
    assert sum(hosts.values()) == 6 and max(hosts.values()) <= 3 and len(hosts) == 3
    assert len(by_id["team-lunch"]["participants"]) == 3  # the fullest slot, not the earliest


def test_calendar_file_scenario(workdir: Path) -> None:
    by_id = {m["id"]: m for m in run(REPO / "scenarios/calendars.yaml", workdir)["meetings"]}
    # 11:00 Berlin is free again: the appointment there is STATUS:CANCELLED.
    assert by_id["kickoff"]["start"] == "2024-10-21T09:00:00+00:00"
    # 09:30-10:00 Berlin is the daily stand-up; the one-on-one follows it.
    assert by_id["one-on-one"]["start"] == "2024-10-21T08:00:00+00:00"
