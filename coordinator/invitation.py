"""What an invitation says of a meeting beyond its decision, kept apart from the iTIP writer so
that the desk can speak of invitations without loading icalendar (only `--ics-out` pays for it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slotwise.coordinator.policies.base import MeetingSpec


@dataclass(frozen=True)
class Invitation:
    """What an invitation says of a meeting beyond its decision (from its MeetingSpec)."""

    title: str
    remind: tuple[int, ...] = ()
    uid: str = ""
    series: str | None = None  # an occurrence's recurring meeting
    series_title: str = ""
    instance: datetime | None = None
    recurrence: str | None = None
    instances: tuple[datetime, ...] = ()

    @classmethod
    def of(cls, spec: MeetingSpec | None, meeting_id: str = "") -> Invitation:
        if spec is None:
            return cls(meeting_id)
        return cls(spec.title, spec.remind, spec.uid, spec.series, spec.name or (spec.series or spec.id),
                   spec.instance, spec.recurrence, spec.instances)
