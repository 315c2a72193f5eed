"""`slotwise run`: the coordinator in this process, the participants in agent hosts beside it.

By default the participants are spread over as many host processes as the machine has cores
(each agent still its own identity on the wire, with its own calendar); `hosts=0` keeps one
process per participant. Every child is started the one way (`participant.launch`) and always
cleaned up.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from loguru import logger

from slotwise.coordinator.negotiation import Action, Explained
from slotwise.coordinator.outcome import RunResult
from slotwise.coordinator.placement.reasons import CandidateRow
from slotwise.coordinator.plan import Plan, compile_plan
from slotwise.coordinator.service import CoordinatorService
from slotwise.participant.calendars.sources import calendar_file_problems
from slotwise.participant.launch import Forwarded, group_command, host_groups
from slotwise.shared.decision import Decision
from slotwise.shared.endpoints import Endpoints, parse_endpoints
from slotwise.shared.errors import Problem, ScenarioError
from slotwise.shared.ids import COORDINATOR, AgentId, MeetingId
from slotwise.shared.keys import ServerKeys, generate
from slotwise.shared.limits import ensure_open_files
from slotwise.shared.scenario import Scenario, render_path

Records = dict[str, list[Decision]]


def default_hosts() -> int:
    """One host per core: more processes than cores only add memory and context switches."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class ParticipantProcesses:
    """Context manager: `with ParticipantProcesses(...) as procs:`; every child dies at exit.
    `procs` maps each process's name (a participant's, or a host's) to it."""

    def __init__(self, scenario: Scenario, endpoints: Endpoints, workdir: Path,
                 log_level: str = "WARNING", coordinator_timeout_s: float = 30.0,
                 keys_dir: Path | None = None, hosts: int = 0) -> None:
        self.scenario = scenario
        self.keys_dir = keys_dir
        self.endpoints = endpoints
        self.workdir = workdir
        self.log_level = log_level
        self.coordinator_timeout_s = coordinator_timeout_s
        self.groups = host_groups(list(scenario.participants), hosts)
        self.hosted = hosts > 0
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.output: dict[str, Forwarded] = {}
        self._ended: dict[str, str] = {}  # how each process that has exited ended, said once

    def record_path(self, name: str) -> Path:
        return self.workdir / f"{name}.record.json"

    def __enter__(self) -> ParticipantProcesses:
        try:
            for process, names in self.groups.items():
                self.procs[process] = self._spawn(process, names)
        except BaseException:
            self.stop(grace_s=0)
            raise
        return self

    def _spawn(self, process: str, names: list[str]) -> subprocess.Popen[bytes]:
        cmd = group_command(str(self.endpoints), self.scenario, process, names, self.workdir, hosted=self.hosted,
                            coordinator_timeout_s=self.coordinator_timeout_s, keys_dir=self.keys_dir,
                            log_level=self.log_level)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.output[process] = Forwarded(proc)
        return proc

    def poll(self) -> tuple[list[frozenset[AgentId]], dict[AgentId, str]]:
        """Each living process's agents, and the agents whose process has exited, with how it
        ended and what it said last (`coordinator.service.Launched`)."""
        alive: list[frozenset[AgentId]] = []
        exited: dict[AgentId, str] = {}
        for process, proc in self.procs.items():
            names = [AgentId(n) for n in self.groups[process]]
            if proc.poll() is None:
                alive.append(frozenset(names))
            else:
                if process not in self._ended:  # waits (briefly) for its last line only once
                    self._ended[process] = self.output[process].describe_exit()
                exited.update(dict.fromkeys(names, self._ended[process]))
        return alive, exited

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop(grace_s=5.0 if exc is None else 0.5)

    def stop(self, grace_s: float) -> None:
        """Wait for clean exits (the coordinator said Shutdown), then SIGTERM, then SIGKILL."""
        deadline = time.monotonic() + grace_s
        for sig, wait_s in ((None, grace_s), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            running = [p for p in self.procs.values() if p.poll() is None]
            if not running:
                return
            if sig is not None:
                for p in running:
                    try:
                        os.kill(p.pid, sig)
                    except ProcessLookupError:
                        pass
                deadline = time.monotonic() + wait_s
            for p in running:
                try:
                    p.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        for out in self.output.values():
            out.finish()
        stuck = [n for n, p in self.procs.items() if p.poll() is None]
        if stuck:
            logger.error("participant processes survived SIGKILL: {}", ", ".join(stuck))

    def records(self) -> Records:
        """Each agent's own record of the decisions it was told of (agents that wrote one)."""
        out: Records = {}
        for name in self.scenario.participants:
            path = self.record_path(name)
            if path.exists():
                accepted = json.loads(path.read_text())["accepted"]
                out[name] = [Decision.model_validate(d) for d in accepted]
        return out


@dataclass(frozen=True)
class LocalRun:
    result: RunResult
    records: Records  # what each agent recorded it accepted
    explanations: dict[MeetingId, tuple[CandidateRow, ...]]


def run_locally(scenario: Scenario, plan: Plan | None = None, *, transport: str = "tcp",
                log_level: str = "WARNING", on_action: Callable[[Action], None] | None = None,
                explain: frozenset[MeetingId] = frozenset(), secure: bool = True,
                hosts: int | None = None, coordinator_timeout_s: float = 30.0) -> LocalRun:
    """`slotwise run`: the coordinator here, the participants in `hosts` agent hosts (default
    one per core; 0: one process per participant), over loopback.

    `plan` defaults to the scenario compiled. With `secure` (the default), every process gets a
    fresh CURVE key pair for this run only, in a private temporary folder: on a shared host no
    other local process can join as a participant or pose as the coordinator. A host's key is
    bound to the participants it carries, and speaks for no one else."""
    plan = plan or compile_plan(scenario)
    unreadable = [Problem(render_path(loc), message) for loc, message in calendar_file_problems(scenario)]
    if unreadable:  # said now, not by agents exiting one by one while the coordinator waits
        raise ScenarioError(scenario.name, unreadable)
    hosts = default_hosts() if hosts is None else hosts
    groups = host_groups(list(scenario.participants), hosts)
    ensure_open_files(len(groups))
    explanations: dict[MeetingId, tuple[CandidateRow, ...]] = {}

    def observe(action: Action) -> None:
        if isinstance(action, Explained):
            explanations[action.meeting_id] = action.rows
        if on_action is not None:
            on_action(action)

    with tempfile.TemporaryDirectory(prefix="slotwise-") as tmp:
        keys_dir = Path(tmp) / "keys" if secure else None
        if keys_dir is not None:
            generate(keys_dir, COORDINATOR)
            for process, names in groups.items():
                generate(keys_dir, process, host_for=names if hosts > 0 else None)
        bind = f"ipc://{tmp}/slotwise" if transport == "ipc" else "tcp://127.0.0.1:*"
        service = CoordinatorService(plan, parse_endpoints(bind), on_action=observe, explain=explain,
                                     keys=ServerKeys.load(keys_dir) if keys_dir is not None else None)
        try:
            procs = ParticipantProcesses(scenario, service.bind(), Path(tmp), log_level=log_level,
                                         keys_dir=keys_dir, hosts=hosts, coordinator_timeout_s=coordinator_timeout_s)
            launched_at = time.monotonic()
            with procs:
                result = asyncio.run(service.run(started_at=launched_at, launched=procs))
            return LocalRun(result, procs.records(), explanations)
        finally:
            service.close()
