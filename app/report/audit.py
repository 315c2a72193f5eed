"""An independent check of a finished schedule against the plan it came from.

`slotwise run` knows everyone's availability (it launched the agents), so it can verify what the
negotiation produced instead of trusting it: a serious scheduler proves its output. It also
compares the agents' own records with the coordinator's decisions, record for record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slotwise.coordinator.plan import Plan
from slotwise.participant.calendars.sources import free_time
from slotwise.shared.decision import Decision
from slotwise.shared.errors import CalendarError, IcsError
from slotwise.shared.scenario import Scenario
from slotwise.shared.slots import FreeTime


def audit(scenario: Scenario, plan: Plan, decisions: Sequence[Decision]) -> list[str]:
    """Every way the schedule breaks the plan's rules; empty when it is sound.

    Attendance is judged by each meeting's own rule; time constraints are the policies'
    business and are tested on their own.
    """
    problems: list[str] = []
    horizon = plan.horizon
    calendars: dict[str, FreeTime | None] = {}

    def free(who: str) -> FreeTime | None:
        """Read for attendees only, once: a calendar nobody was booked against is not read, and
        one that cannot be read now (its server down) leaves that check to the agent, which
        checked it when it accepted."""
        if who not in calendars:
            try:
                calendars[who] = free_time(scenario.availability(who), horizon)
            except (CalendarError, IcsError):
                calendars[who] = None
        return calendars[who]

    booked: dict[str, list[Decision]] = {}
    decided = {d.id for d in decisions}
    problems += [f"{m.id} was never decided" for m in plan.meetings if m.id not in decided]
    seen: set[str] = set()
    for d in decisions:
        if d.id in seen:
            problems.append(f"{d.id} was decided twice (two meetings under one id)")
        seen.add(d.id)
    for d in decisions:
        m = plan.meeting(d.id)
        if m is None:
            problems.append(f"{d.id} is not a meeting of the scenario")
            continue
        if not d.scheduled:
            if not d.reason:
                problems.append(f"{m.id} was not placed and gives no reason")
            continue
        when = d.when
        if when is None:
            problems.append(f"{m.id} is scheduled without a time")
            continue
        if not horizon.contains(when):
            problems.append(f"{m.id} lies outside the horizon")
        if when.minutes != m.duration_minutes:
            problems.append(f"{m.id} lasts {when.minutes} minutes, not {m.duration_minutes}")
        rule = m.policies.rule
        if len(set(d.participants)) != len(d.participants) or not rule.satisfied(m, d.attendees):
            problems.append(f"{m.id} breaks its rule: {rule.shortfall(m, d.attendees)}")
        for who in d.participants:
            if who not in m.invitees:
                problems.append(f"{m.id}: {who} was not invited")
            elif (known := free(who)) is not None and not known.covers(when):
                problems.append(f"{m.id}: {who} is not free then")
            for other in booked.get(who, []):
                other_when = other.when
                if other_when is not None and other_when.overlaps(when):
                    problems.append(f"{who} is double-booked: {m.id} overlaps {other.id}")
            booked.setdefault(who, []).append(d)
    return problems


def disagreements(decisions: Sequence[Decision], records: Mapping[str, Sequence[Decision]]) -> list[str]:
    """Where an agent's own record of what it accepted differs from the coordinator's schedule.

    An agent that died before writing its record is not in `records`: the coordinator's word stands."""
    problems = []
    for d in decisions:
        if not d.scheduled:
            continue
        for who in d.participants:
            record = records.get(who)
            if record is None:
                continue
            mine = next((r for r in record if r.id == d.id), None)
            if mine is None or mine.booking() != d.booking():
                start = d.start.isoformat() if d.start else "?"
                problems.append(f"{who} does not record {d.id} at {start} with {', '.join(d.participants)}")
    return problems
