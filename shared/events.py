"""The VEVENT slotwise writes for a meeting: one shape for agents' CalDAV writes and iTIP files.

A stable UID per meeting (occurrence), `<meeting id>@slotwise`, so every copy of a meeting, in
any calendar or file, is recognisably the same event, and the CalDAV reader can tell events
slotwise wrote from its owner's own. Participants have names, not mail addresses: they appear
as `mailto:NAME@slotwise.invalid` (RFC 2606 reserves `.invalid`, so it is plainly not mail).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import icalendar  # 77 ms: only the writers of events (agents that write, --ics-out) pay for it

    from slotwise.shared.wire.messages import MeetingScheduled

# The UIDs of events slotwise writes end so: an agent reading its owner's calendar skips them.
WRITTEN_UID_SUFFIX = "@slotwise"
ORGANIZER = "mailto:coordinator@slotwise.invalid"  # participants have names, not addresses


def address(name: str) -> str:
    """A participant's calendar address: `.invalid` (RFC 2606) says plainly it is not mail."""
    return f"mailto:{name}@slotwise.invalid"


def uid_for(meeting_id: str) -> str:
    return f"{meeting_id}{WRITTEN_UID_SUFFIX}"


def vevent(meeting: MeetingScheduled, owner: str, sequence: int, now: datetime,
           *, cancelled: bool = False) -> icalendar.Event:
    import icalendar  # 77 ms: only the writers of events (agents that write, --ics-out) pay for it

    ev = icalendar.Event()
    ev.add("UID", uid_for(meeting.meeting_id))
    ev.add("SUMMARY", meeting.name)
    ev.add("DTSTART", meeting.start.astimezone(UTC))
    ev.add("DTEND", meeting.end.astimezone(UTC))
    ev.add("DTSTAMP", now.astimezone(UTC))
    ev.add("SEQUENCE", sequence)
    ev.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    organizer = icalendar.vCalAddress(ORGANIZER)
    organizer.params["CN"] = icalendar.vText("slotwise")
    ev.add("ORGANIZER", organizer)
    for who in meeting.attendees:
        attendee = icalendar.vCalAddress(address(who))
        attendee.params["CN"] = icalendar.vText(who)
        attendee.params["PARTSTAT"] = icalendar.vText("ACCEPTED")
        attendee.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
        ev.add("ATTENDEE", attendee)
    ev.add("X-SLOTWISE-OWNER", owner)
    return ev


def wrap(event: icalendar.cal.Component) -> bytes:
    import icalendar  # 77 ms: only the writers of events (agents that write, --ics-out) pay for it

    cal = icalendar.Calendar()
    cal.add("PRODID", "-//slotwise//slotwise//EN")
    cal.add("VERSION", "2.0")
    cal.add_component(event)
    return bytes(cal.to_ical())
