"""Time in scenario files: zones, moments read in the right zone, windows (one-off and
recurring by RRULE) and working hours.

Naive datetimes are read in the zone the context names (the scenario's, or a person's own);
everything after loading is timezone-aware.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rruleset
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from slotwise.shared.recurrence import expand, parse
from slotwise.shared.slots import Interval


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name



def _localize(value: datetime, info: ValidationInfo) -> datetime:
    if value.tzinfo is None:
        zone = (info.context or {}).get("zone")
        if zone is None:
            raise ValueError("naive datetime and no time zone to read it in")
        return value.replace(tzinfo=zone)
    return value


def _window_pair(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"a window is [start, end]; got {len(value)} item(s)")
        return {"start": value[0], "end": value[1]}
    return value



Zone = Annotated[str, AfterValidator(_zone)]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS: tuple[Day, ...] = DAYS[:5]
# A policy as written in the file: a name, or {name: {option: value}} (checked by the coordinator).
PolicySpec = str | dict[str, Any]
MAX_WINDOW_OCCURRENCES = 20_000  # per recurring availability window, within one request's span
Moment = Annotated[datetime, AfterValidator(_localize)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Window(_Strict):
    start: Moment
    end: Moment

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        return _window_pair(value)

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"ends ({self.end.isoformat()}) at or before it starts ({self.start.isoformat()})")
        return self

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


class RecurringWindow(_Strict):
    """A window that repeats by an iCalendar RRULE, with EXDATE exceptions and RDATE additions.

    `start`/`end` are the first occurrence; naive times are read in the person's own zone, so a
    "09:00-17:00 Europe/Berlin" rule stays 09:00 local across DST (python-dateutil keeps wall
    time for zone-aware starts).
    """

    rrule: Annotated[str, Field(min_length=1)]
    start: Moment
    end: Moment
    exdate: list[Moment] = []
    rdate: list[Moment] = []
    # The zone the wall-clock times repeat in (iCalendar's DTSTART;TZID=...). Defaults to the
    # person's zone; written out explicitly so a window survives being saved and read back.
    tzid: Zone | None = None

    @model_validator(mode="before")
    @classmethod
    def _naive_times_in_tzid(cls, data: Any) -> Any:
        if isinstance(data, dict) and "tzid" not in data:
            start = data.get("start")
            if isinstance(start, datetime) and isinstance(start.tzinfo, ZoneInfo):
                data = {**data, "tzid": start.tzinfo.key}  # the zone the wall-clock times repeat in
        if isinstance(data, dict) and isinstance(data.get("tzid"), str):
            try:
                zone = ZoneInfo(data["tzid"])
            except (ZoneInfoNotFoundError, ValueError):
                return data
            return _window_in_zone(data, zone)
        return data

    @model_serializer(mode="wrap")
    def _wall_clock(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Zone-aware starts are written as wall-clock time plus tzid: a UTC offset would
        freeze the repetition to one side of a DST change."""
        data: dict[str, Any] = handler(self)
        zone = self.start.tzinfo
        if isinstance(zone, ZoneInfo):
            def wall(d: datetime) -> str:
                return d.astimezone(zone).replace(tzinfo=None).isoformat()
            data.update(tzid=zone.key, start=wall(self.start), end=wall(self.end),
                        exdate=[wall(d) for d in self.exdate], rdate=[wall(d) for d in self.rdate])
        return data

    @model_validator(mode="after")
    def _valid(self) -> RecurringWindow:
        if self.end <= self.start:
            raise ValueError("the first occurrence ends at or before it starts")
        self._rule()
        return self

    def _rule(self) -> rruleset:
        rules = rruleset()
        rules.rrule(parse(self.rrule, self.start))
        for d in self.exdate:
            rules.exdate(d)
        for d in self.rdate:
            rules.rdate(d)
        return rules

    def occurrences(self, within: Interval | None = None) -> list[Interval]:
        """Occurrences overlapping `within` (default: a year from the first one); more than
        MAX_WINDOW_OCCURRENCES there is an error, the same at validation and in the agent."""
        length = self.end - self.start
        span = within or Interval(self.start, self.start + timedelta(days=366))
        starts = expand(self._rule(), self.start, after=max(self.start, span.start - length),
                        until=span.end, limit=MAX_WINDOW_OCCURRENCES)
        return [Interval(s, s + length) for s in starts if s + length > span.start]


_UNION_TAGS = ("window", "recurring")  # pydantic puts these in error paths; users never wrote them


def _window_kind(value: Any) -> str:
    if isinstance(value, RecurringWindow) or (isinstance(value, dict) and "rrule" in value):
        return "recurring"
    return "window"


AnyWindow = Annotated[
    Annotated[Window, Tag("window")] | Annotated[RecurringWindow, Tag("recurring")],
    Discriminator(_window_kind),
]
WindowList = list[AnyWindow]


def _expand(windows: Sequence[Window | RecurringWindow], within: Interval | None) -> list[Interval]:
    out: list[Interval] = []
    for w in windows:
        out += w.occurrences(within) if isinstance(w, RecurringWindow) else [w.interval]
    return out


def _in_zone(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _window_in_zone(item: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    return {k: ([_in_zone(x, zone) for x in v] if k in ("exdate", "rdate") and isinstance(v, list)
                else _in_zone(v, zone) if k in ("start", "end") else v)
            for k, v in item.items()}


def _windows_in_zone(items: Any, zone: ZoneInfo) -> Any:
    if not isinstance(items, list):
        return items
    out = []
    for item in items:
        if isinstance(item, (list, tuple)):
            item = [_in_zone(x, zone) for x in item]
        elif isinstance(item, dict) and "tzid" not in item:  # a tzid says where its times are
            item = _window_in_zone(item, zone)
        out.append(item)
    return out


class Hours(_Strict):
    start: time = time(9)
    end: time = time(17)
    days: Annotated[list[Day], Field(min_length=1)] = list(WORKDAYS)

    @model_validator(mode="after")
    def _ordered(self) -> Hours:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class HoursOverride(Hours):
    """Other hours from one date to another, both included (a holiday season, say), read as
    wall-clock times in the person's zone, so DST changes inside the range are handled."""

    from_: date = Field(alias="from")
    until: date

    @model_validator(mode="after")
    def _range(self) -> HoursOverride:
        if self.until < self.from_:
            raise ValueError("until is before from")
        return self


class WorkingHoursSpec(Hours):
    overrides: Annotated[list[HoursOverride], Field(max_length=366)] = []

    def for_day(self, day: date) -> Hours:
        """The hours that hold on `day`: the first override covering it, or the usual ones."""
        return next((o for o in self.overrides if o.from_ <= day <= o.until), self)


