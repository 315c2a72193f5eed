"""A live service's month on a fast clock: the admin desk and its core, 50 participant cores, a
real SQLite store, on the loopback network (slotwise.testing.loopback), with the wall clock
moved a day at a time: the horizon (`days: 14`) rolls daily, 200 requests a day arrive, and
meetings whose time has passed are archived (the core and desk) and forgotten (the agents).
With `--no-archive` nothing leaves, as before, for comparison.

    python benchmarks/month.py                  # 30 days, 200 requests a day, 50 people
    python benchmarks/month.py --no-archive

Printed every five days: meetings held in memory, bookings in the core's ledger, meetings the
agents hold, the cost of an add (ms, median over the day's) and of one agent's answer to a
request of every candidate of the coming week (ms, median of 50), and memory traced
(tracemalloc: the desk, the cores and the agents; the store is on disk).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from slotwise.coordinator.admin_desk import AdminDesk
from slotwise.coordinator.negotiation import LiveNegotiation
from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.store import SqliteStore
from slotwise.shared.logsetup import configure
from slotwise.shared.scenario import Scenario
from slotwise.shared.scenario.models import Horizon
from slotwise.shared.slots import SlotGrid
from slotwise.shared.wire import admin
from slotwise.testing.loopback import FakeNetwork

DAY0 = datetime(2027, 3, 1, tzinfo=UTC)  # a Monday


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=200)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--no-archive", action="store_true", help="keep everything, as before archiving")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    configure("WARNING", "coordinator")
    rng = random.Random(args.seed)
    people = [f"p{i:03d}" for i in range(args.people)]
    scenario = Scenario.model_validate({
        "name": "month", "timezone": "UTC", "slot_minutes": 60,
        "horizon": {"start": DAY0.isoformat(), "end": (DAY0 + timedelta(days=14)).isoformat()},
        "participants": {p: {} for p in people},
        "negotiation": {"join_timeout_s": 5, "response_timeout_s": 1, "hold_timeout_s": 1, "heartbeat_s": 0.25}})
    scenario = scenario.model_copy(update={"horizon": Horizon(start=DAY0, end=DAY0 + timedelta(days=14), days=14)})
    wall = [DAY0]
    rows: list[tuple[Any, ...]] = []
    tracemalloc.start()
    with tempfile.TemporaryDirectory(prefix="sw-month-") as folder:
        store = SqliteStore(Path(folder) / "state.db", scenario.name)
        net = FakeNetwork(scenario, open_ended=True, agent_patience_s=0)  # as `serve`'s agents
        plan = replace(compile_plan(scenario), meetings=(), by_id={})
        net.core = LiveNegotiation(plan)
        desk = AdminDesk(scenario, plan, net.core, store, net.act, wall=lambda: wall[0])
        net.observe = desk.observe
        desk.start((), net.now)
        net.settle()
        rid = 0
        for day in range(args.days):
            wall[0] = DAY0 + timedelta(days=day, hours=7)
            adds: list[float] = []
            for i in range(args.per_day):
                start = DAY0 + timedelta(days=day + rng.randint(0, 6), hours=rng.randint(8, 16))
                request = {"id": f"d{day}m{i}", "duration_minutes": 60,
                           "invitees": rng.sample(people, rng.choice((2, 3))),
                           "not_before": start.isoformat(), "not_after": (start + timedelta(hours=3)).isoformat()}
                rid += 1
                began = time.perf_counter()
                desk.request(b"bench", admin.encode({"v": 1, "id": rid, "op": "add", "meetings": [request]}), net.now)
                net.settle()
                desk.retry_waiting(net.now)
                net.settle()
                adds.append(time.perf_counter() - began)
            if not args.no_archive:
                desk.archive_ended(net.now)
                for agent in net.agents.values():
                    agent.forget_ended(wall[0] - timedelta(days=1))
            net.sent.clear()
            net.actions.clear()
            if day == 0 or day % 5 == 4:
                rows.append((day + 1, len(desk.known()), sum(len(v) for v in net.core.ledger._booked.values()),
                             sum(len(a.calendar.accepted) for a in net.agents.values()),
                             statistics.median(adds) * 1000, _answer_ms(net, wall[0]),
                             tracemalloc.get_traced_memory()[0] / 2**20))
        store.close()
    table = Table(title=f"a month of serve on a fast clock: {args.people} people, {args.per_day} requests a day, "
                        f"horizon 14 days, archiving {'off' if args.no_archive else 'on'}")
    for col in ("day", "meetings held", "ledger bookings", "agents' meetings", "add ms (p50)", "answer ms (p50)",
                "traced MiB"):
        table.add_column(col, justify="right")
    for day, held, booked, agents, add_ms, answer_ms, mib in rows:
        table.add_row(str(day), f"{held:,}", f"{booked:,}", f"{agents:,}", f"{add_ms:.2f}", f"{answer_ms:.3f}",
                      f"{mib:.1f}")
    Console(width=max(Console().width, 120)).print(table)
    return 0


def _answer_ms(net: FakeNetwork, now: datetime) -> float:
    """One agent answering a request for every hour of the coming week (the hot path)."""
    agent = next(iter(net.agents.values()))
    grid = SlotGrid(now.replace(hour=0), 60)
    slots = list(range(24, 24 * 8))
    times = []
    for _ in range(50):
        agent.calendar.invalidate()
        began = time.perf_counter()
        agent.calendar.answer(grid, 60, slots, "probe")  # type: ignore[arg-type]
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    sys.exit(main())
