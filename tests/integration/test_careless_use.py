"""Careless use of the command line: each mistake is one clear line and the right exit code."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml

from slotwise.shared.scenario import load_scenario
from tests.helpers import REPO, scenario_dict, write_scenario
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration
TUTORIAL = REPO / "scenarios" / "tutorial.yaml"


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("coordinator", str(TUTORIAL), "--bind", f"tcp://127.0.0.1:{port}", "-q")
    assert done.returncode == 2
    assert f"cannot bind tcp://127.0.0.1:{port}: Address already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_binary_calendar_puts_no_control_characters_on_the_terminal(workdir: Path) -> None:
    (workdir / "cal.ics").write_bytes(bytes(range(256)) * 3)
    path = write_scenario(workdir / "s.yaml", scenario_dict(
        {"a": {"ics": ["cal.ics"]}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a"]}]))
    done = run_cli("validate", str(path))
    assert done.returncode == 2 and "cal.ics" in done.stderr
    assert all(c.isprintable() or c in "\n" for c in done.stderr), repr(done.stderr)
    assert len(done.stderr) < 1000


@pytest.mark.parametrize("flag, value", [("--people", "0"), ("--meetings", "-1"), ("--days", "0")])
def test_generate_refuses_sizes_its_own_validate_would_reject(flag: str, value: str) -> None:
    done = run_cli("generate", flag, value)
    assert done.returncode == 2 and f"{flag}: must be at least" in done.stderr and done.stdout == ""


def test_generate_writes_no_duplicate_busy_blocks(workdir: Path) -> None:
    out = workdir / "g.yaml"
    assert run_cli("generate", "--people", "40", "--meetings", "10", "--seed", "3", "--out", str(out)).returncode == 0
    for person in yaml.safe_load(out.read_text())["participants"].values():
        blocks = [tuple(b) for b in person["busy"]]
        assert len(blocks) == len(set(blocks))
    assert run_cli("validate", str(out)).returncode == 0


def test_verbose_logs_show_times_as_iso_strings(workdir: Path) -> None:
    done = run_cli("run", str(TUTORIAL), "-q", "-v")
    assert done.returncode == 0, done.stderr
    assert "scheduled team-sync at 2024-07-21T10:00:00+00:00" in done.stderr
    assert "datetime.datetime(" not in done.stderr


def test_cluster_resolves_relative_paths_against_the_callers_directory(workdir: Path) -> None:
    (workdir / "here").mkdir()
    (workdir / "here" / "s.yaml").write_text(TUTORIAL.read_text())
    done = run_cli("cluster", "here/s.yaml", "--workdir", "cw", "--out", "r.json", cwd=workdir, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (workdir / "cw" / "coordinator-1.log").exists()  # the folder it named still exists
    doc = json.loads((workdir / "r.json").read_text())
    assert [m["scheduled"] for m in doc["meetings"]] == [True, True]
    assert load_scenario(workdir / "here" / "s.yaml").name == doc["scenario"]


def test_run_lists_only_the_unplaced_with_failed_only(workdir: Path) -> None:
    window = {"available": [["2024-07-22T09:00:00+00:00", "2024-07-22T10:00:00+00:00"]]}
    path = write_scenario(workdir / "s.yaml", scenario_dict({"a": window, "b": window}, [
        {"id": "first", "name": "First", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 1},
        {"id": "second", "name": "Second", "duration_minutes": 60, "invitees": ["a", "b"]}]))
    done = run_cli("run", str(path), "--failed-only")
    assert done.returncode == 0, done.stderr
    assert "Second" in done.stdout and "First" not in done.stdout
    assert "1 scheduled, 1 not placed" in done.stdout
