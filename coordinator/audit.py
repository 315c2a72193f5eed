"""An independent check of a finished schedule against the scenario it came from.

`slotwise run` knows everyone's availability (it launched the agents), so it can verify what the
negotiation produced instead of trusting it: a serious scheduler proves its output.
"""

from __future__ import annotations

from collections.abc import Sequence

from coordinator.negotiation import Outcome
from coordinator.policies.resolve import resolve
from shared.scenario import Scenario


def audit(scenario: Scenario, outcomes: Sequence[Outcome]) -> list[str]:
    """Every way the schedule breaks the scenario's rules; empty when it is sound.

    Attendance is judged by each meeting's own rule; time constraints are the policies'
    business and are tested on their own.
    """
    problems: list[str] = []
    policies = resolve(scenario)
    meetings = {m.id: m for m in scenario.meetings}
    horizon = scenario.horizon_interval
    free = {name: scenario.availability(name).free_time(horizon) for name in scenario.participants}
    booked: dict[str, list[tuple[Outcome, str]]] = {}
    decided = {o.meeting_id for o in outcomes}
    problems += [f"{m} was never decided" for m in meetings if m not in decided]
    for o in outcomes:
        m = meetings.get(o.meeting_id)
        if m is None:
            problems.append(f"{o.meeting_id} is not a meeting of the scenario")
            continue
        if not o.scheduled:
            if not o.reason:
                problems.append(f"{m.id} was not placed and gives no reason")
            continue
        assert o.when is not None
        if not scenario.horizon_interval.contains(o.when):
            problems.append(f"{m.id} lies outside the horizon")
        if o.when.minutes != m.duration_minutes:
            problems.append(f"{m.id} lasts {o.when.minutes} minutes, not {m.duration_minutes}")
        rule = policies.meetings[m.meeting_id].rule
        if len(set(o.attendees)) != len(o.attendees) or not rule.satisfied(m, o.attendees):
            problems.append(f"{m.id} breaks its rule: {rule.shortfall(m, o.attendees)}")
        for who in o.attendees:
            if who not in m.invitees:
                problems.append(f"{m.id}: {who} was not invited")
            elif not free[who].covers(o.when):
                problems.append(f"{m.id}: {who} is not free then")
            for other, _ in booked.get(who, []):
                assert other.when is not None
                if other.when.overlaps(o.when):
                    problems.append(f"{who} is double-booked: {m.id} overlaps {other.meeting_id}")
            booked.setdefault(who, []).append((o, m.id))
    return problems
