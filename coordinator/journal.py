"""An append-only record of decisions, durable before anyone hears of them.

One JSON object per line. A decision is written when it is made and the file is fsync'd before
the broadcast that announces it, so after a crash the journal holds every decision any agent
may have acted on. `slotwise coordinator --resume JOURNAL` books them again and negotiates only
what is left. A torn last line (a crash mid-write) is ignored: that decision was never announced.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import IO

from loguru import logger

from coordinator.negotiation import Outcome
from shared.ids import AgentId, MeetingId
from shared.slots import Interval

VERSION = 1


class Journal:
    def __init__(self, path: Path, scenario: str) -> None:
        self.path = path
        new = not path.exists() or path.stat().st_size == 0
        self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._dirty = False
        if new:
            self._write({"journal": VERSION, "scenario": scenario})
            self.sync()

    def _write(self, record: dict[str, object]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._dirty = True

    def record(self, o: Outcome) -> None:
        self._write({
            "meeting": o.meeting_id, "scheduled": o.scheduled,
            "start": o.when.start.isoformat() if o.when else None,
            "end": o.when.end.isoformat() if o.when else None,
            "attendees": list(o.attendees), "reason": o.reason, "round_trips": o.round_trips,
        })

    def sync(self) -> None:
        """Make every recorded decision durable (called before announcing any of them)."""
        if self._dirty:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._dirty = False

    def close(self) -> None:
        self.sync()
        self._file.close()


def read_journal(path: Path, scenario: str) -> list[Outcome]:
    """The decisions in a journal; raises ValueError if it belongs to another scenario."""
    outcomes: list[Outcome] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                logger.warning("{}:{}: ignoring a torn last line (never announced)", path, number)
                continue
            raise ValueError(f"{path}:{number}: not a journal line") from None
        if "journal" in record:
            if record.get("scenario") != scenario:
                raise ValueError(f"{path} is the journal of scenario {record.get('scenario')!r}, not {scenario!r}")
            continue
        when = (Interval(datetime.fromisoformat(record["start"]), datetime.fromisoformat(record["end"]))
                if record["scheduled"] else None)
        outcomes.append(Outcome(MeetingId(record["meeting"]), record["scheduled"], when,
                                tuple(AgentId(a) for a in record["attendees"]), record["reason"],
                                record.get("round_trips", 0)))
    return outcomes
