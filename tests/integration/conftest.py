"""Real processes over real sockets: every child is tracked by pid and killed at teardown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from slotwise.coordinator.plan import compile_plan
from slotwise.participant.calendars.sources import free_time
from slotwise.participant.launch import participant_command
from slotwise.shared.scenario import Scenario
from slotwise.shared.slots import Interval
from tests.policy_checks import rule_problems, violations

HERE = Path(__file__).resolve().parent
SLOTWISE = [sys.executable, "-m", "slotwise"]


class Children:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], name: str) -> subprocess.Popen[str]:
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                text=True, cwd=self.workdir)
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()

    def participant(self, endpoints: str, name: str, *, scenario: Path | None = None,
                    availability: Path | None = None, timeout_s: float = 20.0,
                    keys: Path | None = None) -> subprocess.Popen[str]:
        return self.start(participant_command(endpoints, name, availability=availability, scenario=scenario,
                                              record=self.record_path(name), coordinator_timeout_s=timeout_s,
                                              keys_dir=keys), name)

    def mute(self, endpoints: str, name: str) -> subprocess.Popen[str]:
        return self.start([sys.executable, str(HERE / "mute_agent.py"), endpoints, name], name)

    def record_path(self, name: str) -> Path:
        return self.workdir / f"{name}.record.json"

    def record(self, name: str) -> dict[str, Any]:
        return json.loads(self.record_path(name).read_text())  # type: ignore[no-any-return]

    def kill_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            p.wait(timeout=10)


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short path: ipc socket paths must fit in sun_path (about 104 bytes).
    with tempfile.TemporaryDirectory(prefix="sw-") as d:
        yield Path(d)


@pytest.fixture
def children(workdir: Path) -> Iterator[Children]:
    kids = Children(workdir)
    try:
        yield kids
    finally:
        kids.kill_all()


def until(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    """Wait for another process to make `check` true, under a deadline."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what} within {within}s"
        time.sleep(0.1)  # ok-sleep: polling another process's state, under a deadline


def run_cli(*args: str, timeout: float = 90.0, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SLOTWISE, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=cwd)


def check_results(scenario: Scenario, doc: dict[str, Any]) -> None:
    """Recompute, from the results file alone, every promise a schedule makes."""
    assert doc["scenario"] == scenario.name
    plan = compile_plan(scenario)
    assert [m["id"] for m in doc["meetings"]] == [m.id for m in plan.meetings]
    spec = {m.id: m for m in plan.meetings}
    busy: dict[str, list[tuple[str, str, str]]] = {}
    for m in doc["meetings"]:
        assert set(m) >= {"id", "name", "scheduled", "start", "end", "participants", "reason"}
        if not m["scheduled"]:
            assert m["reason"], f"{m['id']} unplaced without a reason"
            assert m["start"] is None and m["participants"] == []
            continue
        assert m["reason"] is None
        s = spec[m["id"]]
        when_ = (datetime.fromisoformat(m["start"]), datetime.fromisoformat(m["end"]))
        assert rule_problems(scenario, [(m["id"], *when_, m["participants"])]) == []
        assert set(m["participants"]) <= set(s.invitees)
        when = Interval(datetime.fromisoformat(m["start"]), datetime.fromisoformat(m["end"]))
        assert when.minutes == s.duration_minutes
        assert scenario.horizon_interval.contains(when)
        for who in m["participants"]:
            assert free_time(scenario.availability(who), scenario.horizon_interval).covers(when), f"{who} not free for {m['id']}"
            for other, start, end in busy.get(who, []):
                assert not when.overlaps(Interval(datetime.fromisoformat(start), datetime.fromisoformat(end))), \
                    f"{who} double-booked: {m['id']} and {other}"
            busy.setdefault(who, []).append((m["id"], m["start"], m["end"]))
    placed = [(m["id"], datetime.fromisoformat(m["start"]), datetime.fromisoformat(m["end"]), m["participants"])
              for m in doc["meetings"] if m["scheduled"]]
    assert violations(scenario, placed) == []
