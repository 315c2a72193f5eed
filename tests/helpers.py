"""Scenario builders shared by unit and integration tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from slotwise.participant.agent import AgentService
from slotwise.participant.responder import Responder
from slotwise.shared.scenario import Scenario
from slotwise.synthetic import synthetic_scenario

if TYPE_CHECKING:
    from slotwise.coordinator.policies.base import MeetingSpec

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


def spec(rule: object | None = None, **fields: Any) -> MeetingSpec:
    """A MeetingSpec as the plan compiles it, for testing one policy on its own."""
    from dataclasses import replace

    from slotwise.coordinator.policies.base import MeetingPolicies, MeetingSpec
    from slotwise.coordinator.policies.registry import load_policy
    from slotwise.shared.ids import AgentId, MeetingId
    from slotwise.shared.scenario import Meeting

    m = Meeting.model_validate(fields)
    chosen = rule if rule is not None else load_policy("rule", "min-participants")
    policies = MeetingPolicies(chosen, (), load_policy("slot_order", "earliest"),  # type: ignore[arg-type]
                               load_policy("silence", "count-as-no"))
    draft = MeetingSpec(MeetingId(m.id), m.name, m.title, m.duration_minutes, tuple(AgentId(p) for p in m.invitees),
                        m.min_participants, 0, m.priority, 0, None, m.not_before, m.not_after, None, policies)
    return replace(draft, required=policies.rule.minimum(draft))


def socketless_shell(*responders: Responder) -> AgentService:
    """An agent shell (hosting `responders`) with no sockets: its frame handling alone, with
    what it would send collected in `shell.sent_frames`."""
    from collections import deque

    from loguru import logger

    from slotwise.participant.agent import Hosted, _Wakeups
    from slotwise.participant.reminders import ReminderClock
    from slotwise.shared.ratelog import RateLimitedLog
    from slotwise.shared.wire.codec import Encoder
    from slotwise.shared.wire.gate import AgentGate

    shell = AgentService.__new__(AgentService)
    shell.agents = {r.name: Hosted(r, Encoder(r.name), AgentGate(r.name), ReminderClock(),
                                   logger.bind(role="test", agent=r.name)) for r in responders}
    shell.host = responders[0].name
    shell.dropped = 0
    shell._drops = RateLimitedLog(5.0)
    shell.log = logger.bind(role="test", agent=shell.host)
    shell._wake, shell._remind = _Wakeups(), _Wakeups()
    shell._live = len(responders)
    shell.reply_delay_s = 0.0
    shell._outbox = deque()
    sent: list[bytes] = []
    shell.sent_frames = sent  # type: ignore[attr-defined]
    shell._send = sent.append  # type: ignore[method-assign]
    shell._pending = []
    return shell


def to_agent(responder: object, gate: object, frame: bytes, now: float) -> list[object]:
    """A frame from the coordinator to one agent's core, through its gate as its host delivers
    it: [] for a message not for it yet (before its Welcome)."""
    from slotwise.shared.wire.codec import decode

    admitted = gate.check(decode(frame))  # type: ignore[attr-defined]
    return [] if admitted is None else list(responder.receive(admitted, now))  # type: ignore[attr-defined]
