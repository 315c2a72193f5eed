"""From the scenario's policy section to policy objects, per meeting.

Per-meeting `rule`, `constraints` and `slot_order` replace the scenario-wide ones. A rule may
also be written by its options alone, as in `rule: {required: [alice], min_participants: 3}`:
the option names say which rule is meant (see RULE_SHORTHANDS).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from coordinator.policies.base import Priority, Rule, Silence, SlotOrder, TimeConstraint
from coordinator.policies.registry import load_policy, policy_class
from shared.errors import PolicyError
from shared.ids import MeetingId
from shared.scenario import PolicySpec, Scenario

RULE_SHORTHANDS = {"required": "required-attendees", "fraction": "quorum", "groups": "roles",
                   "min_participants": "min-participants"}


@dataclass(frozen=True)
class MeetingPolicies:
    rule: Rule
    constraints: tuple[TimeConstraint, ...]
    slot_order: SlotOrder
    silence: Silence


@dataclass(frozen=True)
class Policies:
    priority: Priority
    meetings: dict[MeetingId, MeetingPolicies]


def _rule_spec(spec: PolicySpec) -> PolicySpec:
    if isinstance(spec, dict) and not (len(spec) == 1 and policy_class(next(iter(spec))) is not None):
        for key, name in RULE_SHORTHANDS.items():
            if key in spec:
                return {name: spec}
    return spec


def _build(s: Scenario) -> tuple[Policies | None, list[tuple[tuple[Any, ...], str]]]:
    problems: list[tuple[tuple[Any, ...], str]] = []

    def load(kind: Any, spec: PolicySpec, loc: tuple[Any, ...]) -> Any:
        try:
            return load_policy(kind, _rule_spec(spec) if kind == "rule" else spec)
        except PolicyError as exc:
            problems.append((loc, str(exc)))
            return None

    g = s.policies
    priority = load("priority", g.priority, ("policies", "priority"))
    rule = load("rule", g.rule, ("policies", "rule"))
    order = load("slot_order", g.slot_order, ("policies", "slot_order"))
    constraints = [load("constraint", c, ("policies", "constraints", i)) for i, c in enumerate(g.constraints)]
    silence = load("silence", g.on_silence, ("policies", "on_silence"))
    per_meeting: dict[MeetingId, MeetingPolicies] = {}
    for i, m in enumerate(s.written_meetings):
        m_rule = load("rule", m.rule, ("meetings", i, "rule")) if m.rule is not None else rule
        m_order = load("slot_order", m.slot_order, ("meetings", i, "slot_order")) if m.slot_order is not None else order
        m_silence = load("silence", m.on_silence, ("meetings", i, "on_silence")) if m.on_silence is not None else silence
        m_constraints = constraints if m.constraints is None else [
            load("constraint", c, ("meetings", i, "constraints", j)) for j, c in enumerate(m.constraints)]
        if m_rule is not None:
            problems += [(("meetings", i, "rule"), p) for p in m_rule.problems(m)]
        if m_rule is not None and m_order is not None and m_silence is not None and None not in m_constraints:
            per_meeting[m.meeting_id] = MeetingPolicies(m_rule, tuple(m_constraints), m_order, m_silence)
    if problems or priority is None:
        return None, problems
    for occurrence in s.meetings:  # occurrences of a recurring meeting share its policies
        if occurrence.series is not None:
            per_meeting[occurrence.meeting_id] = per_meeting[MeetingId(occurrence.series)]
    return Policies(priority, per_meeting), []


def policy_problems(s: Scenario) -> Iterable[tuple[tuple[Any, ...], str]]:
    """For load_scenario(checks=...): every unknown policy or bad option, with its field path."""
    return _build(s)[1]


def resolve(s: Scenario) -> Policies:
    policies, problems = _build(s)
    if policies is None:
        raise PolicyError("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
    return policies
