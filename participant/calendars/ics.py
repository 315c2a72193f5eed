"""Busy time from iCalendar files (.ics), as calendar programs export them.

What counts as busy, following RFC 5545:
- a VEVENT occurrence (RRULE, RDATE, EXDATE and RECURRENCE-ID overrides expanded by
  recurring-ical-events), unless STATUS:CANCELLED or TRANSP:TRANSPARENT ("show as free");
- an all-day event (DATE values) blocks its whole local days;
- a VFREEBUSY period of any FBTYPE except FREE (BUSY, BUSY-UNAVAILABLE, BUSY-TENTATIVE).
Floating times (no zone) are read in the calendar's X-WR-TIMEZONE, else in the person's zone.
An event with a start but no end or duration takes no time, so it blocks nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from time import thread_time as time_now  # CPU time: a busy machine must not change the answer
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loguru import logger

from slotwise.shared.errors import IcsError
from slotwise.shared.slots import Interval

if TYPE_CHECKING:
    import icalendar  # 77 ms: only agents that read an .ics file pay for it

# icalendar and recurring-ical-events are imported where used: every agent process imports
# this module, few have a calendar file, and the import costs ~30 ms per process at start-up.


def _moment(value: date | datetime, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.combine(value, time(0), tzinfo=zone)


def _calendar_zone(cal: icalendar.Calendar, fallback: tzinfo) -> tzinfo:
    name = cal.get("X-WR-TIMEZONE")
    if name:
        try:
            return ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


MAX_ICS_BYTES = 32 << 20  # a decade of a busy person's calendar is a few MiB
MAX_EVENTS = 100_000  # events in one calendar; a decade of a busy person's calendar is a few thousand
MAX_OCCURRENCES = 20_000  # per expansion of one window (a person's year of weekly meetings: ~2,000)
EXPAND_BUDGET_S = 2.0  # CPU seconds of the expanding thread per expansion, however the occurrences come
EXPAND_SLICE = timedelta(days=31)  # expanded a slice at a time, the bounds checked after each
SLICE_OCCURRENCES = 5_000  # about how many occurrences one slice may hold
TOO_OFTEN = frozenset({"SECONDLY", "MINUTELY"})


def _printable(text: str, limit: int = 160) -> str:
    """A parser's complaint may quote the file: never put its raw bytes on a terminal."""
    clean = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:limit])
    return clean + ("..." if len(text) > limit else "")


def read_calendar(path: Path) -> icalendar.Calendar:
    """Parsed once per file version: an agent expands the same calendar for every request."""
    try:
        info = path.stat()
    except OSError as exc:
        raise IcsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if info.st_size > MAX_ICS_BYTES:
        raise IcsError(f"{path}: {info.st_size:,} bytes; calendars of at most {MAX_ICS_BYTES:,} are read")
    return _parse(path, info.st_mtime_ns)


@lru_cache(maxsize=32)
def _parse(path: Path, stamp: int) -> icalendar.Calendar:
    import icalendar  # 77 ms: only agents that read an .ics file pay for it

    try:
        cal = icalendar.Calendar.from_ical(path.read_bytes())
    except OSError as exc:
        raise IcsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # icalendar raises ValueError and others on malformed input
        raise IcsError(f"{path}: not an iCalendar file: {_printable(str(exc))}") from None
    events = sum(1 for _ in cal.walk("VEVENT"))
    if events > MAX_EVENTS:
        raise IcsError(f"{path}: {events:,} events; calendars of at most {MAX_EVENTS:,} are read")
    return tame(cal, str(path))


def _frequencies(ev: Any) -> list[str]:
    """The FREQ of each of the event's RRULEs that can be read (a broken one: the expansion
    skips its series)."""
    rules = ev.get("RRULE")
    found = []
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        try:
            found.append(str((rule.get("FREQ") or [""])[0]).upper())
        except Exception:
            continue
    return found


def tame(cal: icalendar.Calendar, where: str) -> icalendar.Calendar:
    """Anyone who can put an invitation in a calendar can plant an event that repeats every
    second: a series repeating more often than hourly (the scenario's own limit) counts as its
    first instance only, said once. Done where a calendar is parsed, before any expansion; the
    slice its expansions take is worked out here too, once, not at every question."""
    clipped = []
    per_day = 0.0
    for ev in cal.walk("VEVENT"):
        freqs = _frequencies(ev)
        if any(f in TOO_OFTEN for f in freqs):
            clipped.append(str(ev.get("UID", "?"))[:80])
            del ev["RRULE"]
            continue
        per_day += sum(PER_DAY.get(f, 0.0) for f in freqs)
    if clipped:
        logger.warning("{}: {} series repeat more often than hourly; each counts as its first instance only ({})",
                       where, len(clipped), ", ".join(clipped[:3]))
    setattr(cal, "_slotwise_slice", _slice_for(per_day))  # noqa: B010 - not an attribute icalendar declares
    return cal


