"""The results file and the outcome table: what a run decided, in a shape scripts can read.

The JSON shape is a public interface; keys are only ever added, never renamed:

    {"scenario": "...", "meetings": [{"id", "name", "scheduled", "start", "end",
     "participants", "reason", ...}], "stats": {"rounds", "messages", "elapsed_s", ...,
     "privacy": {"modes", "coordinator": {"revealed", ...}, "attendees": {...}}}}

It is one model, `Results`; `results.json` is its dump. Each meeting entry is the meeting's
`Decision` (the record the journal and the agents keep too) with the meeting's facts beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from rich.table import Table

from slotwise.coordinator.outcome import MeetingResult, RunResult
from slotwise.coordinator.plan import Plan
from slotwise.shared.slots import format_interval


class Stats(BaseModel):
    model_config = ConfigDict(frozen=True)
    rounds: int
    messages: int
    elapsed_s: float
    startup_s: float
    negotiation_s: float
    round_trips_per_meeting: float
    resends: int
    dropped_messages: int
    scheduled: int
    failed: int
    lost: int = 0  # times an agent was declared lost during the run
    # What the coordinator could infer of each person's calendar, and attendees of each other
    # (docs/privacy.md): {"modes", "coordinator": {"revealed", "median", "max", "per_person"},
    # "attendees": {"max", "per_person"}}.
    privacy: dict[str, Any] | None = None


class Attendance(BaseModel):
    model_config = ConfigDict(frozen=True)
    joined: list[str]
    missing: list[str]


class Results(BaseModel):
    model_config = ConfigDict(frozen=True)
    scenario: str
    meetings: list[MeetingResult]
    stats: Stats
    participants: Attendance

    @classmethod
    def build(cls, plan: Plan, result: RunResult) -> Results:
        by_id = {d.id: d for d in result.decisions}
        meetings = [MeetingResult.of(m, by_id.get(m.id)) for m in plan.meetings]  # plan order
        st = result.stats
        scheduled = sum(1 for m in meetings if m.scheduled)
        trips = sum(m.round_trips for m in meetings)
        return cls(
            scenario=plan.name, meetings=meetings,
            stats=Stats(
                rounds=st.rounds, messages=st.messages, elapsed_s=round(st.startup_s + st.negotiation_s, 4),
                startup_s=round(st.startup_s, 4), negotiation_s=round(st.negotiation_s, 4),
                round_trips_per_meeting=round(trips / len(meetings), 3) if meetings else 0.0,
                resends=st.resends, dropped_messages=st.dropped, scheduled=scheduled,
                failed=len(meetings) - scheduled, lost=st.lost, privacy=result.privacy),
            participants=Attendance(joined=list(result.joined), missing=list(result.missing)))

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.document(), indent=2) + "\n")
        tmp.replace(path)


def outcome_table(plan: Plan, results: Results, failed_only: bool = False) -> Table:
    placed = sum(m.scheduled for m in results.meetings)
    table = Table(title=f"{plan.name}: {placed} of {len(results.meetings)} meetings placed ({plan.display_zone.key})")
    table.add_column("meeting")
    table.add_column("when")
    table.add_column("attendees")
    table.add_column("result", overflow="fold")
    for m in results.meetings:
        when = m.when
        if m.scheduled and when is not None:
            if not failed_only:
                table.add_row(m.name, format_interval(when, plan.display_zone),
                              f"{', '.join(m.participants)} ({len(m.participants)}/{len(m.invitees)})",
                              "[green]scheduled[/]")
        else:
            table.add_row(m.name, "-", "-", f"[red]not placed[/]: {m.reason}")
    return table
