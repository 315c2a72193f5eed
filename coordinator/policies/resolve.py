"""From the scenario's policy section to policy objects, per meeting.

Per-meeting `rule`, `constraints` and `slot_order` replace the scenario-wide ones. A rule may
also be written by its options alone, as in `rule: {required: [alice], min_participants: 3}`:
the option names say which rule is meant (see RULE_SHORTHANDS).
"""

from __future__ import annotations

from typing import Any

from slotwise.coordinator.policies.base import Kind, MeetingPolicies, Priority
from slotwise.coordinator.policies.registry import load_policy, policy_class
from slotwise.shared.errors import PolicyError
from slotwise.shared.scenario import PolicySpec, Scenario

Loc = tuple[Any, ...]
RULE_SHORTHANDS = {"required": "required-attendees", "fraction": "quorum", "groups": "roles",
                   "min_participants": "min-participants"}


def _rule_spec(spec: PolicySpec) -> PolicySpec:
    if isinstance(spec, dict) and not (len(spec) == 1 and policy_class(next(iter(spec))) is not None):
        for key, name in RULE_SHORTHANDS.items():
            if key in spec:
                return {name: spec}
    return spec


def resolve_policies(s: Scenario) -> tuple[Priority | None, list[MeetingPolicies], list[tuple[Loc, str]]]:
    """The scenario-wide priority and each written meeting's policies (by index in the file),
    or the problems, each with the field path of the spec to change."""
    problems: list[tuple[Loc, str]] = []

    def load(kind: Kind, spec: PolicySpec, loc: Loc) -> Any:
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
    per_meeting: list[MeetingPolicies] = []
    for i, m in enumerate(s.meetings):
        m_rule = load("rule", m.rule, ("meetings", i, "rule")) if m.rule is not None else rule
        m_order = load("slot_order", m.slot_order, ("meetings", i, "slot_order")) if m.slot_order is not None else order
        m_silence = load("silence", m.on_silence, ("meetings", i, "on_silence")) if m.on_silence is not None else silence
        m_constraints = constraints if m.constraints is None else [
            load("constraint", c, ("meetings", i, "constraints", j)) for j, c in enumerate(m.constraints)]
        if m_rule is not None and m_order is not None and m_silence is not None and None not in m_constraints:
            per_meeting.append(MeetingPolicies(m_rule, tuple(m_constraints), m_order, m_silence))
    if problems or priority is None:
        return None, [], problems
    return priority, per_meeting, []
