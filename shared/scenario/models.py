"""The scenario file's models: who takes part, what to place, where in time, how patient to be.

Models are for files: strict (unknown fields refused, nothing coerced), frozen, and free of
I/O. Reading calendars is the agent's (participant/calendars), compiling is the coordinator's
(coordinator/plan.py).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from slotwise.shared.ids import NAME_PATTERN, AgentId, MeetingId
from slotwise.shared.recurrence import parse
from slotwise.shared.scenario.times import (
    Moment,
    WindowList,
    WorkingHoursSpec,
    Zone,
    _expand,
    _Strict,
    _windows_in_zone,
)
from slotwise.shared.slots import ALWAYS, FreeTime, Interval, SlotGrid, subtract
from slotwise.shared.wire.messages import MAX_REMIND_S

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
# A policy as written in the file: a name, or {name: {option: value}} (checked by the coordinator).
PolicySpec = str | dict[str, Any]


def _calendar_file(value: str, info: ValidationInfo) -> str:
    """Resolved against the naming file's folder, so an agent started elsewhere (an agent host
    reading its availability from a file `run` wrote) finds it. Whether it can be read is the
    agent's to check (participant/calendars): the coordinator never reads it."""
    base = (info.context or {}).get("base_dir")
    path = Path(value) if Path(value).is_absolute() or base is None else Path(base) / value
    return str(path.resolve())



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
    # A private CA's certificate (PEM) to trust for an https:// server, beside the system's.
    ca_file: Annotated[str, AfterValidator(_secret_file)] | None = None
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


