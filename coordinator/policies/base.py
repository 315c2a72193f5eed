"""The policy contracts, and the facts policies are given. Every method is pure: facts in,
verdict out, no I/O.

- Rule: does this set of available attendees satisfy the meeting, and whom should we hold?
- Priority: in what order are meetings negotiated?
- TimeConstraint: is this candidate slot allowed for the meeting, or for this attendee?
- SlotOrder: among acceptable candidates, which is tried first?
- Silence: what an invitee who does not answer in time means (see `silence`).

A policy class declares its options as a pydantic model named `Options` (validated when the
scenario is loaded, so a bad parameter is a scenario error with a field path) and is built with
`cls(options)`. Third-party packages register classes under the entry-point group
`slotwise.policies` as `name = "package.module:Class"`; the class's `kind` says which of the
four it is.

The facts live here too, beside the contracts that read them: `MeetingSpec` (one compiled meeting
occurrence, which carries its resolved `MeetingPolicies`), `Person` and `PersonView`. The
compiler (coordinator/plan.py) makes them; nothing below this module knows of files.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.scenario import WorkingHoursSpec
from slotwise.shared.slots import Interval

Kind = Literal["rule", "priority", "constraint", "slot_order", "silence"]


class NoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Configured:
    """Base for policies whose options need no processing: `self.options` is the parsed model."""

    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, options: Any) -> None:
        self.options = options


@dataclass(frozen=True, slots=True)
class Booking:
    meeting_id: MeetingId
    when: Interval


@dataclass(frozen=True)
class PersonView:
    """What the coordinator may know about a person: their zone and what it has booked for them."""

    name: AgentId
    zone: tzinfo
    bookings: Sequence[Booking] = ()
    working_hours: WorkingHoursSpec | None = None  # the participant's own, if the file gives one


@dataclass(frozen=True)
class MeetingFacts:
    """What a priority or slot order may look at for one meeting."""

    meeting: MeetingSpec
    order: int  # position in the scenario file
    slots: Sequence[int]
    # Per candidate index: invitees free there (answered yes, not booked, constraints passed),
    # and whom the rule would hold among them. Empty when the policy does not need them.
    free_at: Sequence[Sequence[AgentId]] = ()
    chosen_at: Sequence[Sequence[AgentId]] = ()
    load: Mapping[AgentId, int] = field(default_factory=dict)  # meetings booked per person
    feasible: int = 0  # candidates where the rule is satisfiable from the answers


@runtime_checkable
class Rule(Protocol):
    kind: ClassVar[Kind]

    def minimum(self, meeting: MeetingSpec) -> int:
        """The fewest attendees this rule accepts. Asked once, when the scenario is compiled;
        the answer becomes `meeting.required`, which the rule then enforces and results report."""

    def problems(self, meeting: MeetingSpec) -> list[str]:
        """What makes this rule impossible for the meeting (a required person not invited...),
        checked when the scenario is compiled; empty when it can be met."""

    def satisfied(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> bool:
        """Can the meeting go ahead with exactly these attendees?"""

    def shortfall(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> str:
        """Why these attendees are not enough, for a person to read."""

    def select(self, meeting: MeetingSpec, available: Sequence[AgentId],
               load: Mapping[AgentId, int]) -> list[AgentId]:
        """Whom to hold among the available (all of them, unless the rule caps a group)."""


@runtime_checkable
class Priority(Protocol):
    kind: ClassVar[Kind]
    needs_answers: ClassVar[bool]  # True: ordering waits until every meeting's answers are in

    def key(self, facts: MeetingFacts) -> tuple[object, ...]:
        """Sort key; the smallest goes first. Ties keep file order."""


@runtime_checkable
class TimeConstraint(Protocol):
    kind: ClassVar[Kind]
    per_attendee: ClassVar[bool]  # False: meeting_reason only, applied before anyone is asked

    def meeting_reason(self, meeting: MeetingSpec, when: Interval, zone: tzinfo) -> str | None:
        """Why `when` is not allowed for the meeting at all, or None."""

    def attendee_reason(self, meeting: MeetingSpec, when: Interval, person: PersonView) -> str | None:
        """Why `person` may not attend at `when`, or None."""


@runtime_checkable
class SlotOrder(Protocol):
    kind: ClassVar[Kind]
    needs_free_at: ClassVar[bool]  # False: the walk can go lazily, slot by slot

    def key(self, facts: MeetingFacts, index: int) -> tuple[object, ...]:
        """Sort key for candidate `index`; the smallest is tried first. Ties go to the earlier."""


@runtime_checkable
class Silence(Protocol):
    kind: ClassVar[Kind]

    def retries(self, default: int) -> int:
        """How many times an unanswered request is sent again before giving up on it."""

    def judged_meeting(self, meeting: MeetingSpec, silent: Collection[str]) -> MeetingSpec:
        """The meeting as its rule should see it, given who stayed silent."""


@dataclass(frozen=True)
class MeetingPolicies:
    rule: Rule
    constraints: tuple[TimeConstraint, ...]
    slot_order: SlotOrder
    silence: Silence


@dataclass(frozen=True)
class Person:
    """What the coordinator knows of a participant beyond its answers."""

    zone: tzinfo
    working_hours: WorkingHoursSpec | None = None


@dataclass(frozen=True, slots=True)
class MeetingSpec:
    """One meeting occurrence, ready to negotiate. Policies receive this, never file models."""

    id: MeetingId
    name: str  # as written ("" if none); `title` is what people read
    title: str
    duration_minutes: int
    invitees: tuple[AgentId, ...]
    min_participants: int | None  # as written in the file; None: the rule's default
    required: int  # the fewest attendees the rule accepts: `rule.minimum`, asked once
    priority: int
    order: int  # position in the plan (file order; a series' occurrences in time order)
    window: Interval | None  # the horizon cut to not_before / not_after; None: nothing left
    not_before: datetime | None
    not_after: datetime | None  # also the deadline for earliest-deadline-first
    series: MeetingId | None  # for an occurrence: the id of the recurring meeting
    policies: MeetingPolicies
    all_slots: tuple[int, ...] = ()  # every candidate start in the window, as grid indices
    candidates: tuple[int, ...] = ()  # those meeting-level constraints allow: what is asked
    excluded_at: Mapping[int, str] = field(default_factory=dict)  # slot -> why it was removed
    remind: tuple[int, ...] = ()  # reminder offsets before the start, seconds, largest first
    on_conflict: str = "move"  # the live service's answer to an attendee's calendar changing
    on_decline: str = "drop-attendee"  # ... and to an attendee declining in their calendar client
    privacy: str = "full"  # what the coordinator may learn of calendars: full, incremental, counts
    uid: str = ""  # its calendar events' UID, `<id>@<uid domain>` (shared/events.py)
    # An occurrence of a recurring meeting: its instance's start by the rule (in the scenario's
    # zone), the rule, and every instance's start, so invitations can say it as one series.
    instance: datetime | None = None
    recurrence: str | None = None
    instances: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class Attendance:
    """Which subsets of some present attendees a rule accepts, as linear constraints: at least
    `least` of them, every one of `must`, and at least `n` of each group's members present. A
    rule says so through its optional `attendance` hook (policies/hooks.py); without one, the
    attendees it would hold come all together."""

    least: int
    must: frozenset[AgentId] = frozenset()
    groups: tuple[tuple[frozenset[AgentId], int], ...] = ()
