"""Placement that looks at all meetings at once (`policies: {placement: optimize}`).

Once every meeting's answers are in, the coordinator knows for each meeting and candidate slot
whom the rule would hold there (`Option`). Choosing at most one option per meeting so that no
person is in two at once is a weighted packing problem; OR-Tools' CP-SAT solves it (an
optional extra: `pip install 'slotwise[optimize]'`), lexicographically maximising

  1. the priority-weighted number of meetings placed (weight 1 for the lowest priority present,
     one more per priority step above it),
  2. then the number of attendees,
  3. then earliness (each meeting's rank in its own slot-order preference).

The solver starts from the greedy answer (meetings in priority order, each at its first option
that fits) as a hint and as a floor: what comes back is never worse than greedy, and when the
solver is missing or finds nothing in its time budget, greedy is the answer.

Per-person constraints that link meetings are encoded too: `min-gap` by lengthening each
interval by the gap, `daily-cap` as a count per person and local day. The result only proposes:
each meeting's walk starts at its chosen slot, and the walk (holds, the ledger, every rule and
constraint) still decides. A refused hold sends that meeting on along its usual preference.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from slotwise.shared.ids import AgentId, MeetingId

if TYPE_CHECKING:
    from slotwise.coordinator.placement import Ledger, Person, SlotJudge


@dataclass(frozen=True, slots=True)
class Option:
    meeting: MeetingId
    index: int  # the candidate's index in the meeting's candidate list
    rank: int  # its place in the meeting's slot-order preference (0: most preferred)
    start: int  # minutes from the grid's origin
    end: int
    attendees: tuple[AgentId, ...]
    days: tuple[tuple[AgentId, date], ...] = ()  # each attendee's local day, for daily caps


@dataclass(frozen=True, slots=True)
class Wanted:
    """One open meeting as the optimizer sees it."""

    id: MeetingId
    weight: int
    gap: int = 0  # minutes its attendees need free after it (min-gap)
    cap: int | None = None  # meetings a day for its attendees (daily-cap)
    options: tuple[Option, ...] = ()


@dataclass
class Placement:
    chosen: dict[MeetingId, Option] = field(default_factory=dict)
    how: str = "greedy"  # greedy | optimal | feasible (time limit) | greedy (no solver)

    def value(self, weights: Mapping[MeetingId, int]) -> tuple[int, int, int]:
        return (sum(weights[m] for m in self.chosen), sum(len(o.attendees) for o in self.chosen.values()),
                -sum(o.rank for o in self.chosen.values()))


OPTIONS_PER_MEETING = 40  # the most preferred feasible candidates each meeting offers the solver


def wanted_for(judge: SlotJudge, preference: Sequence[int], weight: int, people: Mapping[AgentId, Person],
               ledger: Ledger, booked_per_day: dict[tuple[AgentId, date], int],
               limit: int | None = OPTIONS_PER_MEETING) -> Wanted:
    """One meeting's options from its judge (answers, ledger and per-person constraints as the
    walk sees them): its first `limit` feasible candidates in slot-order `preference` (None: all
    of them; a few dozen keep the model small and lose almost nothing, see the quality
    benchmark). Fills `booked_per_day` (what the ledger holds per person and local day) where a
    daily cap needs it."""
    from slotwise.coordinator.policies.constraints import DailyCap, MinGap

    spec, grid = judge.meeting, judge.grid
    constraints = spec.policies.constraints
    gap = max((int(c.gap.total_seconds() // 60) for c in constraints if isinstance(c, MinGap)), default=0)
    cap = min((c.cap for c in constraints if isinstance(c, DailyCap)), default=None)
    load, judged = judge.load(), judge.judged_meeting()
    options: list[Option] = []
    for r, i in enumerate(preference):
        if limit is not None and len(options) >= limit:
            break
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
        options.append(Option(spec.id, i, r, start, start + spec.duration_minutes, tuple(chosen), days))
    return Wanted(spec.id, weight, gap, cap, tuple(options))


def _fits(option: Option, gap: int, taken: Mapping[AgentId, list[tuple[int, int]]],
          per_day: Mapping[tuple[AgentId, date], int], cap: int | None) -> bool:
    for who in option.attendees:
        for a, b in taken.get(who, ()):
            if a < option.end + gap and option.start < b:
                return False
    return cap is None or all(per_day.get(d, 0) < cap for d in option.days)


def greedy(wanted: Sequence[Wanted], booked_per_day: Mapping[tuple[AgentId, date], int] | None = None) -> Placement:
    """In the given (priority) order, each meeting at its most preferred option that still fits."""
    taken: dict[AgentId, list[tuple[int, int]]] = defaultdict(list)
    per_day: dict[tuple[AgentId, date], int] = defaultdict(int, booked_per_day or {})
    out = Placement()
    for w in wanted:
        for option in sorted(w.options, key=lambda o: o.rank):
            if _fits(option, w.gap, taken, per_day, w.cap):
                out.chosen[w.id] = option
                for who in option.attendees:
                    taken[who].append((option.start, option.end + w.gap))
                for d in option.days:
                    per_day[d] += 1
                break
    return out


def optimize(wanted: Sequence[Wanted], time_limit_s: float,
             booked_per_day: Mapping[tuple[AgentId, date], int] | None = None) -> Placement:
    """The best placement CP-SAT finds within `time_limit_s`, never worse than greedy; raises
    ImportError when OR-Tools is not installed (the caller falls back and says so)."""
    from ortools.sat.python import cp_model

    floor = greedy(wanted, booked_per_day)
    weights = {w.id: w.weight for w in wanted}
    if not any(w.options for w in wanted):
        return floor
    model = cp_model.CpModel()
    max_rank = 1 + max((o.rank for w in wanted for o in w.options), default=0)
    tier2 = len(wanted) * max_rank + 1  # one more attendee outweighs any earliness
    x: dict[tuple[MeetingId, int], cp_model.IntVar] = {}
    intervals: dict[AgentId, list[cp_model.IntervalVar]] = defaultdict(list)
    day_vars: dict[tuple[AgentId, date], list[cp_model.IntVar]] = defaultdict(list)
    day_caps: dict[tuple[AgentId, date], int] = {}
    first, second = [], []  # the weighted count; then attendees and earliness
    for w in wanted:
        chosen_here = []
        for o in w.options:
            var = model.new_bool_var(f"x_{w.id}_{o.index}")
            x[(w.id, o.index)] = var
            chosen_here.append(var)
            for who in o.attendees:
                intervals[who].append(model.new_optional_fixed_size_interval_var(o.start, o.end - o.start + w.gap, var, ""))
            for d in o.days:
                day_vars[d].append(var)
                if w.cap is not None:
                    day_caps[d] = min(day_caps.get(d, w.cap), w.cap)
            first.append(var * w.weight)
            second.append(var * (len(o.attendees) * tier2 + (max_rank - o.rank)))
        model.add_at_most_one(chosen_here)
    for spans in intervals.values():
        if len(spans) > 1:
            model.add_no_overlap(spans)
    for d, cap in day_caps.items():
        model.add(sum(day_vars[d]) <= cap - (booked_per_day or {}).get(d, 0))
    # Two stages, each from the best answer so far: first the weighted count alone (the tier
    # that matters most, and the one a combined objective spends its time budget badly on),
    # then, holding that count, attendees and earliness.
    best, how = floor, "greedy"
    started = time.monotonic()
    for stage, objective in enumerate((first, second)):
        left = time_limit_s - (time.monotonic() - started)
        if left <= 0:
            break
        model.clear_hints()  # type: ignore[no-untyped-call]  # untyped in OR-Tools 9.15
        for w in wanted:
            for o in w.options:
                model.add_hint(x[(w.id, o.index)], best.chosen.get(w.id) == o)
        model.maximize(sum(objective))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left / 2 if stage == 0 else left
        solver.parameters.num_workers = 2  # the machines this runs on have two cores
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        found = Placement({w.id: o for w in wanted for o in w.options if solver.value(x[(w.id, o.index)])})
        proven = status == cp_model.OPTIMAL
        if stage == 0:  # judged on the weighted count alone; the rest is the next stage's
            if found.value(weights)[0] > best.value(weights)[0]:
                best = found
            model.add(sum(first) >= best.value(weights)[0])
            how = "optimal" if proven else "feasible"
        elif found.value(weights) >= best.value(weights):
            best = found
            how = how if proven else "feasible"
        else:
            how = "feasible"
    best.how = how
    return best
