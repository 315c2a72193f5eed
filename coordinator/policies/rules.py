"""Rules: which sets of attendees let a meeting go ahead."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from coordinator.policies.base import Configured, Kind
from shared.ids import AgentId
from shared.scenario import Meeting


def _names(people: Sequence[str]) -> str:
    return ", ".join(people) or "nobody"


class _AllAvailable(Configured):
    """Hold everyone who can come: more attendees never hurt a rule without caps."""

    def select(self, meeting: Meeting, available: Sequence[AgentId],
               load: Mapping[AgentId, int]) -> list[AgentId]:
        return list(available)

    def problems(self, meeting: Meeting) -> list[str]:
        return []


class MinOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    min_participants: Annotated[int, Field(ge=1)] | None = None  # default: the meeting's


class MinParticipants(_AllAvailable):
    """At least the meeting's `min_participants` (default: every invitee)."""

    kind: ClassVar[Kind] = "rule"
    Options = MinOptions
    options: MinOptions

    def _minimum(self, meeting: Meeting) -> int:
        return self.options.min_participants or meeting.required

    def satisfied(self, meeting: Meeting, attendees: Sequence[AgentId]) -> bool:
        return len(attendees) >= self._minimum(meeting)

    def shortfall(self, meeting: Meeting, attendees: Sequence[AgentId]) -> str:
        return f"had {len(attendees)} of {self._minimum(meeting)} required ({_names(attendees)})"

    def problems(self, meeting: Meeting) -> list[str]:
        if self._minimum(meeting) > len(meeting.invitees):
            return [f"needs {self._minimum(meeting)} but only {len(meeting.invitees)} are invited"]
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

    def _minimum(self, meeting: Meeting) -> int:
        if self.options.min_participants is not None:
            return self.options.min_participants
        if meeting.min_participants is not None:
            return meeting.min_participants
        return len(self.options.required)

    def satisfied(self, meeting: Meeting, attendees: Sequence[AgentId]) -> bool:
        return set(self.options.required) <= set(attendees) and len(attendees) >= self._minimum(meeting)

    def shortfall(self, meeting: Meeting, attendees: Sequence[AgentId]) -> str:
        missing = [p for p in self.options.required if p not in attendees]
        text = f"had {len(attendees)} of {self._minimum(meeting)} required ({_names(attendees)})"
        return text + (f" without required {_names(missing)}" if missing else "")

    def problems(self, meeting: Meeting) -> list[str]:
        out = [f"required {p!r} is not invited" for p in self.options.required if p not in meeting.invitees]
        if self._minimum(meeting) > len(meeting.invitees):
            out.append(f"needs {self._minimum(meeting)} but only {len(meeting.invitees)} are invited")
        return out


class QuorumOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    fraction: Annotated[float, Field(gt=0, le=1)]


class Quorum(_AllAvailable):
    """At least a fraction of the invitees (rounded up), like a minimum attendance percentage."""

    kind: ClassVar[Kind] = "rule"
    Options = QuorumOptions
    options: QuorumOptions

    def needed(self, meeting: Meeting) -> int:
        return max(1, math.ceil(self.options.fraction * len(meeting.invitees) - 1e-9))

    def satisfied(self, meeting: Meeting, attendees: Sequence[AgentId]) -> bool:
        return len(attendees) >= self.needed(meeting)

    def shortfall(self, meeting: Meeting, attendees: Sequence[AgentId]) -> str:
        return (f"had {len(attendees)} of {self.needed(meeting)} required for a "
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

    def satisfied(self, meeting: Meeting, attendees: Sequence[AgentId]) -> bool:
        present = set(attendees)
        return bool(attendees) and all(
            len(present & set(g.members)) >= g.min for g in self.options.groups.values())

    def shortfall(self, meeting: Meeting, attendees: Sequence[AgentId]) -> str:
        present = set(attendees)
        short = [f"{name} {len(present & set(g.members))} of {g.min}"
                 for name, g in self.options.groups.items() if len(present & set(g.members)) < g.min]
        return f"had {_names(attendees)}; short in {', '.join(short) or 'no group'}"

    def select(self, meeting: Meeting, available: Sequence[AgentId],
               load: Mapping[AgentId, int]) -> list[AgentId]:
        chosen = set(available)
        for g in self.options.groups.values():
            if g.max is None:
                continue
            pool = sorted((p for p in available if p in g.members), key=lambda p: (load.get(p, 0), p))
            chosen -= set(pool[g.max:])
        return [p for p in available if p in chosen]

    def problems(self, meeting: Meeting) -> list[str]:
        out = []
        for name, g in self.options.groups.items():
            out += [f"group {name}: {p!r} is not invited" for p in g.members if p not in meeting.invitees]
            if g.max is not None and g.max < g.min:
                out.append(f"group {name}: max {g.max} is below min {g.min}")
        return out
