"""The scenario file: who takes part, what to place, where in time, and how patient to be.

Loading is strict and explains itself. Every problem is reported at once, each with the file,
the line, the field path ("meetings[1].invitees[2]") and what is wrong, because a user fixing a
scenario should not have to rerun the tool once per typo. Duplicate YAML keys are errors too:
PyYAML would silently keep the last `alice:`, and a participant would vanish.

Naive datetimes in the file are read in the scenario's `timezone`; everything after loading is
timezone-aware. Top-level keys starting with `x-` are ignored, so shared blocks (office hours)
can be written once as YAML anchors and referenced with `*name`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dateutil.rrule import rruleset
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from slotwise.shared.errors import Problem, ScenarioError
from slotwise.shared.ics import busy_from_ics, read_calendar
from slotwise.shared.ids import NAME_PATTERN, AgentId, MeetingId, is_valid_name
from slotwise.shared.wire.messages import MAX_CANDIDATES, MAX_REMIND_S
from slotwise.shared.recurrence import RecurrenceError, expand, parse
from slotwise.shared.slots import ALWAYS, FreeTime, Interval, SlotGrid, subtract

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


def _calendar_file(value: str, info: ValidationInfo) -> str:
    """Resolve against the naming file's folder, and read it now: a bad calendar is a
    scenario error at load time, not an agent failing mid-negotiation."""
    base = (info.context or {}).get("base_dir")
    path = Path(value) if Path(value).is_absolute() or base is None else Path(base) / value
    read_calendar(path.resolve())
    return str(path.resolve())


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
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


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


def _secret_file(value: str, info: ValidationInfo) -> str:
    """Resolved against the naming file's folder; read by the agent only, when it starts."""
    base = (info.context or {}).get("base_dir")
    path = Path(value) if Path(value).is_absolute() or base is None else Path(base) / value
    return str(path.resolve())


class CalDavSpec(_Strict):
    """A person's CalDAV calendars (see shared/caldav.py). The password comes from a file or an
    environment variable, so it never appears in a scenario, a command line or a log."""

    url: Annotated[str, Field(pattern=r"^https?://", max_length=2000)]
    username: Annotated[str, Field(max_length=200)] | None = None
    password_file: Annotated[str, AfterValidator(_secret_file)] | None = None
    password_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    calendars: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=1)] | None = None
    write: bool = False  # write agreed meetings into the calendar
    write_to: str | None = None  # which calendar (default: the first read)
    poll_s: Annotated[float, Field(gt=0, le=86400)] = 60.0
    on_calendar_error: Literal["busy", "free-with-warning"] = "busy"
    # events: read the events and expand them here (the default); freebusy: ask the server for
    # busy periods (RFC 4791 free-busy-query), for a calendar the user may see only as free/busy.
    read: Literal["events", "freebusy"] = "events"

    @model_validator(mode="after")
    def _one_password_source(self) -> CalDavSpec:
        if self.password_file is not None and self.password_env is not None:
            raise ValueError("give password_file or password_env, not both")
        if self.write and self.read == "freebusy":
            raise ValueError("read: freebusy cannot tell the meetings slotwise writes from other busy "
                             "time (each would conflict with itself); use write: false, or read: events")
        return self