def _events(cal: icalendar.Calendar, window: Interval, zone: tzinfo) -> list[Interval]:
    """Busy intervals from the calendar's events in `window`. A calendar comes from anyone who
    can send an invitation: an event that cannot be read is left out (said once), and if the
    expansion itself fails, or passes its bounds, the window from there on counts as busy."""
    import recurring_ical_events  # as above

    busy: list[Interval] = []
    deadline = time_now() + EXPAND_BUDGET_S
    skipped = count = 0
    try:
        query = recurring_ical_events.of(cal, skip_bad_series=True)
    except Exception as exc:  # the library's own failure on what the calendar holds
        logger.warning("calendar expansion failed ({}: {}): all of the window counts as busy",
                       type(exc).__name__, _printable(str(exc)))
        return [window]
    start, step = window.start, _slice(cal)
    while start < window.end:  # a slice at a time, so the bounds are checked as it goes
        end = min(window.end, start + step)
        try:
            found = query.between(start, end)
        except Exception as exc:
            logger.warning("calendar expansion failed ({}: {}): busy from {} on", type(exc).__name__,
                           _printable(str(exc)), start.isoformat())
            busy.append(Interval(start, window.end))
            break
        for ev in found:
            try:
                interval = _occurrence(ev, zone)
            except Exception:  # a broken property (DTEND "OPAQUE"): this event is left out
                skipped += 1
                continue
            if interval is not None:
                busy.append(interval)
        count += len(found)
        if end < window.end and (count > MAX_OCCURRENCES or time_now() > deadline):
            # Bounded whatever the calendar holds: from here on the window counts as busy.
            logger.warning("calendar expansion stopped after {:,} occurrences: busy from {} on", count, end.isoformat())
            busy.append(Interval(end, window.end))
            break
        start = end
    if skipped:
        logger.warning("{} calendar events could not be read and were left out", skipped)
    return busy


PER_DAY = {"HOURLY": 24.0, "DAILY": 1.0, "WEEKLY": 1 / 7}  # occurrences a series adds per day, about


def _slice(cal: icalendar.Calendar) -> timedelta:
    """How much of a window to expand at once (worked out by `tame`, or now for a calendar that
    did not pass through it)."""
    known = getattr(cal, "_slotwise_slice", None)
    if isinstance(known, timedelta):
        return known
    return _slice_for(sum(PER_DAY.get(f, 0.0) for ev in cal.walk("VEVENT") for f in _frequencies(ev)))


def _slice_for(per_day: float) -> timedelta:
    """A month, or less when the calendar's series would put more than SLICE_OCCURRENCES in one
    (a thousand hourly series: a few hours), so no single slice can outlast the budget by much."""
    if per_day <= 0:
        return EXPAND_SLICE
    return max(timedelta(hours=1), min(EXPAND_SLICE, timedelta(days=SLICE_OCCURRENCES / per_day)))


def _occurrence(ev: Any, zone: tzinfo) -> Interval | None:
    """The busy interval an occurrence makes, if any."""
    if str(ev.get("STATUS", "")).upper() == "CANCELLED" or str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    raw_start = ev.decoded("DTSTART")
    start = _moment(raw_start, zone)
    if "DTEND" in ev:
        end = _moment(ev.decoded("DTEND"), zone)
    elif "DURATION" in ev:
        end = start + ev.decoded("DURATION")
    else:  # RFC 5545: a date lasts the day; a date-time without an end takes no time
        end = start + timedelta(days=1) if not isinstance(raw_start, datetime) else start
    return Interval(start, end) if end > start else None


def _periods(prop: Any) -> list[Any]:
    return prop if isinstance(prop, list) else [prop]


def _free_busy(cal: icalendar.Calendar, window: Interval, zone: tzinfo) -> list[Interval]:
    busy = []
    for component in cal.walk("VFREEBUSY"):
        for prop in _periods(component.get("FREEBUSY", [])):
            if str(prop.params.get("FBTYPE", "BUSY")).upper() == "FREE":
                continue
            for period in _periods(prop.dt if hasattr(prop, "dt") else prop):
                values = period.dt if hasattr(period, "dt") else period
                start, end_or_length = values
                start = _moment(start, zone)
                end = start + end_or_length if isinstance(end_or_length, timedelta) else _moment(end_or_length, zone)
                iv = Interval(start, end) if end > start else None
                if iv is not None and iv.overlaps(window):
                    busy.append(iv)
    return busy


def busy_from_ics(path: Path, window: Interval, zone: tzinfo) -> list[Interval]:
    """Busy intervals from one .ics file that overlap `window`."""
    return calendar_busy(read_calendar(path), window, zone)


def calendar_busy(cal: icalendar.Calendar, window: Interval, zone: tzinfo) -> list[Interval]:
    """Busy intervals from a parsed calendar (a file's, or a CalDAV server's events)."""
    local = _calendar_zone(cal, zone)
    return _events(cal, window, local) + _free_busy(cal, window, local)
