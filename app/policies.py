"""Everything a policy plug-in needs, from one documented place.

A plug-in is a class with a `kind` ("rule", "priority", "constraint", "slot_order", "silence"),
an optional pydantic `Options` model, and the methods of its protocol below; it is registered
under the entry-point group `slotwise.policies` (see examples/slotwise_no_lunch). Policies receive
a `MeetingSpec` (one compiled meeting occurrence) and never see sockets, clocks or files.
"""

from __future__ import annotations

from slotwise.coordinator.policies.base import (
    Booking,
    Configured,
    Kind,
    MeetingFacts,
    MeetingSpec,
    NoOptions,
    PersonView,
    Priority,
    Rule,
    Silence,
    SlotOrder,
    TimeConstraint,
)
from slotwise.coordinator.policies.registry import ENTRY_POINT_GROUP, available, load_policy
from slotwise.shared.slots import Interval

__all__ = [
    "ENTRY_POINT_GROUP",
    "Booking",
    "Configured",
    "Interval",
    "Kind",
    "MeetingFacts",
    "MeetingSpec",
    "NoOptions",
    "PersonView",
    "Priority",
    "Rule",
    "Silence",
    "SlotOrder",
    "TimeConstraint",
    "available",
    "load_policy",
]
