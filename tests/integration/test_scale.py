"""Agent hosts at scale, and under a saturated CPU: slow is never dead.

The negotiation core is deterministic given the answers, and every agent's answers are a pure
function of its calendar, so a run that loses nobody and re-asks nothing must decide exactly
what the fake network decides in-process. That is the reference these tests hold real runs to.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from slotwise.coordinator.plan import compile_plan
from slotwise.local import LocalRun, run_locally
from slotwise.report.audit import audit, disagreements
from slotwise.shared.decision import Decision
from slotwise.shared.scenario import Scenario, load_scenario
from tests.helpers import REPO
from tests.unit.fakenet import FakeNetwork

pytestmark = pytest.mark.integration


def _outcome(decisions: list[Decision]) -> dict[str, tuple[object, ...]]:
    return {d.id: (d.scheduled, d.start, d.attendees) for d in decisions}


def _reference(scenario: Scenario) -> dict[str, tuple[object, ...]]:
    return _outcome(FakeNetwork(scenario).run())


def _check(scenario: Scenario, local: LocalRun) -> None:
    plan = compile_plan(scenario)
    assert audit(scenario, plan, local.result.decisions) == []
    assert disagreements(local.result.decisions, local.records) == []
    assert local.result.missing == ()


@pytest.mark.parametrize("name", ["policies-time.yaml", "policies-rules.yaml", "calendars.yaml"])
def test_one_host_of_mixed_zones_and_policies_decides_what_separate_processes_do(name: str) -> None:
    scenario = load_scenario(REPO / "scenarios" / name)
    hosted = run_locally(scenario, hosts=1)
    separate = run_locally(scenario, hosts=0)
    _check(scenario, hosted)
    assert _outcome(hosted.result.decisions) == _outcome(separate.result.decisions) == _reference(scenario)


def test_a_thousand_agents_in_two_hosts() -> None:
    scenario = Scenario.model_validate(_week(1000, 2000, seed=5))
    local = run_locally(scenario, hosts=2, coordinator_timeout_s=120)
    _check(scenario, local)
    assert local.result.stats.resends == 0
    assert _outcome(local.result.decisions) == _reference(scenario)
    # Fan-out: a decision reaches only its invitees' hosts, once each; nothing goes to everyone
    # but heartbeats. Requests, holds and announcements stay well under one message per invitee.
    per_meeting = local.result.stats.sent / len(scenario.meetings)
    assert per_meeting < 12, per_meeting


@pytest.fixture
def saturated_cpu() -> Iterator[None]:
    """Busy processes beside the run, twice as many as there are cores (killed by pid)."""
    import os

    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 * (os.cpu_count() or 1))]
    try:
        yield
    finally:
        for p in burners:
            p.kill()
        for p in burners:
            p.wait(timeout=10)


def test_a_saturated_cpu_slows_the_run_but_loses_nobody(saturated_cpu: None) -> None:
    # Short deadlines on purpose: 0.1 s heartbeats (lost after 0.4 s of silence), 0.3 s replies.
    data = _week(400, 800, seed=6)
    data["negotiation"] = {"join_timeout_s": 60, "response_timeout_s": 0.3, "hold_timeout_s": 0.3, "heartbeat_s": 0.1}
    scenario = Scenario.model_validate(data)
    local = run_locally(scenario, hosts=2, coordinator_timeout_s=120)
    _check(scenario, local)
    # Every meeting that fits is placed, exactly where an unhurried run places it.
    assert _outcome(local.result.decisions) == _reference(scenario)


def test_two_thousand_agents_in_hosts_on_a_saturated_cpu_with_the_default_deadlines(saturated_cpu: None) -> None:
    # The scenario's own deadlines (join 10 s, heartbeats 0.5 s, replies 2 s), the CPU taken by
    # twice as many spinning processes as cores: slower, and the same schedule, nobody lost.
    from slotwise.synthetic import synthetic_scenario

    scenario = Scenario.model_validate(synthetic_scenario(8, 2000, 4000))
    local = run_locally(scenario, hosts=2, coordinator_timeout_s=120)
    _check(scenario, local)
    assert local.result.stats.lost == 0
    assert _outcome(local.result.decisions) == _reference(scenario)


def _week(people: int, meetings: int, seed: int) -> dict[str, object]:
    from slotwise.synthetic import synthetic_scenario

    data = synthetic_scenario(seed, people, meetings)
    data["negotiation"] = {"join_timeout_s": 60}
    return data


def test_hosts_zero_keeps_one_process_per_participant() -> None:
    from slotwise.participant.launch import host_groups

    names = [f"p{i}" for i in range(7)]
    assert host_groups(names, 0) == {n: [n] for n in names}
    groups = host_groups(names, 3)
    assert list(groups) == ["host0", "host1", "host2"]
    assert [len(g) for g in groups.values()] == [3, 2, 2]
    assert [n for g in groups.values() for n in g] == names
    assert host_groups(names[:2], 5) == {"host0": ["p0"], "host1": ["p1"]}
