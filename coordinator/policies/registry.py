"""Policies by name: built-ins first, then the `slotwise.policies` entry points.

A spec in the scenario is a name (`earliest`), or a one-key mapping from name to options
(`{min-gap: {minutes: 15}}`). Unknown names and bad options raise PolicyError naming the known
policies of that kind, so a typo is answered with the list to choose from.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from slotwise.coordinator.policies.base import Kind
from slotwise.shared.errors import PolicyError
from slotwise.shared.suggest import did_you_mean

ENTRY_POINT_GROUP = "slotwise.policies"

BUILTIN: dict[str, str] = {
    # rules
    "min-participants": "slotwise.coordinator.policies.rules:MinParticipants",
    "required-attendees": "slotwise.coordinator.policies.rules:RequiredAttendees",
    "quorum": "slotwise.coordinator.policies.rules:Quorum",
    "roles": "slotwise.coordinator.policies.rules:Roles",
    # priorities
    "priority-then-order": "slotwise.coordinator.policies.priorities:PriorityThenOrder",
    "earliest-deadline-first": "slotwise.coordinator.policies.priorities:EarliestDeadlineFirst",
    "most-constrained-first": "slotwise.coordinator.policies.priorities:MostConstrainedFirst",
    # time constraints
    "weekdays": "slotwise.coordinator.policies.constraints:Weekdays",
    "time-of-day": "slotwise.coordinator.policies.constraints:TimeOfDay",
    "working-hours": "slotwise.coordinator.policies.constraints:WorkingHours",
    "min-gap": "slotwise.coordinator.policies.constraints:MinGap",
    "daily-cap": "slotwise.coordinator.policies.constraints:DailyCap",
    "blackout-dates": "slotwise.coordinator.policies.constraints:BlackoutDates",
    # slot orders
    "earliest": "slotwise.coordinator.policies.slot_orders:Earliest",
    "max-availability": "slotwise.coordinator.policies.slot_orders:MaxAvailability",
    "max-fairness": "slotwise.coordinator.policies.slot_orders:MaxFairness",
    # silent agents
    "count-as-no": "slotwise.coordinator.policies.silence:CountAsNo",
    "wait": "slotwise.coordinator.policies.silence:Wait",
    "drop-from-quorum": "slotwise.coordinator.policies.silence:DropFromQuorum",
}



@cache
def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _import(target: str) -> type[Any]:
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not isinstance(cls, type):
        raise PolicyError(f"{target} is not a class")
    return cls


def policy_class(name: str) -> type[Any] | None:
    target = BUILTIN.get(name) or _plugins().get(name)
    return _import(target) if target else None


def available(kind: Kind) -> list[str]:
    """Registered names of one kind, built-ins and plug-ins alike."""
    names = []
    for name in sorted(set(BUILTIN) | set(_plugins())):
        try:
            cls = policy_class(name)
        except Exception:  # a broken plug-in must not hide the others
            continue
        if cls is not None and getattr(cls, "kind", None) == kind:
            names.append(name)
    return names


def split_spec(spec: str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, dict) and len(spec) == 1:
        ((name, options),) = spec.items()
        if options is None:
            options = {}
        if isinstance(name, str) and isinstance(options, dict):
            return name, options
    raise PolicyError("a policy is a name, or {name: {option: value, ...}}")


def load_policy(kind: Kind, spec: str | dict[str, Any]) -> Any:
    name, options = split_spec(spec)
    try:
        cls = policy_class(name)
    except (ImportError, AttributeError) as exc:
        raise PolicyError(f"policy {name!r} cannot be loaded: {exc}") from exc
    if cls is None or getattr(cls, "kind", None) != kind:
        known = ", ".join(available(kind))
        hint = did_you_mean(name, available(kind))
        raise PolicyError(f"unknown {kind.replace('_', ' ')} policy {name!r}{hint}; known: {known}")
    try:
        parsed = cls.Options.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{name}: {problems}") from exc
    return cls(parsed)
