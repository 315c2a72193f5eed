"""Time constraints: which candidate slots a meeting, or a person, may have.

Meeting-level constraints (`weekdays`, `time-of-day`) remove candidates before anyone is asked.
Attendee-level ones (`working-hours`, `min-gap`, `daily-cap`, `blackout-dates`) are checked per
person during the walk, in that person's own time zone, so DST is the zone database's business.
"""

from __future__ import annotations

from datetime import date, time, timedelta, tzinfo
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slotwise.coordinator.policies.base import Kind, MeetingSpec, PersonView
from slotwise.shared.scenario import DAYS, WORKDAYS, Day, WorkingHoursSpec
from slotwise.shared.slots import Interval


class _Opts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _MeetingOnly:
    per_attendee: ClassVar[bool] = False

    def attendee_reason(self, meeting: MeetingSpec, when: Interval, person: PersonView) -> str | None:
        return None


class _AttendeeOnly:
    per_attendee: ClassVar[bool] = True

    def meeting_reason(self, meeting: MeetingSpec, when: Interval, zone: tzinfo) -> str | None:
        return None


def _local_span(when: Interval, zone: tzinfo) -> tuple[date, time, time, bool]:
    """Local date, start and end time of day, and whether the meeting stays within that date
    (one ending exactly at midnight does; its end reads as the last instant of the day)."""
    start, end = when.start.astimezone(zone), when.end.astimezone(zone)
    same_day = (end - timedelta(microseconds=1)).date() == start.date()
    end_t = end.time() if end.date() == start.date() else time.max
    return start.date(), start.time(), end_t, same_day


class WeekdaysOptions(_Opts):
    days: Annotated[list[Day], Field(min_length=1)] = list(WORKDAYS)


class Weekdays(_MeetingOnly):
    """Only on these days of the week, in the scenario's time zone."""

    kind: ClassVar[Kind] = "constraint"
    Options = WeekdaysOptions

    def __init__(self, options: WeekdaysOptions) -> None:
        self.days = {DAYS.index(d) for d in options.days}

    def meeting_reason(self, meeting: MeetingSpec, when: Interval, zone: tzinfo) -> str | None:
        day = when.start.astimezone(zone).weekday()
        return None if day in self.days else f"not on an allowed weekday ({DAYS[day]})"


class TimeOfDayOptions(_Opts):
    earliest: time = time.min
    latest: time = time.max

    @model_validator(mode="after")
    def _ordered(self) -> TimeOfDayOptions:
        if self.latest <= self.earliest:
            raise ValueError("latest must be after earliest")
        return self


class TimeOfDay(_MeetingOnly):
    """Start no earlier than `earliest` and end no later than `latest`, scenario time zone."""

    kind: ClassVar[Kind] = "constraint"
    Options = TimeOfDayOptions

    def __init__(self, options: TimeOfDayOptions) -> None:
        self.options = options

    def meeting_reason(self, meeting: MeetingSpec, when: Interval, zone: tzinfo) -> str | None:
        _, start, end, same_day = _local_span(when, zone)
        o = self.options
        if not same_day or start < o.earliest or end > o.latest:
            return f"outside {o.earliest:%H:%M}-{o.latest:%H:%M}"
        return None


class WorkingHours(_AttendeeOnly):
    """Each attendee only within working hours in their own time zone (a participant's
    `working_hours` overrides the policy's)."""

    kind: ClassVar[Kind] = "constraint"
    Options = WorkingHoursSpec

    def __init__(self, options: WorkingHoursSpec) -> None:
        self.options = options

    def attendee_reason(self, meeting: MeetingSpec, when: Interval, person: PersonView) -> str | None:
        day, start, end, same_day = _local_span(when, person.zone)
        hours = (person.working_hours or self.options).for_day(day)
        days = {DAYS.index(d) for d in hours.days}
        if not same_day or day.weekday() not in days or start < hours.start or end > hours.end:
            return f"outside working hours ({hours.start:%H:%M}-{hours.end:%H:%M} {person.zone})"
        return None


class MinGapOptions(_Opts):
    minutes: Annotated[int, Field(ge=1, le=24 * 60)]


class MinGap(_AttendeeOnly):
    """At least this many free minutes between any two of a person's meetings."""

    kind: ClassVar[Kind] = "constraint"
    Options = MinGapOptions

    def __init__(self, options: MinGapOptions) -> None:
        self.gap = timedelta(minutes=options.minutes)

    def gap_minutes(self) -> int:
        """The optional hook (policies/hooks.py): the solver lengthens each meeting by it."""
        return int(self.gap.total_seconds() // 60)

    def attendee_reason(self, meeting: MeetingSpec, when: Interval, person: PersonView) -> str | None:
        for b in person.bookings:
            if when.start - self.gap < b.when.end and b.when.start < when.end + self.gap:
                return f"buffer too short next to {b.meeting_id} (min-gap {self.gap.seconds // 60} min)"
        return None


class DailyCapOptions(_Opts):
    max_meetings: Annotated[int, Field(ge=1)]


class DailyCap(_AttendeeOnly):
    """No more than this many meetings a day per person (their local day)."""

    kind: ClassVar[Kind] = "constraint"
    Options = DailyCapOptions

    def __init__(self, options: DailyCapOptions) -> None:
        self.cap = options.max_meetings

    def daily_cap(self) -> int | None:
        """The optional hook (policies/hooks.py): the solver counts meetings per local day."""
        return self.cap

    def attendee_reason(self, meeting: MeetingSpec, when: Interval, person: PersonView) -> str | None:
        day = when.start.astimezone(person.zone).date()
        booked = sum(1 for b in person.bookings if b.when.start.astimezone(person.zone).date() == day)
        return f"daily cap of {self.cap} meetings reached" if booked >= self.cap else None


class BlackoutOptions(_Opts):
    dates: Annotated[list[date], Field(min_length=1)]
    people: list[str] | None = None  # None: everyone


class BlackoutDates(_AttendeeOnly):
    """No meetings on these dates (each person's local date): holidays, off-sites, leave."""

    kind: ClassVar[Kind] = "constraint"
    Options = BlackoutOptions

    def __init__(self, options: BlackoutOptions) -> None:
        self.dates = set(options.dates)
        self.people = set(options.people) if options.people is not None else None

    def attendee_reason(self, meeting: MeetingSpec, when: Interval, person: PersonView) -> str | None:
        if self.people is not None and person.name not in self.people:
            return None
        first = when.start.astimezone(person.zone).date()
        last = (when.end - timedelta(microseconds=1)).astimezone(person.zone).date()
        hit = sorted(d for d in self.dates if first <= d <= last)
        return f"blackout date {hit[0].isoformat()}" if hit else None
