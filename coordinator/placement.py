"""Bookings and the reasons a meeting could not be placed.

The ledger is the coordinator's own record of who attends what. It is the second line of
defence against double-booking: agents refuse overlapping holds, and the coordinator never even
proposes a slot that collides with a meeting it has already placed for that person.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from enum import Enum

from slotwise.coordinator.policies.base import Booking, MeetingFacts, MeetingSpec, Person, PersonView
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval, SlotGrid, format_moment


class Ledger:
    """Bookings per person, in whole minutes from the slot grid's origin.

    The walk asks "is this person booked then?" for every candidate of every meeting; integer
    comparisons keep that off the coordinator's critical path (one Interval per check did not).
    """

    def __init__(self, grid: SlotGrid) -> None:
        self.grid = grid
        self._booked: dict[AgentId, list[tuple[int, int, Booking]]] = {}

    def _minutes(self, when: Interval) -> tuple[int, int]:
        a = (when.start - self.grid.origin) // timedelta(minutes=1)
        b = -((self.grid.origin - when.end) // timedelta(minutes=1))  # ceiling
        return a, b

    def conflict_at(self, who: AgentId, start: int, end: int, ignore: MeetingId | None = None) -> MeetingId | None:
        """The meeting `who` is booked in during [start, end) minutes from the origin, if any.

        A meeting never conflicts with itself (`ignore`): a meeting being moved keeps its old
        slot booked until the new one is confirmed, and may move to an overlapping slot."""
        for a, b, booking in self._booked.get(who, ()):
            if a < end and start < b and booking.meeting_id != ignore:
                return booking.meeting_id
        return None

    def conflict(self, who: AgentId, when: Interval) -> MeetingId | None:
        return self.conflict_at(who, *self._minutes(when))

    def book(self, meeting: MeetingId, when: Interval, attendees: Sequence[AgentId]) -> None:
        a, b = self._minutes(when)
        for who in attendees:
            clash = self.conflict_at(who, a, b)
            assert clash is None, f"{who} would be double-booked: {meeting} overlaps {clash}"
            self._booked.setdefault(who, []).append((a, b, Booking(meeting, when)))

    def copy(self) -> Ledger:
        """A scratch ledger to try placements on (the optimizer's dry run of the walk)."""
        other = Ledger(self.grid)
        other._booked = {who: list(entries) for who, entries in self._booked.items()}
        return other

    def unbook(self, meeting: MeetingId, attendees: Sequence[AgentId]) -> None:
        """Free the attendees' slot for `meeting` (cancelled, or moved elsewhere)."""
        for who in attendees:
            entries = self._booked.get(who, [])
            entries[:] = [e for e in entries if e[2].meeting_id != meeting]

    def entries(self, who: AgentId) -> Sequence[tuple[int, int, Booking]]:
        """`who`'s bookings as (start, end) minutes from the origin, and the booking."""
        return self._booked.get(who, ())

    def bookings(self, who: AgentId, ignore: MeetingId | None = None) -> list[Booking]:
        return [b for _, _, b in self._booked.get(who, ()) if b.meeting_id != ignore]

    def load(self, who: AgentId) -> int:
        return len(self._booked.get(who, ()))


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


class SlotJudge:
    """Who can attend a meeting's candidate slot under its policies, and why the others cannot.

    Answers, absences and the ledger are read live, so a judge sees refusals and bookings as
    they happen.
    """

    def __init__(self, meeting: MeetingSpec, grid: SlotGrid, ledger: Ledger, people: Mapping[AgentId, Person],
                 answers: Mapping[AgentId, Sequence[bool]], absent: Mapping[AgentId, Absence]) -> None:
        self.meeting = meeting
        self.slots = meeting.candidates
        self.policies = meeting.policies
        self.grid = grid
        self.ledger = ledger
        self.people = people
        self.answers = answers
        self.absent = absent
        self.invitees = meeting.invitees
        self._per_person = [c for c in self.policies.constraints if c.per_attendee]
        self._starts: Sequence[int] | None = None  # candidate starts in minutes from the origin

    def _minutes(self, i: int) -> tuple[int, int]:
        start = self.slots[i] * self.grid.minutes
        return start, start + self.meeting.duration_minutes

    def why_not(self, who: AgentId, i: int) -> str | None:
        """None if `who` can attend candidate `i`; otherwise the reason, for a person to read."""
        if who in self.absent:
            return self.absent[who].value
        said = self.answers.get(who)
        if said is None or not said[i]:
            return "not free then"
        clash = self.ledger.conflict_at(who, *self._minutes(i), self.meeting.id)
        if clash is not None:
            return f"booked in {clash}"
        return self._constraint_reason(who, i) if self._per_person else None

    def _constraint_reason(self, who: AgentId, i: int) -> str | None:
        when = self.grid.interval(self.slots[i], self.meeting.duration_minutes)
        person = self.people[who]
        view = PersonView(who, person.zone, self.ledger.bookings(who, self.meeting.id), person.working_hours)
        for c in self._per_person:
            reason = c.attendee_reason(self.meeting, when, view)
            if reason is not None:
                return reason
        return None

    def free_at(self, i: int) -> list[AgentId]:
        """Those for whom why_not(who, i) is None; spelled out because the walk calls it for
        every candidate it passes, and this is the coordinator's hot path."""
        start, end = self._minutes(i)
        absent, answers, conflict = self.absent, self.answers, self.ledger.conflict_at
        me = self.meeting.id
        free = []
        for who in self.invitees:
            said = answers.get(who)
            if who in absent or said is None or not said[i] or conflict(who, start, end, me) is not None:
                continue
            if self._per_person and self._constraint_reason(who, i) is not None:
                continue
            free.append(who)
        return free

    def open_mask(self, required: int) -> bytes | None:
        """Per candidate, non-zero where at least `required` present invitees said yes and are not
        booked then: where the rule may hold (per-person constraints aside). None for a meeting
        too large for the trick, which is: each invitee's candidates as one byte each (answers,
        with the ledger's bookings cleared by slice), summed as one big integer, so every lane
        adds at once, then compared with `required` lane by lane by one addition and one mask.
        The walk then skips, at C speed, the candidates that cannot work."""
        n = len(self.slots)
        if n == 0 or len(self.invitees) > 127 or required > 127:
            return None
        if self._starts is None:
            step, first = self.grid.minutes, self.slots[0]
            contiguous = self.slots[-1] - first + 1 == n  # the usual case: a range, not a list
            self._starts = range(first * step, (first + n) * step, step) if contiguous else [s * step for s in self.slots]
        starts, duration, me = self._starts, self.meeting.duration_minutes, self.meeting.id
        total = 0
        for who in self.invitees:
            said = self.answers.get(who)
            if said is None or who in self.absent:
                continue
            lane = bytearray(said)
            for a, b, booking in self.ledger.entries(who):
                if booking.meeting_id != me:  # candidates starting in (a - duration, b) overlap it
                    lo, hi = bisect.bisect_right(starts, a - duration), bisect.bisect_left(starts, b)
                    if lo < hi:
                        lane[lo:hi] = bytes(hi - lo)
            total += int.from_bytes(lane, "little")
        ones = int.from_bytes(b"\x01" * n, "little")
        hits = (total + (128 - max(required, 0)) * ones) & (0x80 * ones)  # lane >= required: bit 7
        return hits.to_bytes(n, "little")

    def load(self) -> dict[AgentId, int]:
        return {who: self.ledger.load(who) for who in self.invitees}

    def judged_meeting(self) -> MeetingSpec:
        """The meeting as the rule sees it: under drop-from-quorum, without its silent invitees."""
        # Never joined, silent or lost: none of them answered.
        return self.policies.silence.judged_meeting(self.meeting, list(self.absent))

    def choose(self, i: int, load: Mapping[AgentId, int], meeting: MeetingSpec) -> list[AgentId]:
        """Whom to hold at candidate `i` (the rule may cap groups), or [] if the rule fails.
        `load` and `meeting` (judged_meeting) are the caller's, fixed for a whole walk."""
        rule = self.policies.rule
        chosen = rule.select(meeting, self.free_at(i), load)
        return chosen if chosen and rule.satisfied(meeting, chosen) else []

    def facts(self, order: int, with_free_at: bool) -> MeetingFacts:
        if not with_free_at:
            return MeetingFacts(self.meeting, order, self.slots)
        free = [self.free_at(i) for i in range(len(self.slots))]
        load = self.load()
        rule, meeting = self.policies.rule, self.judged_meeting()
        chosen = [rule.select(meeting, f, load) for f in free]
        feasible = sum(1 for c in chosen if c and rule.satisfied(meeting, c))
        return MeetingFacts(self.meeting, order, self.slots, free, chosen, load, feasible)


def explain_failure(judge: SlotJudge, zone: tzinfo, attempts: Sequence[Attempt] = (),
                    gave_up: bool = False) -> str:
    """A reason a person can act on: the closest slot, who was missing there, and why."""
    grid, slots = judge.grid, judge.slots
    # Counted by kind ("not on an allowed weekday"), without the per-slot detail.
    excluded = Counter(r.split(" (")[0] for r in judge.meeting.excluded_at.values())
    parts: list[str] = []
    if excluded:
        parts.append(f"{sum(excluded.values())} candidate slots excluded ("
                     + ", ".join(f"{why}: {n}" for why, n in sorted(excluded.items())) + ")")
    if not slots:
        return "; ".join(parts) if parts else \
            "no candidate slot: the meeting does not fit in the horizon and its own time window"
    for a in attempts:
        refusals = ", ".join(f"{who} ({why})" for who, why in a.refused) or "nobody"
        parts.append(f"hold at {format_moment(grid.start(a.slot), zone)} got {len(a.confirmed)} "
                     f"confirmations; refused by {refusals}")
    if gave_up:
        parts.append(f"gave up after {len(attempts)} hold attempts")
        return "; ".join(parts)
    free_at = [judge.free_at(i) for i in range(len(slots))]
    best = max(range(len(slots)), key=lambda i: (len(free_at[i]), -i))
    there = free_at[best]
    rule = judge.policies.rule
    parts.insert(0, f"best slot {format_moment(grid.start(slots[best]), zone)} "
                    f"{rule.shortfall(judge.judged_meeting(), there)}")
    for who in judge.invitees:
        if who in there:
            continue
        said = judge.answers.get(who)
        yes = [i for i, ok in enumerate(said) if ok] if said is not None and who not in judge.absent else []
        if who in judge.absent:
            parts.append(f"{who} {judge.absent[who].value}")
        elif not yes:
            parts.append(f"{who} unavailable in all candidate slots")
        elif not any(who in free_at[i] for i in yes):
            reasons = Counter(judge.why_not(who, i) for i in yes)
            booked = sorted(r.removeprefix("booked in ") for r in reasons if r and r.startswith("booked in "))
            if booked and len(booked) == len(reasons):
                parts.append(f"{who} free only when already booked ({', '.join(booked)})")
            else:
                common = reasons.most_common(1)[0][0]
                parts.append(f"{who} free only when excluded: {common}")
        else:
            parts.append(f"{who} {judge.why_not(who, best)}")
    return "; ".join(parts)
