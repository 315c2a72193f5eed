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

An option's attendees need not all come: where its rule accepts fewer (at least the minimum,
the required people, each role's count), every attendee has a literal of their own, and only
those present occupy their time. The walk may likewise leave out an invitee booked elsewhere,
so a model with fixed attendee sets could do worse than the walk on crowded weeks. The plan's
attendees are the ones its first hold asks.

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
    from ortools.sat.python import cp_model

    from slotwise.coordinator.placement import Ledger, Person, SlotJudge
    from slotwise.coordinator.plan import MeetingSpec


@dataclass(frozen=True, slots=True)
class Attendance:
    """Which subsets of an option's attendees its rule accepts, as linear constraints: at least
    `least` of them, every one of `must`, and at least `n` of each group's members present.
    Without one (a rule the optimizer does not know), an option's attendees come all together."""

    least: int
    must: frozenset[AgentId] = frozenset()
    groups: tuple[tuple[frozenset[AgentId], int], ...] = ()


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


@dataclass
class Placement:
    chosen: dict[MeetingId, Option] = field(default_factory=dict)
    how: str = "greedy"  # greedy | optimal | feasible (time limit) | greedy (no solver)
    # Who attends, where the plan leaves out someone its option could have (they are needed
    # elsewhere at that time); absent: all of the option's attendees.
    attending: dict[MeetingId, tuple[AgentId, ...]] = field(default_factory=dict)

    def attendees(self, meeting: MeetingId) -> tuple[AgentId, ...]:
        return self.attending.get(meeting, self.chosen[meeting].attendees)

    def value(self, weights: Mapping[MeetingId, int]) -> tuple[int, int, int]:
        return (sum(weights[m] for m in self.chosen), sum(len(self.attendees(m)) for m in self.chosen),
                -sum(o.rank for o in self.chosen.values()))


# Beyond this many (attendee, option) pairs, a literal per pair makes the model too hard for a
# budget of seconds (measured: at 50 x 200 it used its whole 3 s and still fell back to greedy
# on crowded weeks), so options keep their attendees together.
ATTENDANCE_PAIRS = 3_000
# Beyond this many pairs CP-SAT found not even a first solution in a budget of seconds (50 x 200,
# every feasible candidate: about 50,000 pairs, nothing within 2 s), so a short budget is not
# spent on it; given LARGE_MODEL_S or more (the quality benchmark's reference), it is tried.
MAX_PAIRS = 30_000
LARGE_MODEL_S = 20.0
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
    rule = spec.policies.rule
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
        options.append(Option(spec.id, i, r, start, start + spec.duration_minutes, tuple(chosen), days,
                              attendance_for(rule, judged, chosen)))
    return Wanted(spec.id, weight, gap, cap, tuple(options))


def attendance_for(rule: object, judged: MeetingSpec, chosen: Sequence[AgentId]) -> Attendance | None:
    """The rule's accepted subsets of `chosen` as constraints, for the rules shipped with slotwise;
    None for any other (a plug-in's), whose options then keep all their attendees."""
    from slotwise.coordinator.policies.rules import MinParticipants, Quorum, RequiredAttendees, Roles

    present = frozenset(chosen)
    if isinstance(rule, (MinParticipants, Quorum)):
        return Attendance(judged.required)
    if isinstance(rule, RequiredAttendees):
        return Attendance(judged.required, present & frozenset(rule.options.required))
    if isinstance(rule, Roles):
        groups = tuple((present & frozenset(g.members), g.min) for g in rule.options.groups.values() if g.min)
        return Attendance(1, frozenset(), groups)
    return None


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


def _attendance_vars(model: cp_model.CpModel, o: Option, placed: cp_model.IntVar) -> dict[AgentId, cp_model.IntVar]:
    """One literal per attendee of an option whose rule accepts fewer than all of them: each
    implies the option, and the rule's counts hold when it is placed. Empty when the option's
    attendees can only come all together (then the option's own literal stands for each)."""
    a = o.attendance
    if a is None or (len(o.attendees) <= a.least and not a.groups):
        return {}
    present = {who: model.new_bool_var("") for who in o.attendees}
    for who, lit in present.items():
        if who in a.must:
            model.add(lit == placed)
        else:
            model.add_implication(lit, placed)
    model.add(sum(present.values()) >= a.least * placed)
    for members, least in a.groups:
        model.add(sum(present[m] for m in members) >= least * placed)
    return present


def optimize(wanted: Sequence[Wanted], time_limit_s: float,
             booked_per_day: Mapping[tuple[AgentId, date], int] | None = None,
             attendance: bool | None = None) -> Placement:
    """The best placement CP-SAT finds within `time_limit_s`, never worse than greedy; raises
    ImportError when OR-Tools is not installed (the caller falls back and says so).

    `attendance`: a literal per attendee where the rule accepts subsets (exact, and a much
    harder model), or options whose attendees come all together (fast: proven optimal in well
    under a second on most weeks). None chooses: per attendee when the model stays small
    (a request of a few meetings, a small week), whole options otherwise."""
    from ortools.sat.python import cp_model

    pairs = sum(len(o.attendees) for w in wanted for o in w.options)
    if attendance is None:
        attendance = pairs <= ATTENDANCE_PAIRS
    floor = greedy(wanted, booked_per_day)
    if pairs > MAX_PAIRS and time_limit_s < LARGE_MODEL_S:
        floor.how = f"greedy: a model of {pairs:,} attendee-option pairs is too large for {time_limit_s:g}s"
        return floor
    weights = {w.id: w.weight for w in wanted}
    if not any(w.options for w in wanted):
        return floor
    model = cp_model.CpModel()
    max_rank = 1 + max((o.rank for w in wanted for o in w.options), default=0)
    tier2 = len(wanted) * max_rank + 1  # one more attendee outweighs any earliness
    x: dict[tuple[MeetingId, int], cp_model.IntVar] = {}
    y: dict[tuple[MeetingId, int], dict[AgentId, cp_model.IntVar]] = {}  # who attends, where it may vary
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
            present = _attendance_vars(model, o, var) if attendance else {}
            if present:
                y[(w.id, o.index)] = present
            for who in o.attendees:
                lit = present.get(who, var)
                intervals[who].append(model.new_optional_fixed_size_interval_var(o.start, o.end - o.start + w.gap, lit, ""))
            for who, day in o.days:
                day_vars[(who, day)].append(present.get(who, var))
                if w.cap is not None:
                    day_caps[(who, day)] = min(day_caps.get((who, day), w.cap), w.cap)
            first.append(var * w.weight)
            second.append(var * (max_rank - o.rank))
            second += [lit * tier2 for lit in present.values()] if present else [var * (len(o.attendees) * tier2)]
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
                on = best.chosen.get(w.id) == o
                model.add_hint(x[(w.id, o.index)], on)
                for who, lit in y.get((w.id, o.index), {}).items():
                    model.add_hint(lit, on and who in best.attendees(w.id))
        model.maximize(sum(objective))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left / 2 if stage == 0 else left
        solver.parameters.num_workers = 2  # the machines this runs on have two cores
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        found = Placement({w.id: o for w in wanted for o in w.options if solver.value(x[(w.id, o.index)])})
        for m, o in found.chosen.items():
            literals = y.get((m, o.index))
            if literals is not None:
                found.attending[m] = tuple(who for who in o.attendees if solver.value(literals[who]))
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
