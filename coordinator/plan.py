"""The plan: a validated scenario compiled once into exactly what the negotiation needs.

The scenario file's models are for files: raw policy specs, recurrence rules, optional fields.
Compiling turns them, once, into one frozen `MeetingSpec` per meeting occurrence, with its
candidate slots and its policies resolved. The core, the audit, the results and `explain` read
only the plan, so a fact such as "how many must attend" is computed in one place (the rule's
`minimum`, asked here) and every reader agrees on it.

Compiling is also validation: `validate` compiles, so a file that validates will not fail to
compile in `run`. Problems are reported with the field path of what to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from slotwise.coordinator.policies.base import MeetingPolicies, MeetingSpec, Person, Priority
from slotwise.coordinator.policies.hooks import counts_capable
from slotwise.coordinator.policies.registry import BUILTIN
from slotwise.coordinator.policies.resolve import resolve_policies
from slotwise.shared.errors import Problem, ScenarioError, UsageError
from slotwise.shared.events import uid_for
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.recurrence import RecurrenceError, expand
from slotwise.shared.scenario import (
    Check,
    Meeting,
    NegotiationSettings,
    Scenario,
    load_scenario,
    offset_seconds,
    render_path,
    with_meetings,
)
from slotwise.shared.slots import Interval, SlotGrid

MAX_OCCURRENCES = 1000  # per recurring meeting within the horizon; more is a scenario error

Loc = tuple[Any, ...]


@dataclass(frozen=True)
class Plan:
    name: str
    zone: ZoneInfo
    horizon: Interval
    grid: SlotGrid
    settings: NegotiationSettings
    people: Mapping[AgentId, Person]
    meetings: tuple[MeetingSpec, ...]
    priority: Priority
    by_id: Mapping[MeetingId, MeetingSpec]
    placement_budget: float | None = None  # seconds for `placement: optimize`; None: greedy
    shown_zone: ZoneInfo | None = None  # where people read times (`--tz`); None: the scenario's

    @property
    def display_zone(self) -> ZoneInfo:
        """The zone of times in reasons and tables; the scenario's `zone` still gives naive
        times and working hours their meaning."""
        return self.shown_zone or self.zone

    def meeting(self, meeting_id: str) -> MeetingSpec | None:
        return self.by_id.get(MeetingId(meeting_id))

    @property
    def participants(self) -> tuple[AgentId, ...]:
        return tuple(self.people)

    @property
    def timezone(self) -> str:
        return self.zone.key

    @property
    def optimize_s(self) -> float | None:
        """`placement: optimize`'s time budget; None for the greedy walk."""
        return self.placement_budget

    def with_settings(self, **changes: float) -> Plan:
        """The same plan with other timeouts (the command line's --join-timeout and friends)."""
        return replace(self, settings=self.settings.model_copy(update=changes)) if changes else self


def _occurrence_starts(m: Meeting, scenario: Scenario) -> list[datetime]:
    """Each instance's start, in the scenario's zone; raises RecurrenceError past the bounds."""
    assert m.recurrence is not None
    zone = scenario.zone
    first_day = datetime.combine(scenario.horizon.start.astimezone(zone).date(), time(0), tzinfo=zone)
    return expand(m.recurrence, first_day, until=scenario.horizon.end, limit=MAX_OCCURRENCES)


def _occurrences(m: Meeting, scenario: Scenario) -> list[dict[str, Any]]:
    """A recurring meeting's occurrences, each placed within its instance's local day.

    Ids are `id@DATE`, or `id@DATETHH:MM` for an instance that does not start at midnight, so a
    rule with several instances a day (BYHOUR=9,14) still gives every occurrence its own id."""
    zone = scenario.zone
    out = []
    starts = tuple(_occurrence_starts(m, scenario))
    for start in starts:
        day = start.date()
        stamp = day.isoformat() if start.time() == time(0) else f"{day.isoformat()}T{start:%H:%M}"
        label = f"{day:%a %d %b}" if start.time() == time(0) else f"{day:%a %d %b} {start:%H:%M}"
        day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        out.append({
            "id": MeetingId(f"{m.id}@{stamp}"),
            "title": f"{m.title} ({label})",
            "series": MeetingId(m.id),
            "not_before": max(start, m.not_before) if m.not_before else start,
            "not_after": min(day_end, m.not_after) if m.not_after else day_end,
            "instance": start, "recurrence": m.recurrence, "instances": starts,
        })
    return out


