"""Placement quality against the exact optimum: how much of what could be placed is placed.

    python benchmarks/quality.py                  # 20 seeded scenarios, four placements each
    python benchmarks/quality.py --count 3 --speed 0

Scenarios: seeded working weeks (`slotwise.synthetic`) of 5-50 people, 5-100 meetings over 2-5
days; every fourth is crowded (about eight meetings per person over two days), so not
everything fits. The optimum is computed here from the scenario itself (who is free when, the
rules and per-person constraints, exactly as the walk judges them) by CP-SAT with a generous
time limit; when it stops at the limit the bound is reported as FEASIBLE, not called optimal.
Each placement is then negotiated for real (`run_locally`, agents in hosts as `slotwise run` runs them).

Weighted counts weigh a meeting 1 for the lowest priority in its scenario and one more per
priority step above it. `--speed` also times 50 x 200 (each placement against greedy).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from slotwise.coordinator.placement.judge import SlotJudge
from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.placement.problem import wanted_for
from slotwise.coordinator.placement.solver import optimize
from slotwise.coordinator.plan import Plan, compile_plan
from slotwise.local import run_locally
from slotwise.participant.calendars.sources import free_time
from slotwise.report.audit import audit
from slotwise.shared.decision import Decision
from slotwise.shared.logsetup import configure
from slotwise.shared.scenario import Scenario
from slotwise.synthetic import synthetic_scenario

PLACEMENTS: dict[str, dict[str, Any]] = {
    "greedy": {},
    "most-constrained-first": {"priority": "most-constrained-first"},
    "repair (optimize, 0 s)": {"placement": {"optimize": {"time_limit_s": 0}}},
    "optimize": {"placement": {"optimize": {"time_limit_s": 3}}},
}


def sizes(count: int, seed: int) -> list[tuple[int, int, int, int]]:
    """(seed, people, meetings, days): spread over the range, every fourth crowded."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        people = rng.randint(5, 50)
        if i % 4 == 3:
            out.append((seed + i, people, min(100, 4 * people), 2))
        else:
            out.append((seed + i, people, rng.randint(5, min(100, 2 * people + 5)), rng.randint(2, 5)))
    return out


def weights(plan: Plan) -> dict[str, int]:
    lowest = min((m.priority for m in plan.meetings), default=0)
    return {m.id: 1 + m.priority - lowest for m in plan.meetings}


def optimum(scenario: Scenario, plan: Plan, limit_s: float) -> tuple[int, int, int]:
    """(placed, weighted, bound) of the best schedule CP-SAT finds from the scenario's own data,
    the bound being CP-SAT's proven upper bound on the weighted count (equal to it: optimal)."""
    ledger = Ledger(plan.grid)
    free = {p: free_time(scenario.availability(p), plan.horizon) for p in plan.participants}
    w = weights(plan)
    wanted = []
    booked: dict[Any, int] = {}
    for spec in plan.meetings:
        answers = {who: [free[who].covers(plan.grid.interval(c, spec.duration_minutes)) for c in spec.candidates]
                   for who in spec.invitees}
        judge = SlotJudge(spec, plan.grid, ledger, plan.people, answers, {})
        wanted.append(wanted_for(judge, list(range(len(spec.candidates))), w[spec.id], plan.people, ledger, booked))
    found = optimize(wanted, limit_s, booked, clock=time.monotonic)
    weighted = sum(w[m] for m in found.chosen)
    return len(found.chosen), weighted, weighted if found.bound is None else found.bound


