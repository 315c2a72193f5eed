"""Organisation scale: thousands of agents in a few host processes, one table.

    python benchmarks/scale.py                          # P = 50, 500, 2,000, 10,000; M = 2P
    python benchmarks/scale.py --people 50 500 --per-process 50 200

Each size is a seeded working week (`slotwise generate`'s generator) run as `slotwise run` runs
it: the coordinator in this process, the participants in `--hosts` agent host processes (default
one per core; the targets allow at most 16), CURVE keys on. Columns:

- start-up s: from launching the hosts until every agent is proven to hear the coordinator;
- negotiation s: from the first request to the last decision; meetings/s is M over it;
- messages and MB per meeting: frames (and their bytes) both ways through the coordinator;
- RSS: the coordinator's peak, and each host's peak (VmHWM) divided by its agents;
- audit: the schedule checked independently (nobody double-booked, every rule met, every
  agent's own record agreeing with the coordinator's).

`--per-process` adds rows with one process per participant (`--hosts 0`), for comparison.
`--busy N` runs each size twice, quiet and with N processes spinning beside it (each a
`while True: pass`, stopped at the end), and prints the rows side by side with the share of the
quiet run's meetings the busy one placed, and how many agents were declared lost.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from slotwise.coordinator.plan import compile_plan
from slotwise.local import default_hosts, run_locally
from slotwise.participant.launch import host_groups
from slotwise.report.audit import audit, disagreements
from slotwise.shared.logsetup import configure
from slotwise.shared.scenario import Scenario
from slotwise.synthetic import synthetic_scenario

DEFAULT_PEOPLE = [50, 500, 2000, 10000]


def _children_peaks(peaks: dict[int, int], stop: threading.Event) -> None:
    """Every child's peak resident memory (VmHWM, kB), read until the run ends."""
    me = os.getpid()
    while not stop.wait(0.1):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                status = Path(entry.path, "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if int(fields.get("PPid", "0").strip()) != me:
                continue
            hwm = fields.get("VmHWM")
            if hwm is not None:
                peaks[int(entry.name)] = max(peaks.get(int(entry.name), 0), int(hwm.split()[0]))


@dataclass
class Row:
    people: int
    meetings: int
    hosts: int
    startup_s: float
    negotiation_s: float
    messages: int
    megabytes: float
    coordinator_mb: float
    host_mb: float
    per_agent_kb: float
    placed: int
    audit: str
    lost: int = 0
    busy: int = 0


def run_one(people: int, meetings: int, hosts: int | None, seed: int, timeout_s: float, busy: int = 0) -> Row:
    scenario = Scenario.model_validate(synthetic_scenario(seed, people, meetings))
    plan = compile_plan(scenario).with_settings(join_timeout_s=max(60.0, people / 100))
    gc.collect()
    peaks: dict[int, int] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_children_peaks, args=(peaks, stop), daemon=True)
    sampler.start()
    try:
        local = run_locally(scenario, plan, hosts=hosts, coordinator_timeout_s=timeout_s)
    finally:
        stop.set()
        sampler.join()
    result = local.result
    problems = audit(scenario, plan, result.decisions) + disagreements(result.decisions, local.records)
    processes = len(host_groups(list(scenario.participants), default_hosts() if hosts is None else hosts))
    host_kb = sum(peaks.values())
    st = result.stats
    return Row(people, meetings, processes, st.startup_s, st.negotiation_s,
               st.messages, (st.bytes_sent + st.bytes_received) / 1e6,
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, host_kb / 1024 / processes,
               host_kb / people, sum(d.scheduled for d in result.decisions),
               "ok" if not problems else f"{len(problems)} problems: {problems[0]}", st.lost, busy)


def _isolated(people: int, meetings: int, hosts: int | None, seed: int, timeout_s: float, busy: int = 0) -> Row:
    """One size in a fresh interpreter, so the coordinator's peak memory is that run's alone;
    with `busy`, that many spinning processes beside it for the whole run."""
    argv = [sys.executable, __file__, "--one", str(people), str(meetings), str(-1 if hosts is None else hosts),
            str(seed), str(timeout_s)]
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait(10)
    if done.returncode != 0:
        raise RuntimeError(f"P={people} failed: {done.stderr[-2000:]}")
    row = Row(**json.loads(done.stdout.strip().splitlines()[-1]))
    row.busy = busy
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", nargs="+", type=int, default=DEFAULT_PEOPLE, metavar="P")
    parser.add_argument("--meetings-per-person", type=float, default=2.0, help="M = this x P (default 2)")
    parser.add_argument("--hosts", type=int, default=None, help="agent host processes (default: one per core)")
    parser.add_argument("--per-process", nargs="*", type=int, default=[], metavar="P",
                        help="also run these sizes with one process per participant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--coordinator-timeout", type=float, default=120.0)
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="also run each size with N spinning processes beside it")
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)  # P M HOSTS SEED TIMEOUT: one row, as JSON
    args = parser.parse_args(argv)
    configure("ERROR", "bench")
    if args.one is not None:
        p, m, h, seed, timeout_s = args.one
        row = run_one(int(p), int(m), None if int(h) < 0 else int(h), int(seed), float(timeout_s))
        print(json.dumps(asdict(row)))
        return 0
    console = Console(width=max(Console().width, 160))
    table = Table(title="slotwise at organisation scale (CURVE, 15-minute slots over a 5-day week, "
                        f"M = {args.meetings_per_person:g} x P, {os.cpu_count()} cores)")
    for col in ("P", "M", "processes", "start-up s", "negotiation s", "meetings/s", "msgs/meeting",
                "MB/meeting", "coord. RSS MB", "RSS/host MB", "RSS/agent kB", "placed", "audit", "busy",
                "lost", "placed / quiet"):
        table.add_column(col, justify="right")
    failures = 0
    runs = [(p, args.hosts) for p in args.people] + [(p, 0) for p in args.per_process]
    for people, hosts in runs:
        meetings = int(people * args.meetings_per_person)
        quiet: Row | None = None
        for busy in (0, args.busy) if args.busy else (0,):
            row = _isolated(people, meetings, hosts, args.seed, args.coordinator_timeout, busy)
            quiet = quiet or row
            failures += row.audit != "ok"
            table.add_row(f"{people:,}", f"{meetings:,}", f"{row.hosts}{' (1/agent)' if hosts == 0 else ''}",
                          f"{row.startup_s:.1f}", f"{row.negotiation_s:.2f}",
                          f"{meetings / row.negotiation_s:,.0f}" if row.negotiation_s else "-",
                          f"{row.messages / meetings:.1f}", f"{row.megabytes / meetings:.4f}",
                          f"{row.coordinator_mb:,.0f}", f"{row.host_mb:,.0f}", f"{row.per_agent_kb:,.0f}",
                          f"{row.placed:,}", row.audit, str(busy), f"{row.lost:,}",
                          f"{row.placed / quiet.placed:.1%}" if quiet.placed else "-")
            console.print(f"P={people:,}{f' beside {busy} busy processes' if busy else ''}: done", style="dim")
    console.print(table)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
