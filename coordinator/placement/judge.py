"""Who can attend a meeting's candidate slot, under its policies, and why the others cannot.

The judge reads the answers, the absences and the ledger live, so it sees refusals and bookings
as they happen; the walk, the planner and the reasons all ask it the same question.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from enum import Enum

from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.policies.base import MeetingFacts, MeetingSpec, Person, PersonView
from slotwise.coordinator.policies.hooks import counts_allow
from slotwise.shared.ids import AgentId
from slotwise.shared.slots import SlotGrid


class Absence(Enum):
    """Why an invitee had no say in a meeting's candidate slots."""

    NEVER_JOINED = "never joined"
    SILENT = "did not answer"
    LOST = "stopped responding"
    NO_MASK_KEY = "has no masking key (privacy: counts)"


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
        # `privacy: counts`: the groups counted (everyone asked first) and, per group and
        # candidate, how many were free; the answers stay empty.
        self.groups: tuple[tuple[AgentId, ...], ...] = ()
        self.counts: list[list[int]] | None = None
        # A privacy mode's walk: what other answers already say of a person at a candidate
        # (start slot, length in slots), so it is not asked again.
        self.known_not_free: Callable[[AgentId, int, int], bool] | None = None

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

    def holdable(self, i: int) -> list[AgentId]:
        """Those the coordinator may hold at candidate `i` without knowing their answers (counts):
        present, not booked then, passing the per-person constraints."""
        start, end = self._minutes(i)
        conflict, me = self.ledger.conflict_at, self.meeting.id
        known, slot, length = self.known_not_free, self.slots[i], -(-self.meeting.duration_minutes // self.grid.minutes)
        return [who for who in self.invitees if who not in self.absent and conflict(who, start, end, me) is None
                and not (known is not None and known(who, slot, length))
                and not (self._per_person and self._constraint_reason(who, i) is not None)]

    def bounds(self, i: int, holdable: Sequence[AgentId]) -> list[int]:
        """Per counted group, at most how many can attend candidate `i`: those counted free,
        and no more than can be held."""
        assert self.counts is not None
        here = set(holdable)
        return [min(self.counts[g][i], sum(1 for who in group if who in here)) for g, group in enumerate(self.groups)]

    def counts_allow(self, i: int) -> bool:
        return counts_allow(self.policies.rule, self.judged_meeting(), self.bounds(i, self.holdable(i)))

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
        if self.counts is not None:  # who is free is not known: how many, and where the rule may hold
            n = range(len(self.slots))
            bounds = [self.bounds(i, self.holdable(i)) for i in n]
            judged, rule = self.judged_meeting(), self.policies.rule
            feasible = sum(1 for b in bounds if counts_allow(rule, judged, b))
            return MeetingFacts(self.meeting, order, self.slots, load=self.load(), feasible=feasible)
        free = [self.free_at(i) for i in range(len(self.slots))]
        load = self.load()
        rule, meeting = self.policies.rule, self.judged_meeting()
        chosen = [rule.select(meeting, f, load) for f in free]
        feasible = sum(1 for c in chosen if c and rule.satisfied(meeting, c))
        return MeetingFacts(self.meeting, order, self.slots, free, chosen, load, feasible)
