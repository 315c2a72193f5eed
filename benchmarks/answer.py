"""An agent's answer cost against the meetings it holds: the answer to one availability request
(477 candidates over a week) with 0 to 20,000 accepted meetings behind it, in the past. The
answer should cost what lies in the asked window, not the agent's history. One command:

    python benchmarks/answer.py [--repeat 31]

Time is the median of `--repeat` answers (min and max beside it: this machine is shared, so
the spread says how noisy the median is).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from slotwise.participant.calendar import Calendar
from slotwise.shared.ids import MeetingId
from slotwise.shared.slots import FreeTime, Interval, SlotGrid

WEEK = datetime(2024, 7, 22, tzinfo=UTC)
HELD = (0, 1_000, 5_000, 20_000)


def calendar(held: int) -> Calendar:
    """Free all year; `held` past meetings of 30 minutes, one an hour, plus three this week."""
    cal = Calendar(FreeTime([Interval(WEEK - timedelta(days=1000), WEEK + timedelta(days=30))]))
    for i in range(held):
        start = WEEK - timedelta(hours=held - i)
        cal.accept(MeetingId(f"past{i}"), Interval(start, start + timedelta(minutes=30)))
    for day in range(3):
        start = WEEK + timedelta(days=day, hours=10)
        cal.accept(MeetingId(f"week{day}"), Interval(start, start + timedelta(hours=1)))
    return cal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=31)
    args = parser.parse_args(argv)
    grid = SlotGrid(WEEK, 15)
    slots = list(range(32, 32 + 477))
    table = Table(title=f"one agent's answer to a {len(slots)}-candidate request (median of {args.repeat})")
    for column in ("accepted meetings held", "median ms", "min ms", "max ms", "ratio to none"):
        table.add_column(column, justify="right")
    base = None
    for held in HELD:
        cal = calendar(held)
        times = []
        for _ in range(args.repeat):
            cal.invalidate()  # a fresh request window: free time expanded again, as for a new meeting
            t0 = time.perf_counter()
            cal.answer(grid, 60, slots, MeetingId("new"))
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        base = base or median
        table.add_row(f"{held:,}", f"{median * 1e3:.3f}", f"{min(times) * 1e3:.3f}", f"{max(times) * 1e3:.3f}",
                      f"{median / base:.2f}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
