"""The VEVENT slotwise writes for a meeting: one shape for agents' CalDAV writes and iTIP files.

A stable, globally unique UID per meeting (occurrence): `<meeting id>@<uid domain>`, the domain
a namespace the service owns (the scenario's `uid_domain`; without one, derived from the
scenario's name under the reserved `.invalid`), so every copy of a meeting, in any calendar or
file, is recognisably the same event, and two teams' `standup` are two events. Every event also
names its meeting in X-SLOTWISE-MEETING, by which the CalDAV reader tells events slotwise wrote
(or a scheduling server delivered) from its owner's own. People appear by their `email` with their `display_name`
as CN; one without an email as `mailto:NAME@slotwise.invalid` (RFC 2606 reserves `.invalid`, so
it is plainly not mail). Times carry the scenario's zone as TZID, with its VTIMEZONE in the
calendar (RFC 5545 3.2.19), so a client shows "10:00 Europe/Berlin" across a DST change as the
scenario meant it; each reminder offset is a VALARM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import icalendar  # 77 ms: only the writers of events (agents that write, --ics-out) pay for it

    from slotwise.shared.scenario import Scenario
    from slotwise.shared.wire.messages import MeetingScheduled

# The UIDs of events slotwise wrote before UIDs had a domain: still recognised, never written.
WRITTEN_UID_SUFFIX = "@slotwise"
MEETING_PROPERTY = "X-SLOTWISE-MEETING"  # the meeting (occurrence or series) an event is
OWNER_PROPERTY = "X-SLOTWISE-OWNER"  # whose agent wrote it (agents' own writes only)
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
    uid_domain: str | None = None  # None: the UIDs meetings were announced with

    @classmethod
    def of(cls, scenario: Scenario) -> Directory:
        people = {name: Person(a.email, a.display_name) for name, a in scenario.participants.items()
                  if a is not None and (a.email or a.display_name)}
        org = scenario.organizer
        return cls(scenario.zone, people, Person(org.email, org.name) if org is not None else None,
                   scenario.event_domain)

    def address(self, name: str) -> str:
        email = self.people.get(name, Person()).email
        return f"mailto:{email}" if email else address(name)

    def shown(self, name: str) -> str:
        return self.people.get(name, Person()).display_name or name


def address(name: str) -> str:
    """A participant's calendar address without an email: `.invalid` (RFC 2606) says plainly it is not mail."""
    return f"mailto:{name}@slotwise.invalid"


def uid_for(meeting_id: str, domain: str | None = None) -> str:
    """`domain` None: the form of events written before UIDs had a domain."""
    return f"{meeting_id}@{domain}" if domain else f"{meeting_id}{WRITTEN_UID_SUFFIX}"


def slotwise_event(component: icalendar.cal.Component) -> bool:
    """An event slotwise wrote or had delivered: not its owner's own busy time."""
    return (MEETING_PROPERTY in component or OWNER_PROPERTY in component
            or str(component.get("UID", "")).endswith(WRITTEN_UID_SUFFIX))


def meeting_of(component: icalendar.cal.Component) -> str | None:
    """The meeting an event slotwise wrote is for (older events: from the UID)."""
    if MEETING_PROPERTY in component:
        return str(component[MEETING_PROPERTY])
    uid = str(component.get("UID", ""))
    return uid.removesuffix(WRITTEN_UID_SUFFIX) if uid.endswith(WRITTEN_UID_SUFFIX) else None


def vevent(meeting: MeetingScheduled, owner: str | None, sequence: int, now: datetime,
           *, cancelled: bool = False, directory: Directory | None = None, uid: str | None = None,
           meeting_id: str | None = None) -> icalendar.Event:
    """`owner`: the agent writing it into its owner's calendar (None: the organizer's copy);
    `uid`/`meeting_id`: a series' (its occurrences are one event), else the meeting's own."""
    import icalendar  # 77 ms: only the writers of events (agents that write, --ics-out) pay for it

    known = directory or Directory()
    zone = known.zone or UTC
    ev = icalendar.Event()
    ev.add("UID", uid or meeting.uid or uid_for(meeting.meeting_id, known.uid_domain))
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
    ev.add(MEETING_PROPERTY, meeting_id or meeting.meeting_id)
    if owner is not None:
        ev.add(OWNER_PROPERTY, owner)
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
    # Transitions from the year of the first event to a year past the last (a series is bounded
    # by the horizon): a client needs no more, and a file carries no 68 years of RDATEs.
    starts = [e.decoded("DTSTART") for e in events if "DTSTART" in e]
    years = [d.year for d in starts if isinstance(d, datetime)] or [datetime.now(UTC).year]
    cal.add_missing_timezones(date(min(years), 1, 1), date(max(years) + 2, 1, 1))
    return cal


def wrap(event: icalendar.cal.Component) -> bytes:
    return bytes(calendar([event]).to_ical())
