"""Scenario builders shared by unit and integration tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from shared.scenario import Scenario

DAY = datetime(2024, 7, 22, tzinfo=UTC)  # a Monday
REPO = Path(__file__).resolve().parent.parent


def at(hour: float, day: int = 0) -> str:
    return (DAY + timedelta(days=day, hours=hour)).isoformat()


def scenario_dict(participants: dict[str, Any], meetings: list[dict[str, Any]], *,
                  hours: tuple[float, float] = (8, 18), slot: int = 30,
                  **negotiation: float) -> dict[str, Any]:
    return {
        "name": "test",
        "timezone": "UTC",
        "horizon": {"start": at(hours[0]), "end": at(hours[1])},
        "slot_minutes": slot,
        "participants": participants,
        "meetings": meetings,
        "negotiation": {"join_timeout_s": 5, "response_timeout_s": 1, "hold_timeout_s": 1,
                        "heartbeat_s": 0.25, **negotiation},
    }


def make_scenario(participants: dict[str, Any], meetings: list[dict[str, Any]], **kw: Any) -> Scenario:
    from shared.scenario import Scenario

    return Scenario.model_validate(scenario_dict(participants, meetings, **kw))


def write_scenario(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def random_scenario(seed: int, people: int, meetings: int, days: int = 5,
                    slot: int = 15, **negotiation: float) -> dict[str, Any]:
    """Working-week scenarios: each person busy in random blocks, meetings of 3-6 invitees."""
    rng = random.Random(seed)
    names = [f"p{i:03d}" for i in range(people)]
    participants: dict[str, Any] = {}
    for name in names:
        busy = []
        for d in range(days):
            for _ in range(rng.randint(0, 4)):
                start = 9 + rng.randint(0, 15) / 2
                busy.append([at(start, d), at(start + rng.choice([0.5, 1, 1.5, 2]), d)])
        available = [[at(9, d), at(17, d)] for d in range(days)]
        participants[name] = {"available": available, "busy": busy}
    ms = []
    for i in range(meetings):
        invitees = rng.sample(names, k=min(people, rng.randint(3, 6)))
        ms.append({"id": f"m{i:03d}", "duration_minutes": rng.choice([30, 30, 60, 60, 90]),
                   "invitees": invitees, "min_participants": max(2, len(invitees) - rng.randint(0, 2)),
                   "priority": rng.randint(0, 3)})
    data = scenario_dict(participants, ms, slot=slot, **negotiation)
    data["horizon"] = {"start": at(0), "end": at(24, days - 1)}
    data["name"] = f"random-{people}x{meetings}-s{seed}"
    return data
