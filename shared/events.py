"""The VEVENT slotwise writes for a meeting: one shape for agents' CalDAV writes and iTIP files.

A stable UID per meeting (occurrence), `<meeting id>@slotwise`, so every copy of a meeting, in
any calendar or file, is recognisably the same event, and the CalDAV reader can tell events
slotwise wrote from its owner's own. People appear by their `email` with their `display_name`
as CN; one without an email as `mailto:NAME@slotwise.invalid` (RFC 2606 reserves `.invalid`, so
it is plainly not mail). Times carry the scenario's zone as TZID, with its VTIMEZONE in the
calendar (RFC 5545 3.2.19), so a client shows "10:00 Europe/Berlin" across a DST change as the
scenario meant it; each reminder offset is a VALARM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import icalendar  # 77 ms: only the writers of events (agents that write, --ics-out) pay for it

    from slotwise.shared.scenario import Scenario
    from slotwise.shared.wire.messages import MeetingScheduled

# The UIDs of events slotwise writes end so: an agent reading its owner's calendar skips them.
WRITTEN_UID_SUFFIX = "@slotwise"
ORGANIZER = "mailto:coordinator@slotwise.invalid"  # without an `organizer:` in the scenario


@dataclass(frozen=True, slots=True)
class Person:
    email: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class Directory:
    """What invitations say of people: the zone their times are written in, each participant's
    address and name, and the organizer. An agent knows its own entry only; the coordinator
    knows the scenario's."""

    zone: ZoneInfo | None = None  # None: times in UTC
    people: Mapping[str, Person] = field(default_factory=dict)
    organizer: Person | None = None

    @classmethod
    def of(cls, scenario: Scenario) -> Directory:
        people = {name: Person(a.email, a.display_name) for name, a in scenario.participants.items()
                  if a is not None and (a.email or a.display_name)}
        org = scenario.organizer
        return cls(scenario.zone, people, Person(org.email, org.name) if org is not None else None)

    def address(self, name: str) -> str:
        email = self.people.get(name, Person()).email
        return f"mailto:{email}" if email else address(name)

    def shown(self, name: str) -> str:
        return self.people.get(name, Person()).display_name or name


def address(name: str) -> str:
    """A participant's calendar address without an email: `.invalid` (RFC 2606) says plainly it is not mail."""
    return f"mailto:{name}@slotwise.invalid"


def uid_for(meeting_id: str) -> str:
    return f"{meeting_id}{WRITTEN_UID_SUFFIX}"


def vevent(meeting: MeetingScheduled, owner: str, sequence: int, now: datetime,
           *, cancelled: bool = False, directory: Directory | None = None) -> icalendar.Event:
    import icalendar  # 77 ms: only the writers of events (agents that write, --ics-out) pay for it

    known = directory or Directory()
    zone = known.zone or UTC
    ev = icalendar.Event()
    ev.add("UID", uid_for(meeting.meeting_id))
    ev.add("SUMMARY", meeting.name)
    ev.add("DTSTART", meeting.start.astimezone(zone))
    ev.add("DTEND", meeting.end.astimezone(zone))
    ev.add("DTSTAMP", now.astimezone(UTC))
    ev.add("SEQUENCE", sequence)
    ev.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    if known.organizer is not None and known.organizer.email:
        organizer = icalendar.vCalAddress(f"mailto:{known.organizer.email}")
        organizer.params["CN"] = icalendar.vText(known.organizer.display_name or known.organizer.email)
    else:
        organizer = icalendar.vCalAddress(ORGANIZER)
        organizer.params["CN"] = icalendar.vText("slotwise")
    ev.add("ORGANIZER", organizer)
    for who in meeting.attendees:
        attendee = icalendar.vCalAddress(known.address(who))
        attendee.params["CN"] = icalendar.vText(known.shown(who))
        attendee.params["PARTSTAT"] = icalendar.vText("ACCEPTED")
        attendee.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
        ev.add("ATTENDEE", attendee)
    if not cancelled:
        for alarm in alarms(meeting.name, meeting.remind):
            ev.add_component(alarm)
    ev.add("X-SLOTWISE-OWNER", owner)
    return ev


def alarms(title: str, offsets_s: Sequence[int]) -> list[icalendar.Alarm]:
    """One VALARM per reminder offset, before the start (RFC 5545 3.6.6: a DISPLAY alarm)."""
    import icalendar

    made = []
    for offset in offsets_s:
        alarm = icalendar.Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", title)
        alarm.add("TRIGGER", -timedelta(seconds=offset))
        made.append(alarm)
    return made


def calendar(events: Sequence[icalendar.cal.Component], method: str | None = None) -> icalendar.Calendar:
    """A VCALENDAR of `events`, with a VTIMEZONE for every TZID they use."""
    import icalendar  # 77 ms: only the writers of events (agents that write, --ics-out) pay for it

    cal = icalendar.Calendar()
    cal.add("PRODID", "-//slotwise//slotwise//EN")
    cal.add("VERSION", "2.0")
    if method is not None:
        cal.add("METHOD", method)
    for event in events:
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal


def wrap(event: icalendar.cal.Component) -> bytes:
    return bytes(calendar([event]).to_ical())
