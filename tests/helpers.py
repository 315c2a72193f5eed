"""Scenario builders shared by unit and integration tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from coordinator.synthetic import synthetic_scenario

from shared.scenario import Scenario

DAY = datetime(2024, 7, 22, tzinfo=UTC)  # a Monday
REPO = Path(__file__).resolve().parent.parent


def at(hour: float, day: int = 0) -> str:
    return (DAY + timedelta(days=day, hours=hour)).isoformat()


def scenario_dict(participants: dict[str, Any], meetings: list[dict[str, Any]], *,
                  hours: tuple[float, float] = (8, 18), slot: int = 30,
                  policies: dict[str, Any] | None = None, **negotiation: float) -> dict[str, Any]:
    extra = {"policies": policies} if policies else {}
    return {**extra,
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
    data = synthetic_scenario(seed, people, meetings, days=days, slot_minutes=slot)
    data["negotiation"] = {"join_timeout_s": 5, "response_timeout_s": 1, "hold_timeout_s": 1,
                           "heartbeat_s": 0.25, **negotiation}
    return data
