"""What an invitee who does not answer in time means. Schedulers differ here, and an all-busy
default surprises people, so it is a named choice:

- count-as-no (default): asked once more, then unavailable for that meeting.
- wait: asked again up to `retries` times before counting as no (slow links, busy agents).
- drop-from-quorum: the meeting's minimum is computed over those who answered: silent
  invitees neither attend nor count against it (a required attendee stays required).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import replace
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from slotwise.coordinator.policies.base import Configured, Kind, MeetingSpec


class CountAsNo(Configured):
    kind: ClassVar[Kind] = "silence"

    def retries(self, default: int) -> int:
        return default

    def judged_meeting(self, meeting: MeetingSpec, silent: Collection[str]) -> MeetingSpec:
        return meeting


class WaitOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    retries: Annotated[int, Field(ge=1, le=20)] = 3


class Wait(CountAsNo):
    Options = WaitOptions
    options: WaitOptions

    def retries(self, default: int) -> int:
        return self.options.retries


class DropFromQuorum(CountAsNo):
    def judged_meeting(self, meeting: MeetingSpec, silent: Collection[str]) -> MeetingSpec:
        gone = [p for p in meeting.invitees if p in silent]
        if not gone or len(gone) == len(meeting.invitees):
            return meeting
        answered = tuple(p for p in meeting.invitees if p not in silent)
        # The same share of those who answered as was asked of everyone, rounded up.
        scaled = max(1, math.ceil(meeting.required * len(answered) / len(meeting.invitees) - 1e-9))
        return replace(meeting, invitees=answered, required=scaled)
