"""How a participant agent process is started, the one way `run`, `cluster` and tests use.

Each agent gets only its own availability, in its own file: the process boundary is the privacy
boundary, even on one machine.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from slotwise.shared.scenario import Scenario, dump_availability


def write_availability(scenario: Scenario, name: str, folder: Path) -> Path:
    """This person's availability alone, in the `participant --availability` format."""
    path = folder / f"{name}.availability.json"
    path.write_text(dump_availability(scenario.availability(name)))
    return path


def participant_command(connect: str, name: str, *, availability: Path | None = None,
                        scenario: Path | None = None, record: Path | None = None,
                        coordinator_timeout_s: float | None = None, keys_dir: Path | None = None,
                        log_level: str | None = None, extra: Sequence[str] = ()) -> list[str]:
    """argv for `slotwise participant`, run by this interpreter (no PATH lookup, no shell).
    The availability comes from its own file (what `run` and `cluster` give), or a scenario."""
    argv = [sys.executable, "-m", "slotwise", "participant", "--connect", connect, "--name", name]
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
