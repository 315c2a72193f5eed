"""Bookings and the reasons a meeting could not be placed.

The ledger is the coordinator's own record of who attends what. It is the second line of
defence against double-booking: agents refuse overlapping holds, and the coordinator never even
proposes a slot that collides with a meeting it has already placed for that person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from enum import Enum

from shared.ids import AgentId, MeetingId
from shared.slots import Interval, SlotGrid, format_moment


class Ledger:
    """Bookings per person, in whole minutes from the slot grid's origin.

    The walk asks "is this person booked then?" for every candidate of every meeting; integer
    comparisons keep that off the coordinator's critical path (one Interval per check did not).
    """

    def __init__(self, grid: SlotGrid) -> None:
        self.grid = grid
        self._booked: dict[AgentId, list[tuple[int, int, MeetingId]]] = {}

    def _minutes(self, when: Interval) -> tuple[int, int]:
        a = (when.start - self.grid.origin) // timedelta(minutes=1)
        b = -((self.grid.origin - when.end) // timedelta(minutes=1))  # ceiling
        return a, b

    def conflict_at(self, who: AgentId, start: int, end: int) -> MeetingId | None:
        """The meeting `who` is booked in during [start, end) minutes from the origin, if any."""
        for a, b, meeting in self._booked.get(who, ()):
            if a < end and start < b:
                return meeting
        return None

    def conflict(self, who: AgentId, when: Interval) -> MeetingId | None:
        return self.conflict_at(who, *self._minutes(when))

    def book(self, meeting: MeetingId, when: Interval, attendees: Sequence[AgentId]) -> None:
        a, b = self._minutes(when)
        for who in attendees:
            clash = self.conflict_at(who, a, b)
            assert clash is None, f"{who} would be double-booked: {meeting} overlaps {clash}"
            self._booked.setdefault(who, []).append((a, b, meeting))


class Absence(Enum):
    """Why an invitee had no say in a meeting's candidate slots."""

    NEVER_JOINED = "never joined"
    SILENT = "did not answer"
    LOST = "stopped responding"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One hold that did not gather enough confirmations."""

    slot: int
    confirmed: tuple[AgentId, ...]
    refused: tuple[tuple[AgentId, str], ...]


def explain_failure(
    *,
    invitees: Sequence[AgentId],
    required: int,
    slots: Sequence[int],
    grid: SlotGrid,
    duration: int,
    zone: tzinfo,
    answers: Mapping[AgentId, Sequence[bool]],
    absent: Mapping[AgentId, Absence],
    ledger: Ledger,
    attempts: Sequence[Attempt] = (),
    gave_up: bool = False,
) -> str:
    """A reason a person can act on: the closest slot, who was missing there, and why."""
    if not slots:
        return "no candidate slot: the meeting does not fit in the horizon"
    parts: list[str] = []
    for a in attempts:
        refusals = ", ".join(f"{who} ({why})" for who, why in a.refused) or "nobody"
        parts.append(f"hold at {format_moment(grid.start(a.slot), zone)} got {len(a.confirmed)} "
                     f"of {required} confirmations; refused by {refusals}")
    if gave_up:
        parts.append(f"gave up after {len(attempts)} hold attempts")
        return "; ".join(parts)

    said_yes: dict[AgentId, list[int]] = {
        who: [i for i, yes in enumerate(answers[who]) if yes] for who in invitees if who in answers
    }
    free_at: list[list[AgentId]] = [[] for _ in slots]
    booked_over: dict[AgentId, set[MeetingId]] = {}
    for who, idxs in said_yes.items():
        for i in idxs:
            start = slots[i] * grid.minutes
            clash = ledger.conflict_at(who, start, start + duration)
            if clash is None:
                free_at[i].append(who)
            else:
                booked_over.setdefault(who, set()).add(clash)
    best = max(range(len(slots)), key=lambda i: (len(free_at[i]), -i))
    there = free_at[best]
    if there:
        parts.insert(0, f"best slot {format_moment(grid.start(slots[best]), zone)} had "
                        f"{len(there)} of {required} required ({', '.join(there)})")
    else:
        parts.insert(0, f"no candidate slot had any of the {required} required")
    for who in invitees:
        if who in there:
            continue
        if who in absent:
            parts.append(f"{who} {absent[who].value}")
        elif not said_yes.get(who):
            parts.append(f"{who} unavailable in all candidate slots")
        elif not any(who in free_at[i] for i in said_yes[who]):
            parts.append(f"{who} free only when already booked ({', '.join(sorted(booked_over[who]))})")
        else:
            parts.append(f"{who} not free then")
    return "; ".join(parts)