def _window(horizon: Interval, not_before: datetime | None, not_after: datetime | None) -> Interval | None:
    start = max(horizon.start, not_before or horizon.start)
    end = min(horizon.end, not_after or horizon.end)
    return Interval(start, end) if start < end else None


def _remind(m: Meeting, scenario: Scenario) -> tuple[int, ...]:
    offsets = scenario.reminders if m.remind is None else m.remind
    return tuple(sorted({offset_seconds(o) for o in offsets}, reverse=True))


def _spec(m: Meeting, order: int, policies: MeetingPolicies, scenario: Scenario, grid: SlotGrid,
          horizon: Interval, occurrence: Mapping[str, Any] | None) -> MeetingSpec:
    o = occurrence or {}
    not_before = o.get("not_before", m.not_before)
    not_after = o.get("not_after", m.not_after)
    window = _window(horizon, not_before, not_after)
    draft = MeetingSpec(
        id=o.get("id", MeetingId(m.id)), name=m.name, title=o.get("title", m.title),
        duration_minutes=m.duration_minutes, invitees=tuple(AgentId(p) for p in m.invitees),
        min_participants=m.min_participants, required=0, priority=m.priority, order=order,
        window=window, not_before=not_before, not_after=not_after, series=o.get("series"),
        policies=policies, remind=_remind(m, scenario),
        on_conflict=m.on_conflict or scenario.policies.on_conflict,
        on_decline=m.on_decline or scenario.policies.on_decline, privacy=m.privacy or scenario.privacy,
        uid=uid_for(o.get("id", m.id), scenario.event_domain), instance=o.get("instance"),
        recurrence=o.get("recurrence"), instances=o.get("instances", ()))
    all_slots = tuple(grid.candidates(window, m.duration_minutes)) if window else ()
    meeting_level = [c for c in policies.constraints if not c.per_attendee]
    excluded_at: dict[int, str] = {}
    if meeting_level:
        for slot in all_slots:
            when = grid.interval(slot, m.duration_minutes)
            reason = next((r for c in meeting_level
                           if (r := c.meeting_reason(draft, when, scenario.zone)) is not None), None)
            if reason is not None:
                excluded_at[slot] = reason
    return replace(draft, required=policies.rule.minimum(draft), all_slots=all_slots,
                   candidates=tuple(s for s in all_slots if s not in excluded_at),
                   excluded_at=MappingProxyType(excluded_at))


def _privacy_problems(spec: MeetingSpec, scenario: Scenario) -> list[str]:
    """What a meeting's privacy mode cannot be combined with, and why."""
    mode, order, rule = spec.privacy, spec.policies.slot_order, spec.policies.rule
    out: list[str] = []
    if mode == "full":
        return out
    if scenario.policies.optimize_s is not None:
        out.append(f"privacy: {mode} cannot be used with placement: optimize, which plans every meeting "
                   "from every invitee's answer to every candidate; use placement: greedy"
                   + (" (counts never tells the coordinator who is free)" if mode == "counts" else ""))
    if getattr(order, "needs_free_at", False):
        out.append(f"privacy: {mode} asks the most preferred candidates first, but slot order "
                   f"{_name(order)} ranks candidates by everyone's answers; use earliest")
    if mode == "counts" and len(spec.invitees) < 2:
        out.append("privacy: counts needs at least two invitees: a count of one is that person's answer")
    if mode == "counts" and not counts_capable(rule):
        out.append(f"privacy: counts needs a rule that can be judged from counts of free invitees; "
                   f"rule {_name(rule)} has no count_groups/counts_allow (policies/hooks.py)")
    return out


def _name(policy: object) -> str:
    """The name a scenario gives the policy (a plug-in's: its class name)."""
    cls = type(policy)
    target = f"{cls.__module__}:{cls.__qualname__}"
    return next((name for name, t in BUILTIN.items() if t == target), cls.__name__)