class Availability(_Strict):
    """One person's entry. `available` and `busy` are what the agent knows and never tells;
    `timezone` and `working_hours` are shared with the coordinator for time constraints."""

    timezone: Zone | None = None
    working_hours: WorkingHoursSpec | None = None
    # None: free at any time outside `busy`. An empty list: never free.
    available: WindowList | None = None
    busy: WindowList = []
    # iCalendar files whose events and free/busy periods are busy time (see shared/ics.py);
    # relative paths are read against the file that names them.
    ics: list[Annotated[str, AfterValidator(_calendar_file)]] = []
    # A CalDAV server's calendars, read (and, with write: true, written) by the agent.
    caldav: CalDavSpec | None = None
    # Published .ics feeds (http or https), fetched by the agent with conditional GETs.
    ics_url: Annotated[list[Annotated[str, Field(pattern=r"^https?://", max_length=2000)]], Field(max_length=32)] = []

    @model_validator(mode="before")
    @classmethod
    def _naive_times_in_own_zone(cls, data: Any, info: ValidationInfo) -> Any:
        """A person's naive times are in their own `timezone`; without one, a person lives in
        the scenario's (floating .ics times too)."""
        zone = (info.context or {}).get("zone")
        if isinstance(data, dict) and "timezone" not in data and isinstance(zone, ZoneInfo):
            data = {**data, "timezone": zone.key}
        if not isinstance(data, dict) or not isinstance(data.get("timezone"), str):
            return data
        try:
            zone = ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            return data  # reported by the field validator
        return {**data, **{k: _windows_in_zone(data[k], zone) for k in ("available", "busy") if k in data}}

    def free_time(self, within: Interval | None = None) -> FreeTime:
        """Free = inside an available window and outside every busy interval. Recurring
        windows are expanded within `within` (a year from their first occurrence if None);
        calendar files need a window."""
        base = [ALWAYS] if self.available is None else _expand(self.available, within)
        busy = _expand(self.busy, within)
        if self.ics or self.caldav or self.ics_url:
            if within is None:
                raise ValueError("free time from calendars needs a window to expand them in")
            zone = ZoneInfo(self.timezone or "UTC")
            for path in self.ics:
                busy += busy_from_ics(Path(path), within, zone)
            if self.caldav is not None:
                from slotwise.shared.caldav import reader_for

                busy += reader_for(self.caldav).busy(within, zone)
            if self.ics_url:
                from slotwise.shared.feeds import feed_for

                for url in self.ics_url:
                    busy += feed_for(url).busy(within, zone)
        return FreeTime(subtract(base, busy))


# move: find a new slot (the old one stays booked until then); keep: leave it and log;
# drop-attendee: go on without that person, if the meeting's rule still holds (else move).
ConflictPolicy = Literal["move", "keep", "drop-attendee"]

_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_REMINDERS = 16


def offset_seconds(text: str) -> int:
    """"15m" -> 900: a reminder's offset before the meeting starts."""
    return int(text[:-1]) * _UNIT_S[text[-1]]


def _offset_within_limit(text: str) -> str:
    if offset_seconds(text) > MAX_REMIND_S:
        raise ValueError(f"{text!r} is more than a year ahead")
    return text


# "15m", "1d": a number and one of s, m, h, d, w.
RemindOffset = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,6}[smhdw]$"), AfterValidator(_offset_within_limit)]
Reminders = Annotated[list[RemindOffset], Field(max_length=MAX_REMINDERS)]


class Meeting(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=128)]
    name: str = ""
    duration_minutes: Annotated[int, Field(gt=0)]
    invitees: Annotated[list[Name], Field(min_length=1)]
    min_participants: Annotated[int, Field(ge=1)] | None = None
    priority: int = 0
    not_before: Moment | None = None  # the meeting may not start earlier
    not_after: Moment | None = None  # nor end later (also its deadline for earliest-deadline-first)
    # Per-meeting policy overrides; None: the scenario's `policies`.
    rule: PolicySpec | None = None
    constraints: list[PolicySpec] | None = None
    slot_order: PolicySpec | None = None
    on_silence: PolicySpec | None = None
    # iCalendar RRULE: one occurrence per instance, each placed on that instance's local day.
    recurrence: str | None = None
    # Reminder offsets before the start ("15m", "1d"); None: the scenario's `reminders`.
    remind: Reminders | None = None
    on_conflict: ConflictPolicy | None = None  # None: the scenario's `policies.on_conflict`

    @model_validator(mode="after")
    def _valid_recurrence(self) -> Meeting:
        if self.recurrence is not None:
            parse(self.recurrence, datetime(2000, 1, 1), "recurrence")  # expanded (bounded) when compiled
        return self

    @property
    def title(self) -> str:
        return self.name or self.id

    @property
    def meeting_id(self) -> MeetingId:
        return MeetingId(self.id)


class NegotiationSettings(_Strict):
    """How long to wait for people, in seconds. Defaults suit loopback and a LAN."""

    join_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    response_timeout_s: Annotated[float, Field(gt=0)] = 2.0
    hold_timeout_s: Annotated[float, Field(gt=0)] = 2.0
    heartbeat_s: Annotated[float, Field(gt=0)] = 0.5
    retries: Annotated[int, Field(ge=0, le=10)] = 1
    max_hold_attempts: Annotated[int, Field(ge=1, le=100)] = 5


