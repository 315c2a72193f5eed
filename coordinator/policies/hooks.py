"""Optional policy hooks, with their defaults.

The contracts (policies/base.py) are what every policy must answer. A placement that looks at
all meetings at once (`placement: optimize`) needs a little more, and asks it here, of built-in
and plug-in policies alike (pluggy's optional hooks, in miniature):

- a rule's `attendance(meeting, present) -> Attendance | None`: which subsets of `present` it
  accepts, as counts. Default: None, so the attendees it would hold come all together (always
  correct, but the solver cannot leave anyone out to make room elsewhere);
- a rule's `count_groups(meeting)` and `counts_allow(meeting, counts)`: the groups whose counts
  of free members it needs beside everyone's, and whether counts (upper bounds) may satisfy it,
  for `privacy: counts`, where the coordinator never learns who is free. Without them a rule
  cannot be used with counts (said when the scenario is compiled);
- a time constraint's `gap_minutes() -> int`: minutes an attendee needs free after the
  meeting before their next (default 0);
- a time constraint's `daily_cap() -> int | None`: meetings an attendee may have in one local
  day (default None: no cap).

A constraint that links meetings in some other way still holds, because the walk and its holds
decide: the solver's answer only proposes where each meeting goes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

from slotwise.coordinator.policies.base import Attendance, MeetingSpec
from slotwise.shared.ids import AgentId


def attendance(rule: object, meeting: MeetingSpec, present: Sequence[AgentId]) -> Attendance | None:
    """`rule.attendance(meeting, present)`, or None for a rule without the hook."""
    hook = getattr(rule, "attendance", None)
    return hook(meeting, present) if callable(hook) else None


def gap_minutes(spec: MeetingSpec) -> int:
    """The longest gap any of the meeting's constraints asks for after it (0 without one)."""
    gaps = [hook() for c in spec.policies.constraints if callable(hook := getattr(c, "gap_minutes", None))]
    return max((int(g) for g in gaps), default=0)


def daily_cap(spec: MeetingSpec) -> int | None:
    """The smallest daily cap any of the meeting's constraints sets (None without one)."""
    caps = [hook() for c in spec.policies.constraints if callable(hook := getattr(c, "daily_cap", None))]
    return min((int(c) for c in caps if c is not None), default=None)


def counts_capable(rule: object) -> bool:
    """Whether the rule can be judged from counts of free invitees (`privacy: counts`)."""
    return callable(getattr(rule, "count_groups", None)) and callable(getattr(rule, "counts_allow", None))


class _Counting(Protocol):
    def count_groups(self, meeting: MeetingSpec) -> Sequence[Sequence[AgentId]]: ...
    def counts_allow(self, meeting: MeetingSpec, counts: Sequence[int]) -> bool: ...


def count_groups(rule: object, meeting: MeetingSpec) -> tuple[tuple[AgentId, ...], ...]:
    """The rule's groups (a rule the compiler let through with counts has the hook)."""
    return tuple(tuple(g) for g in cast(_Counting, rule).count_groups(meeting))


def counts_allow(rule: object, meeting: MeetingSpec, counts: Sequence[int]) -> bool:
    return bool(cast(_Counting, rule).counts_allow(meeting, counts))