def _compile(scenario: Scenario) -> tuple[Plan | None, list[tuple[Loc, str]]]:
    priority, per_meeting, problems = resolve_policies(scenario)
    if problems or priority is None:
        return None, problems
    grid, horizon = scenario.grid, scenario.horizon_interval
    specs: list[MeetingSpec] = []
    whose: dict[MeetingId, int] = {}  # every id after expansion, and the meeting it came from
    for i, m in enumerate(scenario.meetings):
        policies = per_meeting[i]
        try:
            occurrences = _occurrences(m, scenario) if m.recurrence else [None]
        except RecurrenceError as exc:
            problems.append((("meetings", i, "recurrence"), str(exc)))
            continue
        made = [_spec(m, len(specs) + k, policies, scenario, grid, horizon, o) for k, o in enumerate(occurrences)]
        clash = next((s for s in made if s.id in whose), None)
        if clash is not None:  # ids must be unique after expansion: `x@2024-07-21` beside a daily `x`
            j = whose[clash.id]
            problems.append((("meetings", i, "id"), f"its occurrence {clash.id!r} has the id of meetings[{j}]"
                             if m.recurrence else f"{clash.id!r} is the id of an occurrence of meetings[{j}]"))
            continue
        whose.update(dict.fromkeys((s.id for s in made), i))
        if made:  # a series' occurrences differ in time only: its rule is checked once
            problems += [(("meetings", i, "rule"), p) for p in policies.rule.problems(made[0])]
            where = ("meetings", i, "privacy") if m.privacy else ("privacy",)
            problems += [(where, p) for p in _privacy_problems(made[0], scenario)]
        specs += made
    if problems:
        return None, problems
    people = {AgentId(p): Person(scenario.person_zone(p), scenario.availability(p).working_hours)
              for p in scenario.participants}
    plan = Plan(scenario.name, scenario.zone, horizon, grid, scenario.negotiation, MappingProxyType(people),
                tuple(specs), priority, MappingProxyType({m.id: m for m in specs}), scenario.policies.optimize_s)
    return plan, []


def compile_plan(scenario: Scenario, source: str = "<scenario>") -> Plan:
    """Compile a validated scenario; raises ScenarioError (with field paths) if it cannot be."""
    plan, problems = _compile(scenario)
    if plan is None:
        raise ScenarioError(source, [Problem(render_path(loc), msg) for loc, msg in problems])
    return plan


MAX_OCCURRENCES_PER_REQUEST = 5000  # what one `meetings add` may ask the live service to place


def compile_submission(scenario: Scenario, data: Any, source: str = "<request>", order_from: int = 0,
                       *, bounded: bool = True) -> tuple[list[Meeting], tuple[MeetingSpec, ...]]:
    """New meetings for the live service, written as in a scenario's `meetings:` list, checked and
    compiled against the running scenario; raises ScenarioError (nothing is kept on error).
    `bounded=False` lifts the per-request limits, for what the service's own store holds."""
    compiled: list[Plan] = []

    def check(updated: Scenario) -> Iterable[tuple[Loc, str]]:
        count = 0  # counted before any candidate slots are computed: they are the costly part
        for i, m in enumerate(updated.meetings):
            try:
                count += len(_occurrence_starts(m, updated)) if m.recurrence else 1
            except RecurrenceError as exc:
                return [(("meetings", i, "recurrence"), str(exc))]
        if bounded and count > MAX_OCCURRENCES_PER_REQUEST:
            return [(("meetings",), f"{count} occurrences; at most {MAX_OCCURRENCES_PER_REQUEST} per request")]
        plan, problems = _compile(updated)
        if plan is not None:
            compiled.append(plan)
        return problems

    updated = with_meetings(scenario, data, source, checks=[check], bounded=bounded)
    if not compiled:
        raise UsageError("the submission did not compile")
    specs = compiled[0].meetings
    return list(updated.meetings), tuple(replace(m, order=order_from + m.order) for m in specs)


def load_plan(path: str | Path, checks: Sequence[Check] = ()) -> tuple[Scenario, Plan]:
    """Read, check and compile a scenario file: every problem at once, with file and line.
    `checks` add what the caller knows to check (that an agent's calendar files can be read)."""
    compiled: list[Plan] = []

    def check(scenario: Scenario) -> Iterable[tuple[Loc, str]]:
        plan, problems = _compile(scenario)
        if plan is not None:
            compiled.append(plan)
        return problems

    def policy_names(scenario: Scenario) -> Iterable[tuple[Loc, str]]:
        return resolve_policies(scenario)[2]

    scenario = load_scenario(path, checks=[check], always=[*checks, policy_names])
    if not compiled:  # load_scenario raises first whenever a check reports a problem
        raise UsageError(f"{path}: the scenario did not compile")
    return scenario, compiled[0]