class OptimizeOptions(_Strict):
    # 0: no solver, the greedy walk and its repair pass (what runs without OR-Tools).
    time_limit_s: Annotated[float, Field(ge=0, le=600)] = 3.0


class OptimizeChoice(_Strict):
    optimize: OptimizeOptions = OptimizeOptions()


class PolicySelection(_Strict):
    """The scenario-wide policies; meetings may override rule, constraints and slot order."""

    rule: PolicySpec = "min-participants"
    priority: PolicySpec = "priority-then-order"
    slot_order: PolicySpec = "earliest"
    constraints: list[PolicySpec] = []
    on_silence: PolicySpec = "count-as-no"
    # What the live service does when an attendee's calendar changes under a confirmed meeting.
    on_conflict: ConflictPolicy = "move"
    # greedy: one meeting at a time, in priority order; optimize: all meetings at once (CP-SAT,
    # the optional extra), or {optimize: {time_limit_s: 3}}.
    placement: Literal["greedy", "optimize"] | OptimizeChoice = "greedy"

    @property
    def optimize_s(self) -> float | None:
        """The optimizer's time budget, or None for the greedy walk."""
        if isinstance(self.placement, OptimizeChoice):
            return self.placement.optimize.time_limit_s
        return None if self.placement == "greedy" else OptimizeOptions().time_limit_s


class Security(_Strict):
    """`keys`: a CURVE keys directory, relative to the scenario file (like --keys)."""

    keys: str | None = None


class Horizon(_Strict):
    start: Moment
    end: Moment


class Scenario(_Strict):
    name: Annotated[str, Field(min_length=1)]
    timezone: Zone = "UTC"
    horizon: Horizon
    slot_minutes: Annotated[int, Field(gt=0, le=1440)] = 15
    participants: dict[Name, Availability | None] = {}
    meetings: list[Meeting] = []  # may be empty for `serve`: meetings then arrive over the admin socket
    reminders: Reminders = []  # the default for meetings without `remind`
    negotiation: NegotiationSettings = NegotiationSettings()
    policies: PolicySelection = PolicySelection()
    security: Security = Security()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def horizon_interval(self) -> Interval:
        return Interval(self.horizon.start, self.horizon.end)

    @property
    def grid(self) -> SlotGrid:
        return SlotGrid(self.horizon.start, self.slot_minutes)

    @property
    def people(self) -> list[AgentId]:
        return [AgentId(p) for p in self.participants]

    def availability(self, name: str) -> Availability:
        return self.participants.get(name) or Availability()

    def keys_dir(self, scenario_file: Path) -> Path | None:
        """The security section's keys directory, resolved against the scenario's folder."""
        if self.security.keys is None:
            return None
        return (scenario_file.parent / self.security.keys).resolve()

    def person_zone(self, name: str) -> ZoneInfo:
        own = self.availability(name).timezone
        return ZoneInfo(own) if own else self.zone



