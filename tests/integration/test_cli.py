"""`slotwise` as a user runs it: a subprocess, exit codes, output files."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path

import pytest

from slotwise.shared.scenario import load_scenario
from tests.helpers import REPO, at, random_scenario, scenario_dict, write_scenario
from tests.integration.conftest import Children, check_results, run_cli

pytestmark = pytest.mark.integration
TUTORIAL = REPO / "scenarios" / "tutorial.yaml"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_tutorial_outcome_and_results_file(transport: str, workdir: Path) -> None:
    out = workdir / "results.json"
    done = run_cli("run", str(TUTORIAL), "--transport", transport, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Team Sync" in done.stdout and "2 scheduled, 0 not placed" in done.stdout
    doc = json.loads(out.read_text())
    check_results(load_scenario(TUTORIAL), doc)
    sync = doc["meetings"][0]
    assert (sync["id"], sync["name"], sync["scheduled"]) == ("team-sync", "Team Sync", True)
    assert (sync["start"], sync["end"]) == ("2024-07-21T10:00:00+00:00", "2024-07-21T11:00:00+00:00")
    assert sync["participants"] == ["alice", "bob", "charlie"] and sync["reason"] is None
    assert doc["meetings"][1]["participants"] == ["alice", "charlie"]
    stats = doc["stats"]
    assert stats["rounds"] == 4 and stats["round_trips_per_meeting"] == 2.0
    assert stats["messages"] > 0 and stats["elapsed_s"] > 0
    assert doc["participants"] == {"joined": ["alice", "bob", "charlie", "diana"], "missing": []}


def test_competing_meetings_never_double_book(workdir: Path) -> None:
    # Three one-hour meetings, the same three people, two free hours: one cannot be placed.
    window = {"available": [[at(9), at(11)]]}
    data = scenario_dict({"a": window, "b": window, "c": window}, [
        {"id": f"m{i}", "duration_minutes": 60, "invitees": ["a", "b", "c"], "min_participants": 2,
         "priority": i} for i in range(3)])
    path = write_scenario(workdir / "compete.yaml", data)
    out = workdir / "r.json"
    done = run_cli("run", str(path), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    check_results(load_scenario(path), doc)
    placed = {m["id"]: m for m in doc["meetings"] if m["scheduled"]}
    assert set(placed) == {"m2", "m1"}  # highest priority first
    (lost,) = [m for m in doc["meetings"] if not m["scheduled"]]
    assert "free only when already booked" in lost["reason"]


def test_twenty_four_participants(workdir: Path) -> None:
    path = write_scenario(workdir / "big.yaml", random_scenario(7, 24, 40, days=5, slot=15))
    out = workdir / "r.json"
    done = run_cli("run", str(path), "--out", str(out), "-q", timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    check_results(load_scenario(path), doc)
    assert doc["stats"]["scheduled"] >= 30  # a random week, mostly placeable
    assert doc["stats"]["round_trips_per_meeting"] <= 2.5
    assert len(doc["participants"]["joined"]) == 24


def test_validate_good_and_bad(workdir: Path) -> None:
    ok = run_cli("validate", str(TUTORIAL))
    assert ok.returncode == 0 and "ok: 4 participants, 2 meetings" in ok.stdout
    bad = workdir / "bad.yaml"
    bad.write_text(TUTORIAL.read_text().replace("duration_minutes: 60", "duration_minutes: sixty"))
    for cmd in ("validate", "run", "coordinator"):
        done = run_cli(cmd, str(bad))
        assert done.returncode == 2, (cmd, done.stderr)
        assert "Traceback" not in done.stderr
        assert f"{bad}:18: meetings[0].duration_minutes: Input should be a valid integer" in done.stderr


def test_unknown_file_is_bad_input(workdir: Path) -> None:
    done = run_cli("validate", str(workdir / "missing.yaml"))
    assert done.returncode == 2 and "cannot read" in done.stderr and "Traceback" not in done.stderr


def test_coordinator_refuses_an_open_address_without_insecure() -> None:
    done = run_cli("coordinator", str(TUTORIAL), "--bind", "tcp://0.0.0.0:7340")
    assert done.returncode == 2 and "--insecure" in done.stderr


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_coordinator_and_participants_as_separate_commands(transport: str, workdir: Path,
                                                           children: Children) -> None:
    """The multi-machine layout on one machine; agents start first, before the coordinator binds."""
    if transport == "tcp":
        pub, reply = _free_ports(2)
        address = f"tcp://127.0.0.1:{pub},tcp://127.0.0.1:{reply}"
    else:
        address = f"ipc://{workdir}/sw"
    scenario = load_scenario(TUTORIAL)
    agents = {n: children.participant(address, n, scenario=TUTORIAL) for n in scenario.participants}
    out = workdir / "r.json"
    coord = children.start([*__import__("tests.integration.conftest", fromlist=["SLOTWISE"]).SLOTWISE,
                            "coordinator", str(TUTORIAL), "--bind", address, "--out", str(out), "-q"],
                           "coordinator")
    assert coord.wait(timeout=60) == 0, children.log("coordinator")
    for name, proc in agents.items():
        assert proc.wait(timeout=30) == 0, children.log(name)
    doc = json.loads(out.read_text())
    check_results(scenario, doc)
    for m in doc["meetings"]:
        for who in m["participants"]:
            accepted = {a["id"]: a for a in children.record(who)["accepted"]}
            assert accepted[m["id"]]["start"] == m["start"]


def test_explain_shows_the_reasoning_for_one_meeting(workdir: Path) -> None:
    done = run_cli("explain", str(TUTORIAL), "team-sync", "-q")
    assert done.returncode == 0, done.stderr
    assert "Team Sync (team-sync): scheduled Sun 21 Jul 10:00-11:00 (UTC) with alice, bob, charlie" in done.stdout
    assert "chosen" in done.stdout and "had 2 of 3 required" in done.stdout
    tokyo = run_cli("explain", str(TUTORIAL), "team-sync", "-q", "--tz", "Asia/Tokyo")
    assert "scheduled Sun 21 Jul 19:00-20:00 (Asia/Tokyo)" in tokyo.stdout and "Sun 21 Jul 19:00" in tokyo.stdout
    shown = run_cli("run", str(TUTORIAL), "--tz", "Asia/Tokyo")
    assert shown.returncode == 0 and "meetings placed (Asia/Tokyo)" in shown.stdout, shown.stderr
    assert "Sun 21 Jul 19:00-20:00" in shown.stdout
    nowhere = run_cli("run", str(TUTORIAL), "--tz", "Mars/Olympus")
    assert nowhere.returncode == 2 and "--tz: no time zone 'Mars/Olympus'" in nowhere.stderr
    unknown = run_cli("explain", str(TUTORIAL), "nope", "-q")
    assert unknown.returncode == 2 and "no meeting 'nope'; meetings: team-sync, project-review" in unknown.stderr


def test_generate_writes_a_valid_seeded_scenario(workdir: Path) -> None:
    first, second = workdir / "a.yaml", workdir / "b.yaml"
    for path in (first, second):
        assert run_cli("generate", "--people", "7", "--meetings", "9", "--seed", "4", "--out", str(path)).returncode == 0
    assert first.read_text() == second.read_text()  # same seed, same scenario
    s = load_scenario(first)
    assert len(s.participants) == 7 and len(s.meetings) == 9
    today = workdir / "today.yaml"
    done = run_cli("generate", "--start", "today", "--timezone", "Asia/Tokyo", "--days", "2", "--out", str(today))
    assert done.returncode == 0, done.stderr
    t = load_scenario(today)
    from zoneinfo import ZoneInfo

    assert t.timezone == "Asia/Tokyo"
    assert t.horizon.start.astimezone(ZoneInfo("Asia/Tokyo")).date() == datetime.now(ZoneInfo("Asia/Tokyo")).date()
    bad = run_cli("generate", "--timezone", "Mars/Olympus")
    assert bad.returncode == 2 and "--timezone: no time zone 'Mars/Olympus'" in bad.stderr


@pytest.mark.parametrize("args, said", [
    (["run", "{tutorial}", "--out", "{w}/no/such/folder/out.json"],
     "--out {w}/no/such/folder/out.json: no folder {w}/no/such/folder"),
    (["run", "{tutorial}", "--ics-out", "{w}/a-file"], "--ics-out {w}/a-file: is a file, not a folder"),
    (["participant", "--connect", "tcp://127.0.0.1:9", "--name", "ann", "--name", "ben",
      "--record", "{w}/a-file"], "--record {w}/a-file: is a file, not a folder"),
    (["serve", "{tutorial}", "--admin", "ipc://{w}/admin", "--store", "{w}/no/such/folder/state.db"],
     "--store {w}/no/such/folder/state.db: no folder {w}/no/such/folder"),
])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2_before_any_work(
        workdir: Path, args: list[str], said: str) -> None:
    (workdir / "a-file").write_text("")
    fill = {"w": str(workdir), "tutorial": str(REPO / "scenarios" / "tutorial.yaml")}
    done = run_cli(*[a.format(**fill) for a in args], timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"{args[0]}: {said.format(**fill)}"], done.stderr
    assert not (workdir / "no").exists()


def test_an_output_folder_is_created_at_start(workdir: Path) -> None:
    out = workdir / "new" / "ics"
    done = run_cli("run", str(REPO / "scenarios" / "tutorial.yaml"), "--ics-out", str(out), "-q", timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.is_dir() and any(out.glob("*.ics"))


def test_a_name_with_a_newline_is_refused_at_the_door_not_written_into_a_file(workdir: Path) -> None:
    keys = run_cli("keys", "generate", "evil\n", "--dir", str(workdir / "keys"), timeout=30)
    assert keys.returncode == 2 and "not a valid" in keys.stderr and "Traceback" not in keys.stderr
    assert not (workdir / "keys").exists() or not any((workdir / "keys").iterdir())
    agent = run_cli("participant", "--connect", f"ipc://{workdir}/nobody", "--name", "ana\n", timeout=30)
    assert agent.returncode == 2 and "Traceback" not in agent.stderr, agent.stderr
