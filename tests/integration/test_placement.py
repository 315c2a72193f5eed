"""placement: optimize end to end: `slotwise run` on a crowded week, real agents over real
sockets, every promise checked from the results file alone, and the weight placed compared."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from slotwise.shared.scenario import load_scenario
from slotwise.synthetic import synthetic_scenario
from tests.integration.conftest import check_results, run_cli

pytestmark = pytest.mark.integration


def _run(workdir: Path, data: dict[str, Any], placement: Any, name: str) -> tuple[dict[str, Any], str]:
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**data, "policies": {**data.get("policies", {}), "placement": placement}}))
    out = workdir / f"{name}.json"
    done = run_cli("run", str(path), "--out", str(out), "-v", timeout=120)  # -v: the plan is logged
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    check_results(load_scenario(path), doc)
    return doc, done.stdout + done.stderr


def _weight(doc: dict[str, Any], data: dict[str, Any]) -> int:
    priority = {m["id"]: m.get("priority", 0) for m in data["meetings"]}
    lowest = min(priority.values())
    return sum(1 + priority[m["id"]] - lowest for m in doc["meetings"] if m["scheduled"])


@pytest.mark.skipif(importlib.util.find_spec("ortools") is None,
                    reason="optimize needs the optimize extra (OR-Tools), not installed here")
def test_on_a_crowded_week_optimize_and_repair_place_more_and_break_no_rule(workdir: Path) -> None:
    # 14 people, 56 meetings over two days: about eight meetings each, so not all fit.
    data = synthetic_scenario(115, 14, 56, days=2)
    greedy, _ = _run(workdir, data, "greedy", "greedy")
    repaired, log = _run(workdir, data, {"optimize": {"time_limit_s": 0}}, "repair")
    assert "greedy with repair" in log
    optimized, log = _run(workdir, data, {"optimize": {"time_limit_s": 3}}, "optimize")
    assert "placement: optimize plans" in log
    base = _weight(greedy, data)
    assert _weight(repaired, data) > base
    assert _weight(optimized, data) >= _weight(repaired, data)
    for doc in (greedy, repaired, optimized):
        assert all(m["reason"] for m in doc["meetings"] if not m["scheduled"])  # a reason for each
