"""The scenario file: who takes part, what to place, where in time, and how patient to be.

Loading is strict and explains itself. Every problem is reported at once, each with the file,
the line, the field path ("meetings[1].invitees[2]") and what is wrong, because a user fixing a
scenario should not have to rerun the tool once per typo. Duplicate YAML keys are errors too:
PyYAML would silently keep the last `alice:`, and a participant would vanish.

Naive datetimes in the file are read in the scenario's `timezone`; everything after loading is
timezone-aware. Top-level keys starting with `x-` are ignored, so shared blocks (office hours)
can be written once as YAML anchors and referenced with `*name`.

The rooms: `times` (zones, windows, working hours), `models` (the file's models), `reading`
(YAML with positions and bounds), `checks` (rules across fields), `loading` (files in, models
out). Nothing here touches the network or a calendar: the agent reads calendars
(participant/calendars), the coordinator compiles (coordinator/plan.py).
"""

from slotwise.shared.scenario.loading import (
    MAX_SUBMITTED,
    Check,
    dump_agents,
    dump_availability,
    load_agents,
    load_availability,
    load_scenario,
    with_meetings,
)
from slotwise.shared.scenario.models import (
    Availability,
    CalDavSpec,
    ConflictPolicy,
    Meeting,
    NegotiationSettings,
    PolicySelection,
    PolicySpec,
    Scenario,
    offset_seconds,
)
from slotwise.shared.scenario.reading import MAX_FILE_BYTES, read_yaml, render_path
from slotwise.shared.scenario.times import DAYS, WORKDAYS, Day, RecurringWindow, Window, WorkingHoursSpec

__all__ = [
    "DAYS",
    "MAX_FILE_BYTES",
    "MAX_SUBMITTED",
    "WORKDAYS",
    "Availability",
    "CalDavSpec",
    "Check",
    "ConflictPolicy",
    "Day",
    "Meeting",
    "NegotiationSettings",
    "PolicySelection",
    "PolicySpec",
    "RecurringWindow",
    "Scenario",
    "Window",
    "WorkingHoursSpec",
    "dump_agents",
    "dump_availability",
    "load_agents",
    "load_availability",
    "load_scenario",
    "offset_seconds",
    "read_yaml",
    "render_path",
    "with_meetings",
]