def _semantic_problems(s: Scenario) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Rules that span fields, reported with the path of the field to change."""
    if s.horizon.end <= s.horizon.start:
        yield ("horizon", "end"), "the horizon ends at or before it starts"
        return
    for name, person in s.participants.items():
        for key in ("available", "busy"):
            for j, w in enumerate(getattr(person, key) or []) if person else ():
                if isinstance(w, RecurringWindow):
                    try:  # expanded here exactly as the agent will, so `validate` catches it
                        w.occurrences(s.horizon_interval)
                    except RecurrenceError as exc:
                        yield ("participants", name, key, j, "rrule"), str(exc)
    horizon_minutes = s.horizon_interval.minutes
    if horizon_minutes // s.slot_minutes > MAX_CANDIDATES:
        yield ("slot_minutes",), (
            f"{horizon_minutes // s.slot_minutes} slots in the horizon; at most {MAX_CANDIDATES} "
            "are supported (use longer slots or a shorter horizon)")
    yield from _meeting_problems(s)


def _meeting_problems(s: Scenario) -> Iterable[tuple[tuple[Any, ...], str]]:
    horizon_minutes = s.horizon_interval.minutes
    seen: dict[str, int] = {}
    for i, m in enumerate(s.meetings):
        if m.id in seen:
            yield ("meetings", i, "id"), f"duplicate meeting id {m.id!r} (first at meetings[{seen[m.id]}])"
        seen.setdefault(m.id, i)
        for j, who in enumerate(m.invitees):
            if who not in s.participants:
                yield ("meetings", i, "invitees", j), (
                    f"{who!r} is not listed under participants (add `{who}: {{}}` for someone "
                    "free throughout the horizon)")
            elif who in m.invitees[:j]:
                yield ("meetings", i, "invitees", j), f"{who!r} is invited twice"
        if m.min_participants is not None and m.min_participants > len(m.invitees):
            yield ("meetings", i, "min_participants"), (
                f"needs {m.min_participants} participants but only {len(m.invitees)} are invited")
        start = max(s.horizon.start, m.not_before or s.horizon.start)
        if (m.not_before or m.not_after) and min(s.horizon.end, m.not_after or s.horizon.end) <= start:
            yield ("meetings", i, "not_after"), "not_after is not later than not_before within the horizon"
        elif m.duration_minutes > horizon_minutes:
            yield ("meetings", i, "duration_minutes"), (
                f"{m.duration_minutes} minutes do not fit in the {horizon_minutes}-minute horizon")


# --- loading with positions -------------------------------------------------------------------

MAX_FILE_BYTES = 16 << 20  # a 10,000-person organisation's scenario is a few MiB
MAX_VALUES = 1_000_000  # scalars and collections after YAML aliases are expanded


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _expansion_problem(root: yaml.Node) -> Problem | None:
    """What the document would cost once aliases are expanded, measured on the node graph
    (where an alias is one shared node) before anything is constructed or walked: an "alias
    bomb" of a few hundred bytes can otherwise stand for billions of values."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if not children_done:
            active.add(key)
            stack.append((node, True))
            for child in _children(node):
                if id(child) in active and id(child) not in sizes:
                    return Problem("", "a YAML alias refers to itself (a recursive structure)",
                                   child.start_mark.line + 1)
                stack.append((child, False))
            continue
        active.discard(key)
        total = 1 + sum(sizes[id(c)] for c in _children(node))
        if total > MAX_VALUES:
            return Problem("", f"YAML aliases here expand to more than {MAX_VALUES:,} values; "
                               "write the data out or use fewer nested aliases", node.start_mark.line + 1)
        sizes[key] = total
    return None


def _positions(root: yaml.Node) -> tuple[dict[tuple[Any, ...], int], list[tuple[tuple[Any, ...], str, int]]]:
    """Map every field path to its 1-based line, and collect duplicate mapping keys. A node
    reached again through an alias is not walked again: its first path has its lines."""
    out: dict[tuple[Any, ...], int] = {}
    dups: list[tuple[tuple[Any, ...], str, int]] = []
    walked: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        out[path] = node.start_mark.line + 1
        if id(node) in walked:
            continue
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    dups.append((path + (key,), key, key_node.start_mark.line + 1))
                seen.add(key)
                stack.append((value_node, path + (key,)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path + (i,)) for i, item in enumerate(node.value))
    return out, dups


def render_path(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def read_yaml(path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse once, and bound the cost before constructing anything: the file's size, then what
    its aliases expand to, then the values themselves."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(source, [Problem("", f"the file is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read")])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(source, [Problem("", f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [Problem("", f"not UTF-8 text: {exc.reason}")]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        too_much = _expansion_problem(node)
        if too_much is not None:
            raise ScenarioError(source, [too_much])
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(source, [Problem("", f"not valid YAML: {reason}",
                                             mark.line + 1 if mark else None)]) from None
    except RecursionError:
        raise ScenarioError(source, [Problem("", "nested too deeply")]) from None
    finally:
        loader.dispose()
    lines, dups = _positions(node)
    if dups:
        raise ScenarioError(source, [Problem(render_path(p), f"duplicate key {k!r}", line)
                                     for p, k, line in dups])
    return data, lines


def _validate(model: type[_Strict], data: Any, source: str,
              lines: dict[tuple[Any, ...], int]) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(source, [Problem("", "expected a mapping of fields at the top level")])
    # Top-level "x-..." keys are extension fields, a home for YAML anchors (as in docker-compose).
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    zone_name = data.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(zone_name) if isinstance(zone_name, str) else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None  # reported by the field validator
    try:
        return model.model_validate(data, context={"zone": zone, "base_dir": str(Path(source).parent)})
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc, (), lines)) from None


