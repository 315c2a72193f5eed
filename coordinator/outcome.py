"""What a coordinator hands back: a run's decisions and counters, and one meeting as reported.

Both shells report in these shapes (a batch run's `RunResult`; the service's entries for
`meetings list`), and the results file is built from them, so they live with the coordinator
and the report imports them, not the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SerializerFunctionWrapHandler, model_serializer

from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId

_ORDER = ("id", "name", "scheduled", "start", "end", "participants", "reason", "invitees",
          "min_participants", "priority", "round_trips", "series")


@dataclass
class RunStats:
    """Counters of one run; the transport counts traffic, the core rounds and resends."""

    rounds: int = 0
    resends: int = 0
    sent: int = 0
    received: int = 0
    dropped: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    startup_s: float = 0.0
    negotiation_s: float = 0.0
    lost: int = 0  # times an agent was declared lost (its connection silent past the liveness timeout)

    @property
    def messages(self) -> int:
        return self.sent + self.received


@dataclass(frozen=True)
class RunResult:
    decisions: list[Decision]  # in decision order
    joined: tuple[AgentId, ...]
    missing: tuple[AgentId, ...]
    stats: RunStats
    # What the coordinator could infer of calendars (coordinator/disclosure.py `privacy_summary`).
    privacy: dict[str, object] | None = None


class MeetingResult(Decision):
    """A meeting's decision with the meeting's facts beside it: one entry of results.json."""

    name: str
    invitees: tuple[str, ...]
    min_participants: int  # the fewest attendees its rule accepts, as the rule enforced it
    priority: int
    series: str | None

    @model_serializer(mode="wrap")
    def _in_file_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: data[k] for k in _ORDER if k in data} | {k: v for k, v in data.items() if k not in _ORDER}

    @classmethod
    def of(cls, spec: MeetingSpec, decision: Decision | None) -> MeetingResult:
        d = decision or Decision.failed(spec.id, "not decided")
        return cls(**d.model_dump(), name=spec.title, invitees=spec.invitees,
                   min_participants=spec.required, priority=spec.priority, series=spec.series)
