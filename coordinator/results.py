"""The results file and the outcome table: what a run decided, in a shape scripts can read.

The JSON shape is a public interface; keys are only ever added, never renamed:

    {"scenario": "...", "meetings": [{"id", "name", "scheduled", "start", "end",
     "participants", "reason", ...}], "stats": {"rounds", "messages", "elapsed_s", ...}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from coordinator.service import RunResult
from shared.scenario import Scenario
from shared.slots import format_interval


def results_document(scenario: Scenario, result: RunResult) -> dict[str, Any]:
    by_id = {o.meeting_id: o for o in result.outcomes}
    meetings = []
    for m in scenario.meetings:  # file order, so diffs between runs stay readable
        o = by_id.get(m.meeting_id)
        meetings.append({
            "id": m.id,
            "name": m.title,
            "scheduled": bool(o and o.scheduled),
            "start": o.when.start.isoformat() if o and o.when else None,
            "end": o.when.end.isoformat() if o and o.when else None,
            "participants": list(o.attendees) if o else [],
            "reason": (o.reason if o else "not decided"),
            "invitees": list(m.invitees),
            "min_participants": m.required,
            "priority": m.priority,
            "round_trips": o.round_trips if o else 0,
            "series": m.series,
        })
    st = result.stats
    trips = [o.round_trips for o in result.outcomes]
    scheduled = sum(1 for o in result.outcomes if o.scheduled)
    return {
        "scenario": scenario.name,
        "meetings": meetings,
        "stats": {
            "rounds": st.rounds,
            "messages": st.messages,
            "elapsed_s": round(st.startup_s + st.negotiation_s, 4),
            "startup_s": round(st.startup_s, 4),
            "negotiation_s": round(st.negotiation_s, 4),
            "round_trips_per_meeting": round(sum(trips) / len(meetings), 3) if meetings else 0.0,
            "resends": st.resends,
            "dropped_messages": st.dropped,
            "scheduled": scheduled,
            "failed": len(meetings) - scheduled,
        },
        "participants": {"joined": list(result.joined), "missing": list(result.missing)},
    }


def write_results(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    tmp.replace(path)


def outcome_table(scenario: Scenario, result: RunResult) -> Table:
    by_id = {o.meeting_id: o for o in result.outcomes}
    table = Table(title=f"{scenario.name}: {sum(o.scheduled for o in result.outcomes)} of "
                        f"{len(scenario.meetings)} meetings placed ({scenario.timezone})")
    table.add_column("meeting")
    table.add_column("when")
    table.add_column("attendees")
    table.add_column("result", overflow="fold")
    for m in scenario.meetings:
        o = by_id.get(m.meeting_id)
        if o is not None and o.scheduled and o.when is not None:
            table.add_row(m.title, format_interval(o.when, scenario.zone),
                          f"{', '.join(o.attendees)} ({len(o.attendees)}/{len(m.invitees)})",
                          "[green]scheduled[/]")
        else:
            table.add_row(m.title, "-", "-", f"[red]not placed[/]: {o.reason if o else 'not decided'}")
    return table
