"""Separate processes on separate hosts (network namespaces where the machine allows it),
through the `slotwise_cluster` fixture that the package ships as a pytest plugin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from slotwise.shared.scenario import load_scenario
from slotwise.testing.harness import Cluster
from tests.helpers import REPO, random_scenario, write_scenario
from tests.integration.conftest import check_results

pytestmark = pytest.mark.integration
NETWORKS = ["loopback", "netns"]


def busy_week(tmp_path: Path, seed: int) -> Path:
    """Enough meetings, and short enough timeouts, to act in the middle of a negotiation."""
    data = random_scenario(seed, 6, 18, days=2, slot=30, join_timeout_s=20, response_timeout_s=0.6,
                           hold_timeout_s=0.6, heartbeat_s=0.2)
    return write_scenario(tmp_path / f"week{seed}.yaml", data)


def nothing_lost(cluster: Cluster, doc: dict[str, object], before: list[object]) -> None:
    by_id = {m["id"]: m for m in doc["meetings"]}  # type: ignore[attr-defined]
    for o in before:
        m = by_id[o.meeting_id]  # type: ignore[attr-defined]
        assert m["scheduled"] == o.scheduled  # type: ignore[attr-defined]
        if o.when is not None:  # type: ignore[attr-defined]
            assert m["start"] == o.when.start.isoformat()  # type: ignore[attr-defined]
            assert m["participants"] == list(o.attendees)  # type: ignore[attr-defined]


@pytest.mark.parametrize("network", NETWORKS)
def test_happy_path_across_hosts(network: str, slotwise_cluster: Callable[..., Cluster]) -> None:
    cluster = slotwise_cluster(REPO / "scenarios" / "tutorial.yaml", network=network)
    cluster.start()
    doc = cluster.wait(timeout_s=60)
    check_results(cluster.scenario, doc)
    assert [m["participants"] for m in doc["meetings"]] == [["alice", "bob", "charlie"], ["alice", "charlie"]]
    assert set(cluster.wait_participants(30).values()) == {0}
    for name in cluster.scenario.participants:
        accepted = {a["id"] for a in cluster.record(name)["accepted"]}
        assert accepted == {m["id"] for m in doc["meetings"] if name in m["participants"]}


@pytest.mark.parametrize("network", NETWORKS)
def test_host_cut_off_mid_negotiation(network: str, tmp_path: Path,
                                      slotwise_cluster: Callable[..., Cluster]) -> None:
    path = busy_week(tmp_path, 11)
    victim = "p002"
    cluster = slotwise_cluster(path, network=network, participant_args={victim: ["--reply-delay", "0.25"]})
    cluster.start()
    cluster.wait_for(lambda: len(cluster.decisions()) >= 2, 60, "two decisions")
    cluster.cut(victim)
    before = cluster.decisions()
    assert len(before) < len(cluster.scenario.meetings), "cut too late to test a cut"
    try:
        doc = cluster.wait(timeout_s=90)
    finally:
        cluster.restore(victim)
    check_results(load_scenario(path), doc)
    nothing_lost(cluster, doc, before)
    assert len(cluster.decisions()) == len(cluster.scenario.meetings)


@pytest.mark.parametrize("network", NETWORKS)
def test_coordinator_sigkill_and_resume_across_hosts(network: str, tmp_path: Path,
                                                     slotwise_cluster: Callable[..., Cluster]) -> None:
    path = busy_week(tmp_path, 12)
    # One slow agent paces the negotiation, so there is a "midway" to kill it in.
    slow = max(load_scenario(path).participants, key=lambda p: sum(p in m.invitees for m in load_scenario(path).meetings))
    cluster = slotwise_cluster(path, network=network, participant_args={slow: ["--reply-delay", "0.25"]})
    cluster.start()
    cluster.wait_for(lambda: len(cluster.decisions()) >= 3, 60, "three decisions")
    cluster.kill_coordinator()
    before = cluster.decisions()
    assert len(before) < len(cluster.scenario.meetings), "killed too late to test resuming"
    cluster.start_coordinator(resume=True)
    doc = cluster.wait(timeout_s=90)
    check_results(load_scenario(path), doc)
    nothing_lost(cluster, doc, before)
    assert set(cluster.wait_participants(60).values()) == {0}
    for name in cluster.scenario.participants:  # every agent agrees with the final schedule
        accepted = {a["id"]: a["start"] for a in cluster.record(name)["accepted"]}
        assert accepted == {m["id"]: m["start"] for m in doc["meetings"] if name in m["participants"]}


@pytest.mark.parametrize("network", NETWORKS)
def test_participant_restarted_mid_negotiation_rejoins_without_double_booking(
        network: str, tmp_path: Path, slotwise_cluster: Callable[..., Cluster]) -> None:
    path = busy_week(tmp_path, 13)
    scenario = load_scenario(path)
    busiest = max(scenario.participants, key=lambda p: sum(p in m.invitees for m in scenario.meetings))
    # Everyone answers slowly, so what is left once the busiest is killed outlasts a fresh
    # process's start (the run must not end before it can rejoin).
    slow = {p: ["--reply-delay", "0.25"] for p in scenario.participants}
    cluster = slotwise_cluster(path, network=network, participant_args=slow)
    cluster.start()
    # Once it holds a meeting, SIGKILL it and start a fresh process under the same name.
    cluster.wait_for(lambda: any(busiest in o.attendees for o in cluster.decisions()), 60,
                     f"a meeting with {busiest}")
    held_before = {o.meeting_id for o in cluster.decisions() if busiest in o.attendees}
    assert len(cluster.decisions()) < len(scenario.meetings), "restarted too late"
    cluster.restart_participant(busiest)
    doc = cluster.wait(timeout_s=90)
    check_results(scenario, doc)  # includes: nobody double-booked
    assert set(cluster.wait_participants(60).values()) == {0}
    final = {m["id"]: m["start"] for m in doc["meetings"] if busiest in m["participants"]}
    assert held_before <= set(final)
    # The fresh process learned what its predecessor had accepted, and everything since.
    accepted = {a["id"]: a["start"] for a in cluster.record(busiest)["accepted"]}
    assert accepted == final


# --- agent hosts: many agents per process, each host on its own network ----------------------

@pytest.mark.parametrize("network", NETWORKS)
def test_an_agent_host_cut_off_loses_all_its_agents_and_the_run_still_ends_validly(
        network: str, tmp_path: Path, slotwise_cluster: Callable[..., Cluster]) -> None:
    path = busy_week(tmp_path, 21)
    cluster = slotwise_cluster(path, network=network, agent_hosts=3, participant_args={"host0": ["--reply-delay", "0.1"]})
    assert len(cluster.groups) == 3 and all(len(names) == 2 for names in cluster.groups.values())
    cluster.start()
    cluster.wait_for(lambda: len(cluster.decisions()) >= 2, 60, "two decisions")
    victims = cluster.groups["host2"]
    cluster.cut("host2")
    before = cluster.decisions()
    assert len(before) < len(cluster.scenario.meetings), "cut too late to test a cut"
    try:
        doc = cluster.wait(timeout_s=90)
    finally:
        cluster.restore("host2")
    check_results(load_scenario(path), doc)
    nothing_lost(cluster, doc, before)
    decided_before = {o.meeting_id for o in before}
    late = [m for m in doc["meetings"] if m["id"] not in decided_before]
    # Both of the host's agents count as gone for what is decided after the cut (a hold they
    # confirmed just before it may still stand: those meetings were decided in the same breath).
    invited = [m for m in late if set(victims) & set(cluster.plan.by_id[m["id"]].invitees)]
    assert invited, "no meeting after the cut involved the host's agents"
    assert sum(bool(set(victims) & set(m["participants"])) for m in invited) <= 1


@pytest.mark.parametrize("network", NETWORKS)
def test_an_agent_host_killed_and_restarted_rejoins_and_relearns_its_meetings(
        network: str, tmp_path: Path, slotwise_cluster: Callable[..., Cluster]) -> None:
    # host0's agents (the first three) have a meeting of their own that goes first; host1's
    # answer slowly and have meetings of their own that must go one after another: what is
    # left once host0 is killed outlasts a fresh process's start. (The coordinator hears at
    # once that the old process ended and fails what needs its agents; the run must not end
    # before the new one can rejoin.)
    data = random_scenario(22, 6, 18, days=2, slot=30, join_timeout_s=20, response_timeout_s=3.0,
                           hold_timeout_s=3.0, heartbeat_s=0.2)
    data["meetings"].insert(0, {"id": "kickoff", "duration_minutes": 30, "invitees": ["p000", "p001", "p002"],
                                "priority": 10})
    data["meetings"] += [{"id": f"host1-{k}", "duration_minutes": 30, "invitees": ["p003", "p004", "p005"],
                          "min_participants": 2} for k in range(4)]
    path = write_scenario(tmp_path / "week22.yaml", data)
    scenario = load_scenario(path)
    cluster = slotwise_cluster(path, network=network, agent_hosts=2,
                               participant_args={"host0": ["--reply-delay", "0.15"],
                                                 "host1": ["--reply-delay", "1.0"]})
    cluster.start()
    hosted = cluster.groups["host0"]
    cluster.wait_for(lambda: any(set(hosted) & set(o.attendees) for o in cluster.decisions()), 60,
                     "a meeting with an agent of host0")
    held_before = {o.meeting_id for o in cluster.decisions() if set(hosted) & set(o.attendees)}
    assert len(cluster.decisions()) < len(scenario.meetings), "restarted too late"
    cluster.restart_participant("host0")  # SIGKILL, then a fresh process: no memory
    doc = cluster.wait(timeout_s=90)
    check_results(scenario, doc)  # includes: nobody double-booked
    assert set(cluster.wait_participants(60).values()) == {0}
    for name in hosted:  # every agent of the new process learned its meetings, old and new
        final = {m["id"]: m["start"] for m in doc["meetings"] if name in m["participants"]}
        accepted = {a["id"]: a["start"] for a in cluster.record(name)["accepted"]}
        assert accepted == final, name
    assert held_before <= {m["id"] for m in doc["meetings"] if m["scheduled"]}
