"""A third-party slotwise policy: keep everyone's lunch hour free, in their own time zone.

Install this package next to slotwise and name the policy in a scenario:

    policies:
      constraints: [{no-lunch: {start: "12:00", end: "13:00"}}]
"""

from __future__ import annotations

from datetime import time
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from slotwise.coordinator.policies.base import Kind, PersonView
from slotwise.shared.scenario import Meeting
from slotwise.shared.slots import Interval


class NoLunchOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    start: time = time(12)
    end: time = time(13)


class NoLunch:
    """An attendee-level time constraint: nobody meets over their local lunch hour."""

    kind: ClassVar[Kind] = "constraint"
    per_attendee: ClassVar[bool] = True
    Options = NoLunchOptions

    def __init__(self, options: NoLunchOptions) -> None:
        self.options = options

    def meeting_reason(self, meeting: Meeting, when: Interval, zone: object) -> str | None:
        return None

    def attendee_reason(self, meeting: Meeting, when: Interval, person: PersonView) -> str | None:
        start = when.start.astimezone(person.zone)
        end = when.end.astimezone(person.zone)
        lunch_start = start.replace(hour=self.options.start.hour, minute=self.options.start.minute)
        lunch_end = start.replace(hour=self.options.end.hour, minute=self.options.end.minute)
        if start < lunch_end and lunch_start < end:
            return f"over lunch ({self.options.start:%H:%M}-{self.options.end:%H:%M})"
        return None
