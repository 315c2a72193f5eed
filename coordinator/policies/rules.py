"""Rules: which sets of attendees let a meeting go ahead.

A rule's `minimum` is asked once, when the scenario is compiled, and stored as the meeting's
`required`; at negotiation time rules read `meeting.required`, so the number they enforce is the
number the results report, and a silence policy that scales it (drop-from-quorum) is obeyed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from slotwise.coordinator.policies.base import Attendance, Configured, Kind, MeetingSpec
from slotwise.shared.ids import AgentId


def _names(people: Sequence[str]) -> str:
    return ", ".join(people) or "nobody"


class _AllAvailable(Configured):
    """Hold everyone who can come: more attendees never hurt a rule without caps."""

    def attendance(self, meeting: MeetingSpec, present: Sequence[AgentId]) -> Attendance | None:
        """Any `required` of them (the optional hook, policies/hooks.py)."""
        return Attendance(meeting.required)

    def satisfied(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> bool:
        return len(attendees) >= meeting.required

    def select(self, meeting: MeetingSpec, available: Sequence[AgentId],
               load: Mapping[AgentId, int]) -> list[AgentId]:
        return list(available)

    def problems(self, meeting: MeetingSpec) -> list[str]:
        return []

    def count_groups(self, meeting: MeetingSpec) -> tuple[tuple[AgentId, ...], ...]:
        """Whose counts the rule needs beside everyone's (`privacy: counts`): none."""
        return ()

    def counts_allow(self, meeting: MeetingSpec, counts: Sequence[int]) -> bool:
        """Whether the rule may hold with at most `counts[0]` attendees, `counts[1 + k]` of
        `count_groups()[k]`: bounds, so a candidate it allows is worth a hold, one it refuses is not."""
        return counts[0] >= meeting.required


class MinOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    min_participants: Annotated[int, Field(ge=1)] | None = None  # default: the meeting's


