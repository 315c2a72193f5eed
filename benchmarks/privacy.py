"""What each privacy mode reveals to the coordinator, and what it costs.

    python benchmarks/privacy.py                   # the quality suite's 20 weeks and 50 x 200
    python benchmarks/privacy.py --count 3 --large 0

For each mode (`privacy: full | incremental | counts`), every week is negotiated for real
(`run_locally`: agents in hosts over loopback, CURVE on) and the run's own meter is read
(coordinator/disclosure.py, docs/privacy.md): the share of each person's horizon slots whose
state the coordinator could infer with certainty from everything it received, and the same
beyond the schedule (less the slots of the meetings placed for them, which any scheduler, a
central one too, learns were free). Placement is
compared with the CP-SAT reference of the quality benchmark (benchmarks/quality.py), computed
once per week from the scenario itself. Every schedule passes the audit.

Targets: counts reveals at most 10 % of what full reveals, keeps at least 95 % of full's
weighted placement, in at most 4 round trips per meeting; incremental reveals at most 30 % of
full's at no loss in placement.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, cast

from quality import optimum, sizes, weights
from rich.console import Console
from rich.table import Table

from slotwise.coordinator.plan import compile_plan
from slotwise.local import run_locally
from slotwise.report.audit import audit
from slotwise.shared.logsetup import configure
from slotwise.shared.scenario import Scenario
from slotwise.synthetic import synthetic_scenario

MODES = ("full", "incremental", "counts")


@dataclass
class Tally:
    """One mode's results over a set of weeks."""

    shares: list[float] = field(default_factory=list)  # per person, every week
    revealed: list[float] = field(default_factory=list)  # per week, over everyone's slots
    beyond: list[float] = field(default_factory=list)  # per week: revealed beyond the schedule itself
    attendees: list[float] = field(default_factory=list)  # per week: the most one attendee learned of another
    placed: int = 0
    weighted: int = 0
    meetings: int = 0
    trips: int = 0
    worst_trips: float = 0.0
    messages: int = 0
    bytes: int = 0
    negotiation: list[float] = field(default_factory=list)

    def add(self, data: dict[str, Any], mode: str) -> None:
        scenario = Scenario.model_validate({**data, "privacy": mode})
        plan = compile_plan(scenario)
        result = run_locally(scenario, plan).result
        problems = audit(scenario, plan, result.decisions)
        if problems:
            raise SystemExit(f"{scenario.name} ({mode}): an invalid schedule: {problems[:3]}")
        privacy = cast(dict[str, dict[str, Any]], result.privacy)
        seen = privacy["coordinator"]
        self.shares += list(seen["per_person"].values())
        self.revealed.append(float(seen["revealed"]))
        self.beyond.append(float(seen["beyond_schedule"]))
        self.attendees.append(float(privacy["attendees"]["max"]))
        w = weights(plan)
        placed = [d for d in result.decisions if d.scheduled]
        self.placed += len(placed)
        self.weighted += sum(w[d.id] for d in placed)
        trips = sum(d.round_trips for d in result.decisions)
        self.meetings += len(plan.meetings)
        self.trips += trips
        self.worst_trips = max(self.worst_trips, trips / max(1, len(plan.meetings)))
        st = result.stats
        self.messages += st.messages
        self.bytes += st.bytes_sent + st.bytes_received
        self.negotiation.append(st.negotiation_s)


def _table(title: str, tallies: dict[str, Tally], reference: tuple[int, int] | None) -> Table:
    table = Table(title=title)
    for col in ("mode", "revealed %", "beyond the schedule %", "of full's: revealed / beyond",
                "per person median / max %", "attendees learn max %", "placed %", "weighted %",
                "weighted % of full's", "round trips/meeting mean / worst week", "messages/meeting",
                "KiB/meeting", "negotiation s median"):
        table.add_column(col, justify="right")
    full = tallies["full"]
    full_revealed, full_beyond = statistics.mean(full.revealed), statistics.mean(full.beyond)
    for mode, t in tallies.items():
        revealed, beyond = statistics.mean(t.revealed), statistics.mean(t.beyond)
        placed = f"{100 * t.placed / reference[0]:.1f}" if reference and reference[0] else "-"
        weighted = f"{100 * t.weighted / reference[1]:.1f}" if reference and reference[1] else "-"
        table.add_row(
            mode, f"{100 * revealed:.1f}", f"{100 * beyond:.1f}",
            f"{100 * revealed / full_revealed:.0f} % / {100 * beyond / full_beyond:.0f} %" if full_beyond else "-",
            f"{100 * statistics.median(t.shares):.1f} / {100 * max(t.shares):.1f}",
            f"{100 * max(t.attendees):.1f}", placed, weighted,
            f"{100 * t.weighted / full.weighted:.1f}" if full.weighted else "-",
            f"{t.trips / t.meetings:.2f} / {t.worst_trips:.2f}", f"{t.messages / t.meetings:.1f}",
            f"{t.bytes / t.meetings / 1024:.1f}", f"{statistics.median(t.negotiation):.2f}")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20, help="weeks of the quality suite")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--optimum-limit", type=float, default=30.0, help="seconds CP-SAT may spend per reference")
    parser.add_argument("--large", type=int, default=1, help="also 50 people x 200 meetings (0: no)")
    args = parser.parse_args(argv)
    configure("ERROR", "bench")
    console = Console(width=max(Console().width, 170))
    tallies = {mode: Tally() for mode in MODES}
    reference = [0, 0]
    for seed, people, meetings, days in sizes(args.count, args.seed):
        data = synthetic_scenario(seed, people, meetings, days=days)
        base = Scenario.model_validate(data)
        placed, weighted, _ = optimum(base, compile_plan(base), args.optimum_limit)
        reference[0] += placed
        reference[1] += weighted
        for mode in MODES:
            tallies[mode].add(data, mode)
        console.print(f"seed {seed}: {people} people, {meetings} meetings, {days} days: done", style="dim")
    console.print(_table(f"the quality suite's {args.count} weeks (placement: % of the CP-SAT reference)",
                         tallies, (reference[0], reference[1])))
    if args.large:
        data = synthetic_scenario(1, 50, 200)
        large = {mode: Tally() for mode in MODES}
        for mode in MODES:
            large[mode].add(data, mode)
        plan = compile_plan(Scenario.model_validate(data))
        console.print(_table("50 people x 200 meetings (placement: % of all meetings, and of their weight)", large,
                             (len(plan.meetings), sum(weights(plan).values()))))
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)
