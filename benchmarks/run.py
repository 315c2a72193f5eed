"""End-to-end benchmark: seeded synthetic scenarios, real agent processes, one table.

    python benchmarks/run.py                 # the standard sizes, agents in one host per core
    python benchmarks/run.py --sizes 50x200 --repeat 3 --transport ipc --hosts 0

Start-up (spawning the agent processes until every agent has answered its Welcome) and
negotiation (first request to last decision) are timed apart: start-up is Python process
creation, one per host (or per agent with --hosts 0); negotiation is the protocol. Round trips per meeting count request
rounds (availability and holds, resends included) divided by meetings.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

from rich.console import Console
from rich.table import Table

from slotwise.coordinator.plan import compile_plan
from slotwise.local import run_locally
from slotwise.report.audit import audit
from slotwise.shared.logsetup import configure
from slotwise.shared.scenario import Scenario
from slotwise.synthetic import synthetic_scenario

DEFAULT_SIZES = ["4x2", "20x50", "50x200"]


def _size(text: str) -> tuple[int, int]:
    people, _, meetings = text.partition("x")
    return int(people), int(meetings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES, metavar="PEOPLExMEETINGS")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the table shows medians")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--transport", choices=["tcp", "ipc"], default="tcp")
    parser.add_argument("--hosts", type=int, default=None, metavar="K",
                        help="agent host processes, as `slotwise run --hosts` (default one per core; 0: one per agent)")
    security = parser.add_mutually_exclusive_group()
    security.add_argument("--secure", action="store_true",
                          help="CURVE on every socket, fresh keys per run (the default, as in `slotwise run`)")
    security.add_argument("--insecure", action="store_true", help="no keys: the clear transport")
    args = parser.parse_args(argv)
    configure("ERROR", "bench")
    console = Console(width=max(Console().width, 132))  # the table stays whole in CI logs too

    secure = not args.insecure
    hosting = "one process per agent" if args.hosts == 0 else f"{args.hosts or 'one per core'} agent host(s)"
    table = Table(title=f"slotwise end to end ({args.transport}{', CURVE' if secure else ', no keys'}, {hosting}, "
                        f"15-minute slots over a 5-day week, median of {args.repeat})")
    for col in ("participants", "meetings", "placed", "slots/meeting", "start-up s",
                "negotiation s", "messages", "round trips/meeting", "coord. RSS MB"):
        table.add_column(col, justify="right")
    failures = 0
    for size in args.sizes:
        people, meetings = _size(size)
        scenario = Scenario.model_validate(synthetic_scenario(args.seed, people, meetings))
        plan = compile_plan(scenario)
        runs = []
        for _ in range(args.repeat):
            started = time.monotonic()
            result = run_locally(scenario, plan, transport=args.transport, secure=secure, hosts=args.hosts).result
            problems = audit(scenario, plan, result.decisions)
            failures += len(problems)
            for p in problems:
                console.print(f"[red]{size}: {p}[/]")
            runs.append((result, time.monotonic() - started))
        stats = [r.stats for r, _ in runs]
        placed = statistics.median(sum(d.scheduled for d in r.decisions) for r, _ in runs)
        trips = statistics.median(sum(d.round_trips for d in r.decisions) / max(meetings, 1) for r, _ in runs)
        candidates = statistics.mean(len(m.candidates) for m in plan.meetings) if plan.meetings else 0.0
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        table.add_row(
            str(people), str(meetings), f"{placed:g}", f"{candidates:.0f}",
            f"{statistics.median(s.startup_s for s in stats):.2f}",
            f"{statistics.median(s.negotiation_s for s in stats):.3f}",
            f"{statistics.median(s.messages for s in stats):g}", f"{trips:.2f}", f"{rss_mb:.0f}",
        )
        console.print(f"{size}: done", style="dim")
    console.print(table)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
