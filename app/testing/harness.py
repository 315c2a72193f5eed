"""Start a whole slotwise deployment as separate processes, on loopback or on separate hosts.

`Cluster` runs `slotwise coordinator` and one `slotwise participant` per person, each its own
process, and can kill, cut off and resume them. With `network="netns"` every process lives in
its own Linux network namespace (its own host, with its own address on a private bridge), so a
test can take one host off the network (`ip link set eth0 down`) and bring it back. Namespaces
need root and iproute2; `Namespaces.unavailable()` says why not, so callers can skip.

Used by the pytest plugin (`slotwise.testing.pytest_plugin`, fixture `slotwise_cluster`) and by
`slotwise cluster SCENARIO [--netns]`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from slotwise.coordinator.journal import read_journal
from slotwise.coordinator.plan import load_plan
from slotwise.participant.launch import group_command, host_groups
from slotwise.shared.decision import Decision
from slotwise.shared.ids import COORDINATOR
from slotwise.shared.keys import generate

SUBNET = "10.77.0"  # inside namespaces this harness creates and deletes; never routed anywhere
PORT = 7340


def _slotwise() -> list[str]:
    return [sys.executable, "-m", "slotwise"]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=20)


class Loopback:
    """Every host is this machine; cutting a host off freezes its processes (SIGSTOP)."""

    name = "loopback"

    def __init__(self, hosts: Sequence[str]) -> None:
        self.hosts = list(hosts)
        self._frozen: dict[str, list[int]] = {}

    def address(self, host: str) -> str:
        return "127.0.0.1"

    def port(self) -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def wrap(self, host: str, argv: list[str]) -> list[str]:
        return argv

    def cut(self, host: str, pids: list[int]) -> None:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        self._frozen[host] = pids

    def restore(self, host: str) -> None:
        for pid in self._frozen.pop(host, []):
            os.kill(pid, signal.SIGCONT)

    def close(self) -> None:
        for host in list(self._frozen):
            self.restore(host)


class Namespaces:
    """One network namespace per host, each joined by a veth pair to a bridge in a switch namespace."""

    name = "netns"

    @staticmethod
    def unavailable() -> str | None:
        """Why namespaces cannot be used here, or None if they can."""
        if sys.platform != "linux":
            return "network namespaces are Linux-only"
        if os.geteuid() != 0:
            return "network namespaces need root"
        if shutil.which("ip") is None:
            return "iproute2 ('ip') is not installed"
        probe = f"swprobe{secrets.token_hex(3)}"
        try:
            _ip("netns", "add", probe)
            _ip("netns", "del", probe)
        except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired) as exc:
            return f"'ip netns add' failed: {getattr(exc, 'stderr', exc)}".strip()
        return None

    def __init__(self, hosts: Sequence[str]) -> None:
        self.hosts = list(hosts)
        tag = secrets.token_hex(3)
        self._switch = f"sw{tag}-switch"
        self._ns = {host: f"sw{tag}-h{i}" for i, host in enumerate(self.hosts)}
        self._addr = {host: f"{SUBNET}.{i + 1}" for i, host in enumerate(self.hosts)}
        self._made: list[str] = []
        try:
            self._add(self._switch)
            _ip("-n", self._switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self._switch, "link", "set", "br0", "up")
            for i, host in enumerate(self.hosts):
                ns, here, there = self._ns[host], f"swa{tag}{i}", f"swb{tag}{i}"
                self._add(ns)
                _ip("link", "add", here, "type", "veth", "peer", "name", there)
                _ip("link", "set", here, "netns", ns)
                _ip("link", "set", there, "netns", self._switch)
                _ip("-n", ns, "link", "set", here, "name", "eth0")
                _ip("-n", ns, "addr", "add", f"{self._addr[host]}/24", "dev", "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", self._switch, "link", "set", there, "master", "br0")
                _ip("-n", self._switch, "link", "set", there, "up")
        except BaseException:
            self.close()
            raise

    def _add(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self._made.append(ns)

    def address(self, host: str) -> str:
        return self._addr[host]

    def port(self) -> int:
        return PORT  # every host has its own port space

    def wrap(self, host: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self._ns[host], *argv]  # exec: the pid stays the program's

    def cut(self, host: str, pids: list[int]) -> None:
        _ip("-n", self._ns[host], "link", "set", "eth0", "down")

    def restore(self, host: str) -> None:
        _ip("-n", self._ns[host], "link", "set", "eth0", "up")

    def close(self) -> None:
        for ns in reversed(self._made):  # deleting a namespace deletes its veth ends too
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        self._made.clear()


class Cluster:
    """A coordinator and its participants as separate processes; always `stop()` it."""

    def __init__(self, scenario: Path, workdir: Path, *, network: str = "loopback",
                 secure: bool = True, coordinator_args: Sequence[str] = (),
                 participant_args: dict[str, list[str]] | None = None,
                 participant_timeout_s: float = 60.0, agent_hosts: int = 0) -> None:
        # Relative paths are the caller's: resolved now, before children start in `workdir`.
        self.scenario_path = scenario.resolve()
        # Checked and compiled as `slotwise validate` does, before any process starts.
        self.scenario, self.plan = load_plan(self.scenario_path)
        self.workdir = workdir.resolve()
        workdir = self.workdir
        self.secure = secure
        self.coordinator_args = list(coordinator_args)
        self.participant_args = participant_args or {}  # extra options per participant
        self.participant_timeout_s = participant_timeout_s
        # Process name -> the participants it runs: one each, or `agent_hosts` agent hosts
        # (host0, host1, ...), each on its own host (namespace) with one key for all its agents.
        self.groups = host_groups(list(self.scenario.participants), agent_hosts)
        self.agent_hosts = agent_hosts
        hosts = [COORDINATOR, *self.groups]
        self.net: Loopback | Namespaces = Namespaces(hosts) if network == "netns" else Loopback(hosts)
        self.address = f"tcp://{self.net.address(COORDINATOR)}:{self.net.port()}"
        self.keys = workdir / "keys" if secure else None
        if self.keys is not None:
            generate(self.keys, COORDINATOR)
            for process, names in self.groups.items():
                generate(self.keys, process, host_for=names if agent_hosts > 0 else None)
        self.journal = workdir / "journal.jsonl"
        self.results_path = workdir / "results.json"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._coordinator_runs = 0

    # --- processes ------------------------------------------------------------------------

    def _start(self, host: str, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - inherited by the child
        try:
            proc = subprocess.Popen(self.net.wrap(host, argv), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    def start_participant(self, name: str) -> subprocess.Popen[bytes]:
        """Start a participant's process, or (with agent hosts) the host process `name`."""
        argv = group_command(self.address, self.scenario, name, self.groups[name], self.workdir,
                             hosted=self.agent_hosts > 0, coordinator_timeout_s=self.participant_timeout_s,
                             keys_dir=self.keys, extra=self.participant_args.get(name, []))
        return self._start(name, name, argv)

    def start_participants(self) -> None:
        for process in self.groups:
            self.start_participant(process)

    def restart_participant(self, name: str, sig: int = signal.SIGKILL) -> subprocess.Popen[bytes]:
        """Kill a participant's (or agent host's) process and start a fresh one under the same
        name (no memory)."""
        old = self.procs[name]
        old.send_signal(sig)
        old.wait(timeout=10)
        return self.start_participant(name)

    def start_coordinator(self, *, resume: bool = False) -> subprocess.Popen[bytes]:
        self._coordinator_runs += 1
        argv = [*_slotwise(), "coordinator", str(self.scenario_path), "--bind", self.address,
                "--out", str(self.results_path), "-q", *self.coordinator_args]
        argv += ["--resume", str(self.journal)] if resume else ["--journal", str(self.journal)]
        if self.keys is not None:
            argv += ["--keys", str(self.keys)]
        elif self.net.name != "loopback":
            argv += ["--insecure"]
        launched = {str(self.procs[p].pid): names for p, names in self.groups.items() if p in self.procs}
        if launched:  # joining waits for the participants started here while they are alive
            path = self.workdir / "launched.json"
            path.write_text(json.dumps(launched))
            argv += ["--launched", str(path)]
        return self._start(COORDINATOR, f"{COORDINATOR}-{self._coordinator_runs}", argv)

    def start(self) -> None:
        self.start_participants()
        self.start_coordinator()

    def coordinator(self) -> subprocess.Popen[bytes]:
        return self.procs[f"{COORDINATOR}-{self._coordinator_runs}"]

    def kill_coordinator(self, sig: int = signal.SIGKILL) -> None:
        proc = self.coordinator()
        proc.send_signal(sig)
        proc.wait(timeout=10)

    def cut(self, host: str) -> None:
        pids = [p.pid for n, p in self.procs.items() if n == host or n.startswith(f"{host}-")]
        self.net.cut(host, pids)

    def restore(self, host: str) -> None:
        self.net.restore(host)

    # --- waiting and reading --------------------------------------------------------------

    def decisions(self) -> list[Decision]:
        """What the journal holds now (a torn last line is ignored)."""
        if not self.journal.exists():
            return []
        return read_journal(self.journal, self.scenario.name)

    def wait_for(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return
            code = self.coordinator().poll()
            if code not in (None, 0):
                raise RuntimeError(f"the coordinator exited with {code}: "
                                   f"{self.log(f'{COORDINATOR}-{self._coordinator_runs}')}")
            time.sleep(0.05)  # polling files written by other processes, under a deadline
        raise TimeoutError(f"timed out after {timeout_s:g}s waiting for {what}")

    def wait(self, timeout_s: float = 120.0) -> dict[str, Any]:
        """Wait for the coordinator to finish; returns the results document."""
        code = self.coordinator().wait(timeout=timeout_s)
        if code != 0:
            raise RuntimeError(f"coordinator exited with {code}: {self.log(f'{COORDINATOR}-{self._coordinator_runs}')}")
        doc: dict[str, Any] = json.loads(self.results_path.read_text())
        return doc

    def wait_participants(self, timeout_s: float = 60.0) -> dict[str, int | None]:
        deadline = time.monotonic() + timeout_s
        codes: dict[str, int | None] = {}
        for name in self.groups:
            try:
                codes[name] = self.procs[name].wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                codes[name] = None
        return codes

    def record_path(self, name: str) -> Path:
        return self.workdir / f"{name}.record.json"

    def record(self, name: str) -> dict[str, Any]:
        path = self.record_path(name)
        return json.loads(path.read_text()) if path.exists() else {}

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """Kill every process this cluster started (by pid) and remove its namespaces."""
        self.net.close()  # unfreeze first: a stopped process cannot act on SIGTERM
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