class MinParticipants(_AllAvailable):
    """At least the meeting's `min_participants` (default: every invitee)."""

    kind: ClassVar[Kind] = "rule"
    Options = MinOptions
    options: MinOptions

    def minimum(self, meeting: MeetingSpec) -> int:
        if self.options.min_participants is not None:
            return self.options.min_participants
        return meeting.min_participants if meeting.min_participants is not None else len(meeting.invitees)

    def shortfall(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> str:
        return f"had {len(attendees)} of {meeting.required} required ({_names(attendees)})"

    def problems(self, meeting: MeetingSpec) -> list[str]:
        if meeting.required > len(meeting.invitees):
            return [f"needs {meeting.required} but only {len(meeting.invitees)} are invited"]
        return []


class RequiredOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    required: Annotated[list[str], Field(min_length=1)]
    # Total attendees, the required ones included; default: the meeting's min_participants.
    min_participants: Annotated[int, Field(ge=1)] | None = None


class RequiredAttendees(_AllAvailable):
    """Every named person must attend, plus enough others to reach the minimum."""

    kind: ClassVar[Kind] = "rule"
    Options = RequiredOptions
    options: RequiredOptions

    def minimum(self, meeting: MeetingSpec) -> int:
        if self.options.min_participants is not None:
            return self.options.min_participants
        if meeting.min_participants is not None:
            return meeting.min_participants
        return len(self.options.required)

    def satisfied(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> bool:
        return set(self.options.required) <= set(attendees) and len(attendees) >= meeting.required

    def attendance(self, meeting: MeetingSpec, present: Sequence[AgentId]) -> Attendance | None:
        return Attendance(meeting.required, frozenset(present) & frozenset(self.options.required))

    def count_groups(self, meeting: MeetingSpec) -> tuple[tuple[AgentId, ...], ...]:
        return (tuple(AgentId(p) for p in sorted(set(self.options.required))),)

    def counts_allow(self, meeting: MeetingSpec, counts: Sequence[int]) -> bool:
        return counts[0] >= meeting.required and counts[1] >= len(set(self.options.required))

    def shortfall(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> str:
        missing = [p for p in self.options.required if p not in attendees]
        text = f"had {len(attendees)} of {meeting.required} required ({_names(attendees)})"
        return text + (f" without required {_names(missing)}" if missing else "")

    def problems(self, meeting: MeetingSpec) -> list[str]:
        out = [f"required {p!r} is not invited" for p in self.options.required if p not in meeting.invitees]
        if meeting.required > len(meeting.invitees):
            out.append(f"needs {meeting.required} but only {len(meeting.invitees)} are invited")
        return out


class QuorumOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    fraction: Annotated[float, Field(gt=0, le=1)]


class Quorum(_AllAvailable):
    """At least a fraction of the invitees (rounded up), like a minimum attendance percentage."""

    kind: ClassVar[Kind] = "rule"
    Options = QuorumOptions
    options: QuorumOptions

    def minimum(self, meeting: MeetingSpec) -> int:
        return max(1, math.ceil(self.options.fraction * len(meeting.invitees) - 1e-9))

    def shortfall(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> str:
        return (f"had {len(attendees)} of {meeting.required} required for a "
                f"{self.options.fraction:.0%} quorum ({_names(attendees)})")


class Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    members: Annotated[list[str], Field(min_length=1)]
    min: Annotated[int, Field(ge=0)] = 1
    max: Annotated[int, Field(ge=1)] | None = None  # hold at most this many, least booked first


class RolesOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    groups: Annotated[dict[str, Group], Field(min_length=1)]


class Roles(Configured):
    """At least `min` from each group (one from each team, one host from a pool...).

    With `max`, only that many of a group are held: the least booked first, ties by name, which
    is what spreads a pool's load round-robin under the `max-fairness` slot order.
    """

    kind: ClassVar[Kind] = "rule"
    Options = RolesOptions
    options: RolesOptions

    def minimum(self, meeting: MeetingSpec) -> int:
        """The sum of the groups' minimums when no one is in two groups; otherwise the largest
        of them (a person in two groups may count for both): the fewest attendees accepted."""
        groups = list(self.options.groups.values())
        members = [p for g in groups for p in g.members]
        disjoint = len(members) == len(set(members))
        return max(1, sum(g.min for g in groups) if disjoint else max(g.min for g in groups))

    def attendance(self, meeting: MeetingSpec, present: Sequence[AgentId]) -> Attendance | None:
        here = frozenset(present)
        return Attendance(1, frozenset(), tuple((here & frozenset(g.members), g.min)
                                                for g in self.options.groups.values() if g.min))

    def count_groups(self, meeting: MeetingSpec) -> tuple[tuple[AgentId, ...], ...]:
        return tuple(tuple(AgentId(p) for p in sorted(set(g.members))) for g in self.options.groups.values())

    def counts_allow(self, meeting: MeetingSpec, counts: Sequence[int]) -> bool:
        return counts[0] >= 1 and all(n >= g.min for n, g in zip(counts[1:], self.options.groups.values(), strict=True))

    def satisfied(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> bool:
        present = set(attendees)
        return bool(attendees) and all(
            len(present & set(g.members)) >= g.min for g in self.options.groups.values())

    def shortfall(self, meeting: MeetingSpec, attendees: Sequence[AgentId]) -> str:
        present = set(attendees)
        short = [f"{name} {len(present & set(g.members))} of {g.min}"
                 for name, g in self.options.groups.items() if len(present & set(g.members)) < g.min]
        return f"had {_names(attendees)}; short in {', '.join(short) or 'no group'}"

    def select(self, meeting: MeetingSpec, available: Sequence[AgentId],
               load: Mapping[AgentId, int]) -> list[AgentId]:
        chosen = set(available)
        for g in self.options.groups.values():
            if g.max is None:
                continue
            pool = sorted((p for p in available if p in g.members), key=lambda p: (load.get(p, 0), p))
            chosen -= set(pool[g.max:])
        return [p for p in available if p in chosen]

    def problems(self, meeting: MeetingSpec) -> list[str]:
        out = []
        for name, g in self.options.groups.items():
            out += [f"group {name}: {p!r} is not invited" for p in g.members if p not in meeting.invitees]
            if g.max is not None and g.max < g.min:
                out.append(f"group {name}: max {g.max} is below min {g.min}")
        return out
