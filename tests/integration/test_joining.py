"""Joining waits for the living: `slotwise run` knows the processes it started, so a start-up
slower than the join timeout costs time, not meetings, and a process that dies is reported at
once instead of being waited for."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from slotwise.coordinator.launched import LaunchedPids
from slotwise.participant.launch import participant_command
from slotwise.shared.errors import InputError
from slotwise.shared.scenario import load_scenario
from slotwise.synthetic import synthetic_scenario
from tests.integration.conftest import Children, check_results, run_cli

pytestmark = pytest.mark.integration


def _run(workdir: Path, data: dict[str, Any], name: str, *args: str) -> tuple[dict[str, Any], str]:
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    out = workdir / f"{name}.json"
    done = run_cli("run", str(path), "--out", str(out), *args, timeout=180)
    assert done.returncode in (0, 1), done.stderr  # 1: some meeting not placed
    doc: dict[str, Any] = json.loads(out.read_text())
    check_results(load_scenario(path), doc)
    return doc, done.stderr


def _schedule(doc: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {m["id"]: (m["start"], tuple(m["participants"])) for m in doc["meetings"]}


def test_a_start_up_longer_than_the_join_timeout_places_what_a_patient_run_places(workdir: Path) -> None:
    # Twelve processes, one per person, on this machine's cores take seconds to start: far more
    # than a 0.5 s join timeout. Each launched process is alive and only late, so it is waited for.
    data = synthetic_scenario(7, 12, 20, days=2)
    patient, _ = _run(workdir, data, "patient", "--hosts", "0", "--join-timeout", "60")
    hurried, _ = _run(workdir, data, "hurried", "--hosts", "0", "--join-timeout", "0.5")
    assert hurried["stats"]["startup_s"] > 0.5  # the start-up did outlast the join timeout
    assert hurried["participants"]["missing"] == [] and len(hurried["participants"]["joined"]) == 12
    assert _schedule(hurried) == _schedule(patient)
    assert sum(m["scheduled"] for m in hurried["meetings"]) > 0


def test_a_process_that_dies_is_reported_at_once_and_not_waited_for(workdir: Path) -> None:
    # dora's calendar server cannot be reached: her agent refuses to start. The run must not sit
    # out its 60 s join timeout for her, must say why she is missing, and places the rest.
    data = {
        "name": "dies", "timezone": "UTC",
        "horizon": {"start": "2024-07-22T09:00:00Z", "end": "2024-07-22T17:00:00Z"},
        "slot_minutes": 30, "negotiation": {"join_timeout_s": 60},
        "participants": {"ann": {}, "ben": {},
                         "dora": {"caldav": {"url": "http://127.0.0.1:9/dav/", "username": "dora",
                                             "password_env": "SLOTWISE_TEST_NO_SUCH_VARIABLE"}}},
        "meetings": [{"id": "pair", "duration_minutes": 30, "invitees": ["ann", "ben"]},
                     {"id": "trio", "duration_minutes": 30, "invitees": ["ann", "ben", "dora"],
                      "rule": {"required": ["dora"]}}],
    }
    began = time.monotonic()
    doc, log = _run(workdir, data, "dies", "--hosts", "0")
    assert time.monotonic() - began < 45  # not the 60 s join timeout
    by_id = {m["id"]: m for m in doc["meetings"]}
    assert by_id["pair"]["scheduled"]
    assert not by_id["trio"]["scheduled"]  # and its reason says why dora is not there:
    assert "dora never joined (its process exited with status 2: dora: calendar: " in by_id["trio"]["reason"]
    assert "SLOTWISE_TEST_NO_SUCH_VARIABLE is not set" in by_id["trio"]["reason"]
    assert doc["participants"]["missing"] == ["dora"]
    # Said once, with how the process ended and what it said last.
    died = [line for line in log.splitlines() if "the process of dora exited with status 2" in line]
    assert len(died) == 1 and "SLOTWISE_TEST_NO_SUCH_VARIABLE" in died[0], log


def test_a_coordinator_told_of_launched_processes_waits_for_those_still_starting(
        workdir: Path, children: Children) -> None:
    # Both agents' processes take 3 s to get going (a slow machine, a slow disk): alive, silent.
    # Told their pids, a coordinator with a 1 s join timeout waits for them, as `cluster` does.
    data = {"name": "slow", "timezone": "UTC", "slot_minutes": 60, "negotiation": {"join_timeout_s": 1},
            "horizon": {"start": "2024-07-22T09:00:00Z", "end": "2024-07-22T17:00:00Z"},
            "participants": {"ann": {}, "ben": {}},
            "meetings": [{"id": "pair", "duration_minutes": 60, "invitees": ["ann", "ben"]}]}
    path = workdir / "slow.yaml"
    path.write_text(yaml.safe_dump(data))
    address = f"ipc://{workdir}/co"
    pids = {}
    for name in ("ann", "ben"):
        argv = participant_command(address, name, scenario=path, coordinator_timeout_s=30)
        slow = children.start(["sh", "-c", "sleep 3; exec " + " ".join(map(shlex.quote, argv))], name)
        pids[str(slow.pid)] = [name]
    (workdir / "launched.json").write_text(json.dumps(pids))
    out = workdir / "results.json"
    done = run_cli("coordinator", str(path), "--bind", address, "--launched", str(workdir / "launched.json"),
                   "--out", str(out), "-q", timeout=60)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert doc["participants"]["missing"] == [] and doc["meetings"][0]["scheduled"]
    assert doc["stats"]["startup_s"] > 1  # the join timeout passed, and they were waited for


def test_launched_processes_are_alive_until_they_end_even_unreaped(tmp_path: Path) -> None:
    import subprocess
    import sys

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # ok-sleep: the process watched
    try:
        (tmp_path / "launched.json").write_text(json.dumps({str(sleeper.pid): ["ann", "ben"]}))
        launched = LaunchedPids.read(tmp_path / "launched.json")
        alive, exited = launched.poll()
        assert alive == [frozenset({"ann", "ben"})] and exited == {}
        sleeper.kill()
        deadline = time.monotonic() + 10
        while not launched.poll()[1] and time.monotonic() < deadline:  # a zombie until reaped: ended
            time.sleep(0.01)  # ok-sleep: /proc has no event to wait on; under a deadline
        alive, exited = launched.poll()
        assert alive == [] and set(exited) == {"ann", "ben"} and "has ended" in exited["ann"]
    finally:
        sleeper.kill()
        sleeper.wait(10)
    for bad in ("[]", '{"x": ["ann"]}', '{"1": "ann"}', '{"1": ["bad name!"]}', "not json"):
        (tmp_path / "bad.json").write_text(bad)
        with pytest.raises(InputError, match="--launched"):
            LaunchedPids.read(tmp_path / "bad.json")