# A mail address as calendars carry it (`mailto:` in ATTENDEE/ORGANIZER): one @, no spaces or
# control characters, at most the 254 characters RFC 5321 allows.
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f<>,;:\"]+@[^@\s\x00-\x1f\x7f<>,;:\"]+$")]
DisplayName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
# A DNS name (RFC 1123 labels): the namespace of the UIDs of a scenario's events.
Domain = Annotated[str, Field(max_length=200, pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                                                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")]


class Organizer(_Strict):
    """Who invitations come from (ORGANIZER); without one, slotwise's reserved `.invalid` address."""

    name: DisplayName | None = None
    email: Email
    # The organizer's account on a scheduling server (RFC 6638): each decided meeting is put in
    # this calendar with its attendees, and the server delivers the invitations and the answers.
    caldav: CalDavSpec | None = None


class Availability(_Strict):
    """One person's entry. `available` and `busy` are what the agent knows and never tells;
    `timezone` and `working_hours` are shared with the coordinator for time constraints;
    `email` and `display_name` are how invitations name them (ATTENDEE with CN)."""

    email: Email | None = None
    display_name: DisplayName | None = None
    timezone: Zone | None = None
    working_hours: WorkingHoursSpec | None = None
    # None: free at any time outside `busy`. An empty list: never free.
    available: WindowList | None = None
    busy: WindowList = []
    # iCalendar files whose events and free/busy periods are busy time (see participant/calendars/ics.py);
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

    @property
    def reads_calendars(self) -> bool:
        """Busy time also comes from calendars (files, a server, feeds), which the agent reads."""
        return bool(self.ics or self.caldav or self.ics_url)

    def declared_free_time(self, within: Interval | None = None) -> FreeTime:
        """Free = inside an available window and outside every busy window written here.
        Recurring windows are expanded within `within` (a year from their first occurrence if
        None). Calendars are not read here: `participant.calendars.free_time` subtracts them."""
        base = [ALWAYS] if self.available is None else _expand(self.available, within)
        return FreeTime(subtract(base, _expand(self.busy, within)))


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


# Ids and titles end up in log lines, file names and calendar clients: no control characters
# (a CR or LF would forge a log line), whatever else a language needs.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


# What the coordinator may learn of people's calendars (docs/privacy.md): every candidate's yes or
# no (full), the most preferred candidates' a few at a time (incremental), or per candidate only
# how many are free (counts).
Privacy = Literal["full", "incremental", "counts"]


class Meeting(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=128, pattern=PRINTABLE)]
    name: Annotated[str, Field(pattern=PRINTABLE)] = ""
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
    on_decline: ConflictPolicy | None = None  # None: the scenario's `policies.on_decline`
    privacy: Privacy | None = None  # None: the scenario's `privacy`

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
    # The live service: a meeting moved for an attendee's calendar conflict is not moved again
    # for that attendee within `conflict_quiet_s`, nor for conflicts more than
    # `conflict_moves_per_day` times in any 24 hours; a conflict reported meanwhile waits.
    conflict_quiet_s: Annotated[float, Field(ge=0, le=7 * 86400)] = 600.0
    conflict_moves_per_day: Annotated[int, Field(ge=1, le=1000)] = 3
    # `privacy: incremental` and `counts`: candidates asked in a meeting's first round, the most
    # preferred first (each round after asks twice as many as the one before).
    ask_at_once: Annotated[int, Field(ge=1, le=1000)] = 8


class OptimizeOptions(_Strict):
    # 0: no solver, the greedy walk and its repair pass (what runs without OR-Tools).
    time_limit_s: Annotated[float, Field(ge=0, le=600)] = 3.0


class OptimizeChoice(_Strict):
    optimize: OptimizeOptions = OptimizeOptions()


class RetryPolicy(_Strict):
    """When the live service negotiates a failed meeting again: after something that could
    make it fit (an invitee back, a meeting cancelled or moved away), at most `attempts` times,
    and never once its window has closed. `attempts: 0` turns it off."""

    attempts: Annotated[int, Field(ge=0, le=100)] = 5


class PolicySelection(_Strict):
    """The scenario-wide policies; meetings may override rule, constraints and slot order."""

    rule: PolicySpec = "min-participants"
    priority: PolicySpec = "priority-then-order"
    slot_order: PolicySpec = "earliest"
    constraints: list[PolicySpec] = []
    on_silence: PolicySpec = "count-as-no"
    # What the live service does when an attendee's calendar changes under a confirmed meeting.
    on_conflict: ConflictPolicy = "move"
    # What the live service does when an attendee declines in their calendar client (answers
    # come back through the organizer's scheduling server): go on without them if the rule
    # still holds (else move), move, or keep it as it is. Damped as conflicts are.
    on_decline: ConflictPolicy = "drop-attendee"
    # A live service's failed meetings, tried again when something changes (`serve` only).
    retry: RetryPolicy = RetryPolicy()
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
    """When meetings may be placed: `start` and `end`, or `days` from today (in the scenario's
    zone, from midnight; `working_days: true` counts Monday to Friday only), resolved when the
    file is read, so a service's scenario needs no editing as time passes. A relative horizon
    keeps its rule (`days`, `working_days`), so the live service can roll it forward each day;
    `origin` is where the slot grid begins (its `start` unless rolled), so slots counted before
    a roll mean the same times after it."""

    start: Moment
    end: Moment
    days: Annotated[int, Field(gt=0, le=3660)] | None = None
    working_days: bool = False
    origin: Moment | None = None

    def from_origin(self, origin: datetime) -> Horizon:
        """This horizon with its grid beginning at `origin` (a service's first start), and
        beginning there too: what the service's stored meetings were placed in."""
        if self.days is None or origin >= self.start:
            return self
        return self.model_copy(update={"start": origin, "origin": origin})

    def rolled(self, zone: ZoneInfo, today: date) -> Horizon:
        """This horizon as of `today` (itself if fixed, or not yet due to move)."""
        if self.days is None:
            return self
        span = RelativeHorizon(days=self.days, working_days=self.working_days).resolve(zone, today)
        start = max(datetime.fromisoformat(span["start"]), self.start)
        end = max(datetime.fromisoformat(span["end"]), self.end)
        if (start, end) == (self.start, self.end):
            return self
        return self.model_copy(update={"start": start, "end": end, "origin": self.origin or self.start})


class RelativeHorizon(_Strict):
    days: Annotated[int, Field(gt=0, le=3660)]
    working_days: bool = False

    def resolve(self, zone: ZoneInfo, today: date) -> dict[str, Any]:
        first = datetime.combine(today, clock(0), zone)
        end, counted = today, 0
        while counted < self.days:
            if not self.working_days or end.weekday() < 5:
                counted += 1
            end += timedelta(days=1)
        return {"start": first.isoformat(), "end": datetime.combine(end, clock(0), zone).isoformat(),
                "days": self.days, "working_days": self.working_days}


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
    organizer: Organizer | None = None
    # Event UIDs are `<meeting id>@<uid_domain>`: a domain the service's owner controls keeps
    # them unique among every other calendar's events.
    uid_domain: Domain | None = None
    privacy: Privacy = "full"  # the default for meetings without their own

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def event_domain(self) -> str:
        """`uid_domain`, or one derived from the scenario's name under `.invalid` (RFC 2606),
        so two scenarios' meetings of one id are still two events."""
        if self.uid_domain:
            return self.uid_domain.lower()
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:40].strip("-") or "scenario"
        digest = hashlib.sha256(self.name.encode()).hexdigest()[:8]
        return f"{slug}-{digest}.slotwise.invalid"

    @property
    def horizon_interval(self) -> Interval:
        return Interval(self.horizon.start, self.horizon.end)

    @property
    def grid(self) -> SlotGrid:
        return SlotGrid(self.horizon.origin or self.horizon.start, self.slot_minutes)

    @property
    def people(self) -> list[AgentId]:
        return [AgentId(p) for p in self.participants]

    def availability(self, name: str) -> Availability:
        return self.participants.get(name) or Availability()

    @field_validator("horizon", mode="before")
    @classmethod
    def _relative_horizon(cls, value: Any, info: ValidationInfo) -> Any:
        """`horizon: {days: 14}` becomes today's dates here, before anything reads them."""
        if not isinstance(value, dict) or "days" not in value:
            return value
        extra = sorted(set(value) - {"days", "working_days"})
        if extra:
            raise ValueError(f"a relative horizon has days (and working_days), not {extra[0]!r}")
        days, working = value["days"], value.get("working_days", False)
        if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 3660:
            raise ValueError(f"days: a whole number of days from 1 to 3660 (got {days!r})")
        if not isinstance(working, bool):
            raise ValueError(f"working_days: true or false (got {working!r})")
        zone = ZoneInfo(str(info.data.get("timezone", "UTC")))
        return RelativeHorizon(days=days, working_days=working).resolve(zone, datetime.now(zone).date())

    def keys_dir(self, scenario_file: Path) -> Path | None:
        """The security section's keys directory, resolved against the scenario's folder."""
        if self.security.keys is None:
            return None
        return (scenario_file.parent / self.security.keys).resolve()

    def person_zone(self, name: str) -> ZoneInfo:
        own = self.availability(name).timezone
        return ZoneInfo(own) if own else self.zone

