"""An append-only record of decisions, durable before anyone hears of them.

One `Decision` per line, as JSON, after a header line naming the scenario. A decision is written
when it is made and the file is fsync'd before the broadcast that announces it, so after a crash
the journal holds every decision any agent may have acted on. `slotwise coordinator --resume
JOURNAL` books them again and negotiates only what is left.

A torn last line (a crash mid-write) was never announced: reading ignores it, and opening the
journal to append cuts it off first, so the next decision starts on a line of its own and a second
resume reads a clean file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from loguru import logger
from pydantic import ValidationError

from slotwise.shared.decision import Decision
from slotwise.shared.errors import JournalError

VERSION = 2


def _whole_lines_end(path: Path) -> int:
    """The size of the file up to and including its last newline."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        pos = size
        while pos > 0:
            step = min(4096, pos)
            f.seek(pos - step)
            chunk = f.read(step)
            at = chunk.rfind(b"\n")
            if at >= 0:
                return pos - step + at + 1
            pos -= step
        return 0


class Journal:
    def __init__(self, path: Path, scenario: str) -> None:
        self.path = path
        if path.exists():
            keep = _whole_lines_end(path)
            if keep < path.stat().st_size:
                logger.warning("{}: cutting off a torn last line before appending", path)
                os.truncate(path, keep)
        new = not path.exists() or path.stat().st_size == 0
        self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._dirty = False
        if new:
            self._write(json.dumps({"journal": VERSION, "scenario": scenario}, separators=(",", ":")))
            self.sync()

    def _write(self, line: str) -> None:
        self._file.write(line + "\n")
        self._dirty = True

    def record(self, decision: Decision) -> None:
        self._write(decision.model_dump_json())

    def sync(self) -> None:
        """Make every recorded decision durable (called before announcing any of them)."""
        if self._dirty:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._dirty = False

    def close(self) -> None:
        self.sync()
        self._file.close()


def read_journal(path: Path, scenario: str, known: set[str] | None = None) -> list[Decision]:
    """The decisions in a journal. Raises JournalError if it belongs to another scenario, is
    broken before its last line, or (given `known`) decides meetings the scenario lacks."""
    decisions: list[Decision] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise JournalError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            if isinstance(record, dict) and "journal" in record:
                if record.get("scenario") != scenario:
                    raise JournalError(f"{path} is the journal of scenario {record.get('scenario')!r}, "
                                       f"not {scenario!r}")
                continue
            decisions.append(Decision.model_validate(record))
        except (json.JSONDecodeError, ValidationError):
            if number == len(lines):
                logger.warning("{}:{}: ignoring a torn last line (never announced)", path, number)
                continue
            raise JournalError(f"{path}:{number}: not a journal line") from None
    if known is not None:
        strangers = [d.id for d in decisions if d.id not in known]
        if strangers:
            raise JournalError(f"{path} decides meetings the scenario lacks: {', '.join(strangers)}")
    return decisions
