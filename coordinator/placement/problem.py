"""The placement problem as data: each open meeting's options (a slot and whom the rule would
hold there), and a placement choosing at most one option per meeting.

Built once from the answers and the ledger (`wanted_for`), then read by the greedy placement
with its repair pass (repair.py) and by the solver (solver.py), which never touch the judge
again. What a rule or a constraint contributes beyond the judge's verdicts (which subsets of
attendees a rule accepts, the gap and daily cap a constraint imposes across meetings) comes
through the policy hooks (policies/hooks.py), so a plug-in policy reaches the model as the
built-in ones do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from slotwise.coordinator.policies.base import Attendance
from slotwise.coordinator.policies.hooks import attendance, daily_cap, gap_minutes
from slotwise.shared.ids import AgentId, MeetingId

if TYPE_CHECKING:
    from slotwise.coordinator.placement.judge import SlotJudge
    from slotwise.coordinator.placement.ledger import Ledger
    from slotwise.coordinator.policies.base import Person


@dataclass(frozen=True, slots=True)
class Option:
    meeting: MeetingId
    index: int  # the candidate's index in the meeting's candidate list
    rank: int  # its place in the meeting's slot-order preference (0: most preferred)
    start: int  # minutes from the grid's origin
    end: int
    attendees: tuple[AgentId, ...]  # everyone free there whom the rule would hold
    days: tuple[tuple[AgentId, date], ...] = ()  # each attendee's local day, for daily caps
    attendance: Attendance | None = None  # the subsets the rule accepts; None: all of them only


@dataclass(frozen=True, slots=True)
class Wanted:
    """One open meeting as the optimizer sees it."""

    id: MeetingId
    weight: int
    gap: int = 0  # minutes its attendees need free after it (min-gap)
    cap: int | None = None  # meetings a day for its attendees (daily-cap)
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class Problem:
    """Open meetings to place together, against what is booked already: handed to a solver,
    possibly on another thread, so it is plain frozen data."""

    wanted: tuple[Wanted, ...]
    booked_per_day: Mapping[tuple[AgentId, date], int]  # meetings the ledger holds per person and local day

    @property
    def weights(self) -> dict[MeetingId, int]:
        return {w.id: w.weight for w in self.wanted}


@dataclass
class Placement:
    chosen: dict[MeetingId, Option] = field(default_factory=dict)
    how: str = "greedy"  # greedy | greedy with repair | optimal | feasible (time limit)
    solver_missing: bool = False  # OR-Tools is not installed: this is the repaired greedy answer
    # The solver's proven upper bound on the weighted count (None: no solver ran). Equal to the
    # placement's weighted count when that is proven optimal, even if attendees and earliness
    # were not.
    bound: int | None = None
    # Who attends, where the placement leaves out someone its option could have (they are needed
    # elsewhere at that time); absent: all of the option's attendees.
    attending: dict[MeetingId, tuple[AgentId, ...]] = field(default_factory=dict)

    def attendees(self, meeting: MeetingId) -> tuple[AgentId, ...]:
        return self.attending.get(meeting, self.chosen[meeting].attendees)

    def value(self, weights: Mapping[MeetingId, int]) -> tuple[int, int, int]:
        return (sum(weights[m] for m in self.chosen), sum(len(self.attendees(m)) for m in self.chosen),
                -sum(o.rank for o in self.chosen.values()))


def wanted_for(judge: SlotJudge, preference: Sequence[int], weight: int, people: Mapping[AgentId, Person],
               ledger: Ledger, booked_per_day: dict[tuple[AgentId, date], int]) -> Wanted:
    """One meeting's options from its judge (answers, ledger and per-person constraints as the
    walk sees them): every feasible candidate, ranked by slot-order `preference` (with fewer,
    the placement could fall below the greedy walk, which may go anywhere). Fills `booked_per_day`
    (what the ledger holds per person and local day) where a daily cap needs it."""
    spec, grid = judge.meeting, judge.grid
    gap, cap = gap_minutes(spec), daily_cap(spec)
    load, judged = judge.load(), judge.judged_meeting()
    options: list[Option] = []
    rule = spec.policies.rule
    possible = judge.open_mask(judged.required)  # skips, at C speed, where too few can come
    for r, i in enumerate(preference):
        if possible is not None and not possible[i]:
            continue
        chosen = judge.choose(i, load, judged)
        if not chosen:
            continue
        slot = spec.candidates[i]
        start = slot * grid.minutes
        days: tuple[tuple[AgentId, date], ...] = ()
        if cap is not None:
            when = grid.start(slot)
            days = tuple((who, when.astimezone(people[who].zone).date()) for who in chosen)
            for who, day in days:
                if (who, day) not in booked_per_day:
                    zone = people[who].zone
                    booked_per_day[(who, day)] = sum(1 for b in ledger.bookings(who)
                                                     if b.when.start.astimezone(zone).date() == day)
        options.append(Option(spec.id, i, r, start, start + spec.duration_minutes, tuple(chosen), days,
                              attendance(rule, judged, chosen)))
    return Wanted(spec.id, weight, gap, cap, tuple(options))
