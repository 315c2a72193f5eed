"""Seeded synthetic scenarios: a working week of people with busy calendars and meetings.

Used by `slotwise generate`, the benchmarks and the larger tests, so all three measure the same
kind of load. Same seed, same scenario, on every machine.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

MONDAY = date(2024, 7, 22)


def synthetic_scenario(seed: int, people: int, meetings: int, *, days: int = 5,
                       slot_minutes: int = 15, start: date = MONDAY, timezone: str = "UTC") -> dict[str, Any]:
    """A scenario as plain data (validate it with Scenario.model_validate or dump it as YAML).

    Everyone works 09:00-17:00 in `timezone` from `start` with up to four busy blocks a day;
    meetings invite 3-6 people, need all but up to two of them, and last 30-90 minutes.
    """
    zone = ZoneInfo(timezone)

    def _at(hour: float, day: int) -> str:
        midnight = datetime.combine(start + timedelta(days=day), clock(0), zone)
        return (midnight + timedelta(hours=hour)).isoformat()

    rng = random.Random(seed)
    names = [f"p{i:03d}" for i in range(people)]
    participants: dict[str, Any] = {}
    for name in names:
        busy = []
        for d in range(days):
            for _ in range(rng.randint(0, 4)):
                begins = 9 + rng.randint(0, 15) / 2
                block = [_at(begins, d), _at(begins + rng.choice([0.5, 1, 1.5, 2]), d)]
                if block not in busy:  # the same block drawn twice is one busy block
                    busy.append(block)
        participants[name] = {"available": [[_at(9, d), _at(17, d)] for d in range(days)], "busy": busy}
    specs = []
    for i in range(meetings):
        invitees = rng.sample(names, k=min(people, rng.randint(3, 6)))
        specs.append({
            "id": f"m{i:03d}",
            "duration_minutes": rng.choice([30, 30, 60, 60, 90]),
            "invitees": invitees,
            "min_participants": max(min(2, len(invitees)), len(invitees) - rng.randint(0, 2)),
            "priority": rng.randint(0, 3),
        })
    return {
        "name": f"synthetic-{people}x{meetings}-seed{seed}",
        "timezone": timezone,
        "horizon": {"start": _at(0, 0), "end": _at(24, days - 1)},
        "slot_minutes": slot_minutes,
        "participants": participants,
        "meetings": specs,
    }
