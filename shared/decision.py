"""The decision record: what was decided for one meeting, in the one shape every place keeps.

The coordinator's core makes a `Decision`; the journal stores it (one JSON line each), the
results file reports it (with the meeting's facts beside it), an agent records the decisions it
was told of, and `run`'s cross-check compares agents' records with the coordinator's by the same
type. Field names are those of the results file, a public interface: `id`, `participants`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from slotwise.shared.ids import NAME_PATTERN, AgentId, MeetingId
from slotwise.shared.slots import Interval, require_aware
from slotwise.shared.wire.messages import MAX_REASON, MeetingFailed, MeetingScheduled

# ISO 8601 with the offset written out ("+00:00"), as the results file has always had it.
Moment = Annotated[datetime, AfterValidator(require_aware), PlainSerializer(datetime.isoformat, return_type=str)]


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=200)]
    scheduled: bool
    start: Moment | None = None
    end: Moment | None = None
    participants: tuple[Annotated[str, Field(pattern=NAME_PATTERN)], ...] = ()
    reason: str | None = None  # why it was not placed, for a person to act on
    round_trips: int = 0  # request rounds it took (the coordinator's count; 0 where unknown)

    @classmethod
    def placed(cls, meeting: MeetingId, when: Interval, attendees: tuple[AgentId, ...],
               round_trips: int = 0) -> Decision:
        return cls(id=meeting, scheduled=True, start=when.start, end=when.end, participants=attendees,
                   round_trips=round_trips)

    @classmethod
    def failed(cls, meeting: MeetingId, reason: str, round_trips: int = 0) -> Decision:
        """A reason is summarised, never refused: one longer than the wire carries is cut (its
        reasons are already summarised per kind; this is the last guard, so a meeting of
        hundreds of invitees can never stop the core)."""
        return cls(id=meeting, scheduled=False, reason=_short(reason), round_trips=round_trips)

    @classmethod
    def announced(cls, body: MeetingScheduled) -> Decision:
        """What an agent learns from an announcement."""
        return cls.placed(MeetingId(body.meeting_id), Interval(body.start, body.end),
                          tuple(AgentId(a) for a in body.attendees))

    @property
    def meeting_id(self) -> MeetingId:
        return MeetingId(self.id)

    @property
    def attendees(self) -> tuple[AgentId, ...]:
        return tuple(AgentId(p) for p in self.participants)

    @property
    def when(self) -> Interval | None:
        return Interval(self.start, self.end) if self.start is not None and self.end is not None else None

    def booking(self) -> tuple[str, datetime | None, datetime | None, frozenset[str]]:
        """What two records of the same meeting must agree on (not the coordinator's counters)."""
        return self.id, self.start, self.end, frozenset(self.participants)

    def announcement(self, title: str, remind: tuple[int, ...] = (), uid: str = "") -> MeetingScheduled | MeetingFailed:
        if self.scheduled and self.start is not None and self.end is not None:
            return MeetingScheduled(meeting_id=self.id, name=title, start=self.start, end=self.end,
                                    attendees=self.participants, remind=remind, uid=uid)
        return MeetingFailed(meeting_id=self.id, reason=_short(self.reason or "not placed"))


def _short(reason: str) -> str:
    """At most what the wire carries (a decision stored by an older version may hold more)."""
    if len(reason) <= MAX_REASON:
        return reason
    return reason[:MAX_REASON - 20].rstrip() + " … (reason cut)"
