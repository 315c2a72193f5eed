"""Agent processes started by someone else on this machine (`slotwise cluster`, a test harness),
named in a file the coordinator is given: `{"PID": ["name", ...], ...}`. The coordinator cannot
wait for processes that are not its children, so it looks at /proc: a process that is gone, or
a zombie its parent has not reaped, has ended."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from slotwise.shared.errors import InputError
from slotwise.shared.ids import AgentId, is_valid_name

MAX_LAUNCHED = 100_000  # processes named in one file


class LaunchedPids:
    """`coordinator.service.Launched` for processes named by pid."""

    def __init__(self, groups: Mapping[int, frozenset[AgentId]]) -> None:
        self.groups = dict(groups)

    @classmethod
    def read(cls, path: Path) -> LaunchedPids:
        """InputError, saying what is wrong, for a file that is not such a mapping."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"--launched {path}: {exc}") from None
        if not isinstance(data, dict) or len(data) > MAX_LAUNCHED:
            raise InputError(f"--launched {path}: expected a mapping of at most {MAX_LAUNCHED:,} pids to name lists")
        groups: dict[int, frozenset[AgentId]] = {}
        for pid, names in data.items():
            if not str(pid).isdigit() or not isinstance(names, list) \
                    or not all(isinstance(n, str) and is_valid_name(n) for n in names):
                raise InputError(f"--launched {path}: {str(pid)[:20]!r} must be a pid naming a list of agents")
            groups[int(pid)] = frozenset(AgentId(n) for n in names)
        return cls(groups)

    def poll(self) -> tuple[list[frozenset[AgentId]], dict[AgentId, str]]:
        alive: list[frozenset[AgentId]] = []
        exited: dict[AgentId, str] = {}
        for pid, names in self.groups.items():
            if _running(pid):
                alive.append(names)
            else:
                exited.update(dict.fromkeys(names, f"(pid {pid}) has ended"))
        return alive, exited


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]  # the state follows the command's ")"
