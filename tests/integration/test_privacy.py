"""Privacy modes over real processes and sockets: what the coordinator receives, and what the
results file says it could infer (docs/privacy.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.transport import AgentTransport
from slotwise.local import run_locally
from slotwise.report.audit import audit
from slotwise.shared.scenario import Scenario
from slotwise.shared.wire.codec import decode
from slotwise.shared.wire.messages import AvailabilityResponse, HoldReply, MaskedAvailability
from tests.helpers import random_scenario, write_scenario
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration


def _week(privacy: str) -> Scenario:
    return Scenario.model_validate({**random_scenario(11, 8, 10, days=2, slot=30), "privacy": privacy})


def test_in_counts_mode_no_frame_the_coordinator_receives_says_whether_anyone_is_free(
        monkeypatch: pytest.MonkeyPatch) -> None:
    frames: list[bytes] = []
    handle = AgentTransport._handle_one

    def recording(self: AgentTransport, identity: bytes, peer: str, payload: Any, deliver: Any) -> None:
        frames.append(bytes(payload.bytes))  # every frame, as it came off the socket
        handle(self, identity, peer, payload, deliver)

    monkeypatch.setattr(AgentTransport, "_handle_one", recording)
    scenario = _week("counts")
    plan = compile_plan(scenario)
    counted = run_locally(scenario, plan).result
    assert audit(scenario, plan, counted.decisions) == []
    bodies = [decode(f).body for f in frames]
    masked = [b for b in bodies if isinstance(b, MaskedAvailability)]
    assert masked, "no masked answers received"
    assert not any(isinstance(b, AvailabilityResponse) for b in bodies)
    assert all(b.available is None for b in bodies if isinstance(b, HoldReply))
    for b in masked:  # each answer alone is noise: 32-bit words, not zeros and ones
        words = [int.from_bytes(b.sums[k:k + 4], "little") for k in range(0, len(b.sums), 4)]
        assert max(words) > 1 << 16

    monkeypatch.setattr(AgentTransport, "_handle_one", handle)
    full = run_locally(_week("full"), compile_plan(_week("full"))).result
    # The same schedule as when the coordinator hears every answer, for far less revealed.
    assert sorted((d.id, d.when, d.attendees) for d in counted.decisions) == \
        sorted((d.id, d.when, d.attendees) for d in full.decisions)
    assert counted.privacy is not None and full.privacy is not None
    seen_counts, seen_full = counted.privacy["coordinator"], full.privacy["coordinator"]
    assert isinstance(seen_counts, dict) and isinstance(seen_full, dict)
    assert seen_counts["revealed"] < seen_full["revealed"]


def test_the_results_file_says_what_the_coordinator_could_infer(workdir: Path) -> None:
    path = write_scenario(workdir / "week.yaml", {**random_scenario(12, 5, 4, days=1, slot=30), "privacy": "incremental"})
    out = workdir / "results.json"
    done = run_cli("run", str(path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    privacy = json.loads(out.read_text())["stats"]["privacy"]
    assert privacy["modes"] == ["incremental"]
    seen = privacy["coordinator"]
    assert 0 < seen["revealed"] <= seen["max"] <= 1 and seen["beyond_schedule"] <= seen["revealed"]
    assert sorted(seen["per_person"]) == sorted(random_scenario(12, 5, 4, days=1)["participants"])
    assert 0 <= privacy["attendees"]["max"] <= 1


def test_counts_with_optimize_is_refused_at_the_door_naming_the_key(workdir: Path) -> None:
    data = {**random_scenario(12, 5, 4, days=1, slot=30), "privacy": "counts",
            "policies": {"placement": "optimize"}}
    done = run_cli("validate", str(write_scenario(workdir / "s.yaml", data)))
    assert done.returncode == 2
    assert "privacy" in done.stdout + done.stderr and "placement: optimize" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