def negotiate(data: dict[str, Any], policies: dict[str, Any]) -> tuple[Scenario, Plan, list[Decision], float, float]:
    scenario = Scenario.model_validate({**data, "policies": policies})
    plan = compile_plan(scenario)
    result = run_locally(scenario, plan).result
    problems = audit(scenario, plan, result.decisions)
    if problems:
        raise SystemExit(f"{scenario.name}: an invalid schedule: {problems[:3]}")
    trips = sum(d.round_trips for d in result.decisions) / max(1, len(plan.meetings))
    return scenario, plan, result.decisions, result.stats.negotiation_s, trips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--optimum-limit", type=float, default=60.0, help="seconds CP-SAT may spend per optimum")
    parser.add_argument("--speed", type=int, default=1, help="also time 50 x 200 (0: no)")
    args = parser.parse_args(argv)
    configure("ERROR", "bench")
    console = Console(width=max(Console().width, 150))
    table = Table(title="each week: placed % / weighted % of the reference")
    for col in ("seed", "people", "meetings", "days", "reference placed / weighted", "bound",
                *(f"{p}" for p in PLACEMENTS)):
        table.add_column(col, justify="right")
    totals = {p: [0, 0] for p in PLACEMENTS}
    best_total = [0, 0]
    proven = 0
    worst = {p: 100.0 for p in PLACEMENTS}
    negotiation: dict[str, list[float]] = {p: [] for p in PLACEMENTS}
    trips: dict[str, list[float]] = {p: [] for p in PLACEMENTS}
    for seed, people, meetings, days in sizes(args.count, args.seed):
        data = synthetic_scenario(seed, people, meetings, days=days)
        base = Scenario.model_validate(data)
        plan = compile_plan(base)
        opt_placed, opt_weighted, bound = optimum(base, plan, args.optimum_limit)
        proven += bound == opt_weighted
        best_total[0] += opt_placed
        best_total[1] += opt_weighted
        w = weights(plan)
        cells = []
        for name, policies in PLACEMENTS.items():
            _, _, decisions, negotiation_s, rt = negotiate(data, policies)
            placed = [d for d in decisions if d.scheduled]
            got = (len(placed), sum(w[d.id] for d in placed))
            totals[name][0] += got[0]
            totals[name][1] += got[1]
            pct = (100 * got[0] / opt_placed if opt_placed else 100.0, 100 * got[1] / opt_weighted if opt_weighted else 100.0)
            worst[name] = min(worst[name], pct[1])
            cells.append(f"{pct[0]:.1f} / {pct[1]:.1f}")
            negotiation[name].append(negotiation_s)
            trips[name].append(rt)
        table.add_row(str(seed), str(people), str(meetings), str(days), f"{opt_placed} / {opt_weighted}",
                      "OPTIMAL" if bound == opt_weighted else f"FEASIBLE, <= {bound}", *cells)
        console.print(f"seed {seed}: done", style="dim")
    table.add_row("all", "", "", "", f"{best_total[0]} / {best_total[1]}", "",
                  *(f"{100 * t[0] / best_total[0]:.1f} / {100 * t[1] / best_total[1]:.1f}" for t in totals.values()),
                  style="bold")
    console.print(table)
    summary = Table(title=f"placement quality against the reference, {args.count} weeks")
    for col in ("placement", "placed %", "weighted %", "worst week weighted %", "negotiation s median / max",
                "round trips/meeting max"):
        summary.add_column(col, justify="right")
    for name in PLACEMENTS:
        summary.add_row(name, f"{100 * totals[name][0] / best_total[0]:.1f}", f"{100 * totals[name][1] / best_total[1]:.1f}",
                        f"{worst[name]:.1f}", f"{statistics.median(negotiation[name]):.2f} / {max(negotiation[name]):.2f}",
                        f"{max(trips[name]):.2f}")
    console.print(summary)
    console.print(f"The reference's weighted count is proven optimal on {proven} of {args.count} weeks.")
    if args.speed:
        data = synthetic_scenario(1, 50, 200)
        times = {}
        for name in PLACEMENTS:
            runs = [negotiate(data, PLACEMENTS[name])[3] for _ in range(3)]
            times[name] = statistics.median(runs)
        console.print("50 x 200 negotiation, median of 3: " + ", ".join(
            f"{name} {t:.2f} s ({t / times['greedy']:.2f}x)" for name, t in times.items()))
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)
