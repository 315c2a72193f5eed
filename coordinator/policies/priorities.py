"""Priorities: the order in which meetings are negotiated (earlier ones get first pick)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from slotwise.coordinator.policies.base import Configured, Kind, MeetingFacts

_NEVER = datetime.max.replace(tzinfo=UTC)


class PriorityThenOrder(Configured):
    """Higher `priority` first, then as listed."""

    kind: ClassVar[Kind] = "priority"
    needs_answers: ClassVar[bool] = False

    def key(self, facts: MeetingFacts) -> tuple[object, ...]:
        return (-facts.meeting.priority, facts.order)


class EarliestDeadlineFirst(Configured):
    """Meetings with the nearest `not_after` first; those without a deadline last."""

    kind: ClassVar[Kind] = "priority"
    needs_answers: ClassVar[bool] = False

    def key(self, facts: MeetingFacts) -> tuple[object, ...]:
        return (facts.meeting.not_after or _NEVER, -facts.meeting.priority, facts.order)


class MostConstrainedFirst(Configured):
    """Within each priority class (never above it), fewest feasible candidates first (counted
    once every meeting's answers are in), so the meetings with the least room are not crowded
    out by those that could go anywhere. Ranking by room before priority placed more meetings
    but lost weight: a crowded low-priority meeting went ahead of an important one."""

    kind: ClassVar[Kind] = "priority"
    needs_answers: ClassVar[bool] = True

    def key(self, facts: MeetingFacts) -> tuple[object, ...]:
        return (-facts.meeting.priority, facts.feasible, facts.order)
