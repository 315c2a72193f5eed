"""Placement that looks at all meetings at once (`policies: {placement: optimize}`).

Once every meeting's answers are in, the coordinator knows for each meeting and candidate slot
whom the rule would hold there (`Option`). Choosing at most one option per meeting so that no
person is in two at once is a weighted packing problem; OR-Tools' CP-SAT solves it (an
optional extra: `pip install 'slotwise[optimize]'`), lexicographically maximising

  1. the priority-weighted number of meetings placed (weight 1 for the lowest priority present,
     one more per priority step above it),
  2. then the number of attendees,
  3. then earliness (each meeting's rank in its own slot-order preference).

The solver starts from the greedy placement with its repair pass (repair.py) as a hint
and as a floor: what comes back is never worse than that, and when the solver is missing or
finds nothing better in its time budget, that is the answer. The start matters: CP-SAT alone
reached 90-93 % of the optimum in 3 s on the largest crowded weeks, and from the repaired
answer 98.5-99 % over all the quality benchmark's weeks (benchmarks/quality.py). Most of the
budget goes to the weighted count alone; attendees and earliness are a second, shorter solve
holding that count.

An option's attendees need not all come: where its rule accepts fewer (at least the minimum,
the required people, each role's count), every attendee has a literal of their own, and only
those present occupy their time. The walk may likewise leave out an invitee booked elsewhere,
so a model with fixed attendee sets did worse than the walk on crowded weeks. A placement's
attendees are the ones its first hold asks.

Per-person constraints that link meetings are encoded too: `min-gap` by lengthening each
interval by the gap, `daily-cap` as a count per person and local day. The result only proposes:
each meeting's walk starts at its chosen slot, and the walk (holds, the ledger, every rule and
constraint) still decides. A refused hold sends that meeting on along its usual preference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from slotwise.coordinator.placement.problem import Option, Placement, Problem, Wanted
from slotwise.coordinator.placement.repair import greedy_with_repair
from slotwise.shared.ids import AgentId, MeetingId

if TYPE_CHECKING:
    from ortools.sat.python import cp_model


# Beyond this many (attendee, option) pairs CP-SAT found not even a first solution in a budget
# of seconds (50 x 200, every feasible candidate: about 50,000 pairs, nothing within 2 s), so a
# short budget is not spent on it and the repaired greedy answer stands; given LARGE_MODEL_S or
# more (the quality benchmark's reference), it is tried.
MAX_PAIRS = 30_000
LARGE_MODEL_S = 20.0
# Shares of the budget: the weighted count, the objective that matters most, may take most of
# it; attendees and earliness (the repair pass has already added everyone free back) get at
# most a fifth, so a week that is proven in a fraction of a second is not kept waiting.
FIRST_STAGE_SHARE = 0.8
SECOND_STAGE_SHARE = 0.2
# CP-SAT's portfolio of search strategies, one per worker. Four beat two on the quality
# benchmark even on two cores (total 99.1 % against 98.5 %, worst week 97.5 % against 96.1 %,
# the same in two runs each): the workers that improve a good starting point only join from
# four. Eight were worse (98.2 %): too little time each.
SOLVER_WORKERS = 4


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


def solver_available() -> bool:
    """Import OR-Tools now (0.2 s), so that the first placement does not pay for it in the middle
    of a negotiation; False when it is not installed."""
    try:
        from ortools.sat.python import cp_model  # noqa: F401
    except ImportError:
        return False
    return True


def solve(problem: Problem, budget_s: float, clock: Callable[[], float]) -> Placement:
    """What a core's `Solve` asks for: `optimize` within `budget_s` measured on `clock`; without
    OR-Tools, the repaired greedy answer (computed once), marked `solver_missing`."""
    if budget_s > 0 and not solver_available():
        floor = greedy_with_repair(problem.wanted, problem.booked_per_day)
        floor.solver_missing = True
        return floor
    return optimize(problem.wanted, budget_s, problem.booked_per_day, clock=clock)


def optimize(wanted: Sequence[Wanted], time_limit_s: float,
             booked_per_day: Mapping[tuple[AgentId, date], int] | None = None, *,
             clock: Callable[[], float] | None = None) -> Placement:
    """The best placement CP-SAT finds within `time_limit_s` on `clock` (the caller's: nothing
    here reads one; without it, the whole budget goes to the solver), never worse than the
    greedy placement with its repair pass (repair.py), which is also where the solver starts;
    raises ImportError when OR-Tools is not installed. A budget of 0 asks for no solver: the
    repaired greedy answer, OR-Tools or not."""
    elapsed = _stopwatch(clock)  # the budget covers the repaired greedy answer too
    weights = {w.id: w.weight for w in wanted}
    floor = greedy_with_repair(wanted, booked_per_day)
    if time_limit_s <= 0:
        return floor
    pairs = sum(len(o.attendees) for w in wanted for o in w.options)
    if pairs > MAX_PAIRS and time_limit_s < LARGE_MODEL_S:
        floor.how = f"{floor.how}: a model of {pairs:,} attendee-option pairs is too large for {time_limit_s:g}s"
        return floor
    from ortools.sat.python import cp_model  # only now: importing it takes 0.2 s
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
            present = _attendance_vars(model, o, var)
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
    best, how, bound = floor, floor.how, None
    for stage, objective in enumerate((first, second)):
        left = time_limit_s - elapsed()
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
        solver.parameters.max_time_in_seconds = (left * FIRST_STAGE_SHARE if stage == 0
                                                 else min(left, time_limit_s * SECOND_STAGE_SHARE))
        solver.parameters.num_workers = SOLVER_WORKERS
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
            bound = int(solver.best_objective_bound)
        elif found.value(weights) >= best.value(weights):
            best = found
            how = how if proven else "feasible"
        else:
            how = "feasible"
    best.how = how
    best.bound = bound
    return best


def _stopwatch(clock: Callable[[], float] | None) -> Callable[[], float]:
    """Seconds since now on `clock`; always 0 without one."""
    if clock is None:
        return lambda: 0.0
    started = clock()
    return lambda: clock() - started