def _problems(exc: ValidationError, prefix: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(part for part in err["loc"] if part not in _UNION_TAGS)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        problems.append(Problem(render_path(loc), message, _line_for(loc, lines)))
    return problems


Check = Callable[[Scenario], Iterable[tuple[tuple[Any, ...], str]]]
_MEETING_LIST: TypeAdapter[list[Meeting]] = TypeAdapter(list[Meeting])
MAX_SUBMITTED = 1000  # meetings in one request to the live service


def with_meetings(scenario: Scenario, data: Any, source: str, checks: Sequence[Check] = (),
                  *, bounded: bool = True) -> Scenario:
    """The scenario with `data` (a `meetings:` list, as written in a scenario) as its meetings,
    checked exactly as a scenario's are; raises ScenarioError with `meetings[i].field` paths.

    This is how the live service takes new meetings: the participants, horizon and policies
    stay the scenario's own."""
    if not isinstance(data, list):
        raise ScenarioError(source, [Problem("meetings", "expected a list of meetings")])
    if bounded and len(data) > MAX_SUBMITTED:
        raise ScenarioError(source, [Problem("meetings", f"{len(data)} meetings; at most {MAX_SUBMITTED} per request")])
    try:
        meetings = _MEETING_LIST.validate_python(data, context={"zone": scenario.zone, "base_dir": "."})
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc, ("meetings",), {})) from None
    updated = scenario.model_copy(update={"meetings": meetings})
    found = list(_meeting_problems(updated))
    if not found:
        for check in checks:
            found += check(updated)
    if found:
        raise ScenarioError(source, [Problem(render_path(loc), message) for loc, message in found])
    return updated


def load_scenario(path: str | Path, checks: Sequence[Check] = ()) -> Scenario:
    """Read and check a scenario file; raises ScenarioError listing every problem.

    `checks` add rules this module cannot know (the coordinator's policy names), reported with
    field paths and lines like the built-in ones.
    """
    path = Path(path)
    data, lines = read_yaml(path)
    scenario: Scenario = _validate(Scenario, data, str(path), lines)
    found = list(_semantic_problems(scenario))
    if not found:
        for check in checks:
            found += check(scenario)
    problems = [Problem(render_path(loc), message, _line_for(loc, lines)) for loc, message in found]
    if problems:
        raise ScenarioError(str(path), problems)
    return scenario


def load_availability(path: str | Path) -> Availability:
    """Read one person's availability file (the `participant --availability` format)."""
    path = Path(path)
    data, lines = read_yaml(path)
    if data is None:
        data = {}
    return _validate(Availability, data, str(path), lines)  # type: ignore[no-any-return]


def load_agents(path: str | Path) -> dict[str, Availability]:
    """Read a host's availability file: `{"agents": {NAME: availability, ...}}` (what `run
    --hosts` writes, one per host process, so each holds only its own agents' calendars)."""
    path = Path(path)
    try:  # what `run` writes is JSON, read at C speed; anything else goes through the YAML door
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError("too large for the fast path")
        data, lines = json.loads(path.read_bytes()), dict[tuple[Any, ...], int]()
    except (OSError, ValueError):
        data, lines = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("agents"), dict) or set(data) != {"agents"}:
        raise ScenarioError(str(path), [Problem("agents", "a host's availability file holds only "
                                                          "`agents:`, a mapping of names to availability")])
    out: dict[str, Availability] = {}
    for name, entry in data["agents"].items():
        if not isinstance(name, str) or not is_valid_name(name):
            raise ScenarioError(str(path), [Problem("agents", f"{name!r} is not a participant name")])
        try:
            out[name] = _validate(Availability, entry if entry is not None else {}, str(path), {})
        except ScenarioError as exc:
            raise ScenarioError(str(path), [Problem(f"agents.{name}" + (f".{p.path}" if p.path else ""),
                                                    p.message, _line_for(("agents", name), lines))
                                            for p in exc.problems]) from None
    return out


def dump_agents(agents: Mapping[str, Availability]) -> str:
    """The host availability file, as JSON (valid YAML, exact for datetimes)."""
    return "{\"agents\": {" + ", ".join(f"{json.dumps(name)}: {dump_availability(a)}"
                                         for name, a in agents.items()) + "}}"


def dump_availability(availability: Availability) -> str:
    """The availability file format, as YAML (JSON is valid YAML, and exact for datetimes)."""
    return availability.model_dump_json(exclude_none=True, by_alias=True)
