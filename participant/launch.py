"""How a participant agent process is started, the one way `run`, `cluster` and tests use.

Each process gets only its own agents' availability, in its own file. With one agent per
process, the process boundary is the privacy boundary, even on one machine; an agent host
(`run --hosts K`) trades that for scale: its agents share a process, never a calendar.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from slotwise.shared.scenario import Scenario, dump_agents, dump_availability


def write_availability(scenario: Scenario, name: str, folder: Path) -> Path:
    """This person's availability alone, in the `participant --availability` format."""
    path = folder / f"{name}.availability.json"
    path.write_text(dump_availability(scenario.availability(name)))
    return path


def host_groups(names: Sequence[str], hosts: int) -> dict[str, list[str]]:
    """Process name -> the participants it hosts: `hosts` contiguous shares, or (0) one each."""
    if hosts <= 0:
        return {n: [n] for n in names}
    k = min(hosts, len(names))
    size, extra = divmod(len(names), k)
    groups, at = {}, 0
    for i in range(k):
        take = size + (1 if i < extra else 0)
        groups[f"host{i}"] = list(names[at:at + take])
        at += take
    return groups


def write_agents(scenario: Scenario, names: Sequence[str], path: Path) -> Path:
    """A host's agents' availability, in one file (`participant --availability` for several)."""
    path.write_text(dump_agents({n: scenario.availability(n) for n in names}))
    return path


def group_command(connect: str, scenario: Scenario, process: str, names: Sequence[str], workdir: Path, *,
                  hosted: bool, coordinator_timeout_s: float, keys_dir: Path | None,
                  log_level: str | None = None, extra: Sequence[str] = ()) -> list[str]:
    """argv for one process of a deployment, with its agents' availability written to `workdir`
    and their records to `workdir/NAME.record.json`: an agent host (`hosted`; its name is
    `process`) or one participant's own process (`process` is the participant)."""
    if hosted:
        return participant_command(
            connect, names, host=process, record=workdir,
            availability=write_agents(scenario, names, workdir / f"{process}.agents.json"),
            coordinator_timeout_s=coordinator_timeout_s, keys_dir=keys_dir, log_level=log_level, extra=extra)
    return participant_command(
        connect, process, availability=write_availability(scenario, process, workdir),
        record=workdir / f"{process}.record.json", coordinator_timeout_s=coordinator_timeout_s,
        keys_dir=keys_dir, log_level=log_level, extra=extra)


def participant_command(connect: str, name: str | Sequence[str], *, availability: Path | None = None,
                        scenario: Path | None = None, record: Path | None = None,
                        coordinator_timeout_s: float | None = None, keys_dir: Path | None = None,
                        log_level: str | None = None, host: str | None = None,
                        extra: Sequence[str] = ()) -> list[str]:
    """argv for `slotwise participant`, run by this interpreter (no PATH lookup, no shell).
    The availability comes from its own file (what `run` and `cluster` give), or a scenario.
    Several names make an agent host (`host` names it, and its key)."""
    argv = [sys.executable, "-m", "slotwise", "participant", "--connect", connect]
    for n in [name] if isinstance(name, str) else name:
        argv += ["--name", n]
    if host is not None:
        argv += ["--host", host]
    if availability is not None:
        argv += ["--availability", str(availability)]
    if scenario is not None:
        argv += ["--scenario", str(scenario)]
    if record is not None:
        argv += ["--record", str(record)]
    if coordinator_timeout_s is not None:
        argv += ["--coordinator-timeout", str(coordinator_timeout_s)]
    if keys_dir is not None:
        argv += ["--keys", str(keys_dir)]
    if log_level is not None:
        argv += ["--log-level", log_level]
    return argv + list(extra)


LAST_LINE_CHARS = 300


class Forwarded:
    """A child process's stderr, passed on line by line to ours, with its last line kept: when
    a process dies before its agents joined, what it said last is the first thing to report."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.last_line = ""
        self._thread: threading.Thread | None = None
        if proc.stderr is not None:
            self._thread = threading.Thread(target=self._copy, args=(proc.stderr,), daemon=True,
                                            name=f"stderr-{proc.pid}")
            self._thread.start()

    def _copy(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", "replace")
            try:
                sys.stderr.write(text)
                sys.stderr.flush()
            except (OSError, ValueError):  # our stderr closed (a pipe, a test's capture): keep reading
                pass
            if text.strip():
                self.last_line = text.strip()[:LAST_LINE_CHARS]
        stream.close()

    def finish(self, timeout_s: float = 2.0) -> None:
        """After the process ended: let the copy reach the end of what it wrote."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def describe_exit(self) -> str:
        """How the process ended, and what it said last, for one log line or reason."""
        code = self.proc.returncode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with status {code}"
        self.finish(0.5)
        said = _bare(self.last_line)
        return f"{how}: {said}" if said else how


_LOG_PREFIX = re.compile(r"^\d\d:\d\d:\d\d\.\d+\s+[A-Z]+\s+\S+:\s*")  # "10:53:17.997 ERROR   participant[dora]: "


def _bare(line: str) -> str:
    """A log line without its time, level and role: what the process said."""
    return _LOG_PREFIX.sub("", line, count=1)
