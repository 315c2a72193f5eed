"""A person's free time, from everything their availability names: the windows written in the
file, minus busy time from .ics files, a CalDAV server and published feeds.

Only the agent reads calendars (the coordinator never sees one); `run`, `validate` and the agent
check at start that the files can be read, so a broken calendar is an input error with its field
path, not an agent failing mid-negotiation.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slotwise.participant.calendars.caldav import reader_for
from slotwise.participant.calendars.feeds import feed_for
from slotwise.participant.calendars.ics import busy_from_ics, read_calendar
from slotwise.shared.errors import IcsError
from slotwise.shared.scenario import Availability, Scenario
from slotwise.shared.slots import FreeTime, Interval, subtract

if TYPE_CHECKING:
    from loguru import Logger

    from slotwise.participant.calendars.writer import CalendarWriter


def free_time(availability: Availability, within: Interval | None = None) -> FreeTime:
    """Free = inside an available window and outside every busy interval, the calendars' too.
    Calendars need a window to be expanded in."""
    declared = availability.declared_free_time(within)
    if not availability.reads_calendars:
        return declared
    if within is None:
        raise ValueError("free time from calendars needs a window to expand them in")
    zone = ZoneInfo(availability.timezone or "UTC")
    busy: list[Interval] = []
    for path in availability.ics:
        busy += busy_from_ics(Path(path), within, zone)
    if availability.caldav is not None:
        busy += reader_for(availability.caldav).busy(within, zone)
    for url in availability.ics_url:
        busy += feed_for(url).busy(within, zone)
    return FreeTime(subtract(list(declared), busy))


def calendar_file_problems(scenario: Scenario) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Every participant's .ics files that cannot be read, by field path (a scenario check)."""
    for name, person in scenario.participants.items():
        for i, path in enumerate(person.ics if person is not None else ()):
            try:
                read_calendar(Path(path))
            except IcsError as exc:
                yield ("participants", name, "ics", i), str(exc)


def open_calendars(name: str, availability: Availability, log: Logger) -> CalendarWriter | None:
    """Read the files, fetch the feeds and log into CalDAV now, so a bad path, address or
    password is a clear error at start (CalendarError or IcsError); the writer, with `write`."""
    for path in availability.ics:
        read_calendar(Path(path))
    for url in availability.ics_url:
        feed_for(url)
    if availability.caldav is None:
        return None
    reader = reader_for(availability.caldav)
    if not availability.caldav.write:
        return None
    from slotwise.participant.calendars.writer import CalendarWriter  # its thread only for writers

    reader.write_target()  # a write_to that names no calendar is an error now
    from zoneinfo import ZoneInfo

    from slotwise.shared.events import Directory, Person

    zone = ZoneInfo(availability.timezone) if availability.timezone else None
    own = {name: Person(availability.email, availability.display_name)}
    return CalendarWriter(reader, name, log.bind(agent=name), Directory(zone, own))
