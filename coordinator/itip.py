"""iTIP (RFC 5546) files for what was decided: `--ics-out DIR` on `run`, `coordinator`, `serve`.

- `DIR/<meeting id>.ics`: the meeting's latest iTIP message for its attendees: METHOD:REQUEST
  while it is scheduled, METHOD:CANCEL once it is cancelled (a cancellation is a CANCEL, never
  a REQUEST carrying STATUS:CANCELLED, which some clients import as a live event).
- SEQUENCE starts at 0 and goes up by one with every change (a move, a cancellation); it is read
  back from the file, so a restarted service carries on counting. An unchanged meeting written
  again keeps its SEQUENCE and DTSTAMP: re-running the same schedule changes no file.
- `DIR/schedule.ics`: METHOD:PUBLISH, every scheduled meeting, for a calendar program to
  subscribe to or import.
- A batch run that finds a REQUEST in DIR for a meeting it did not place (gone from the
  scenario, or not placed this time) writes that meeting's CANCEL (`retire`).

The VEVENTs are those the agents write into CalDAV calendars (`participant/calendar_writer.py`):
the same UID, organizer and attendee addresses, so an import and an agent's write agree.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import icalendar

from slotwise.shared.decision import Decision
from slotwise.shared.events import WRITTEN_UID_SUFFIX, Directory, calendar, uid_for, vevent
from slotwise.shared.wire.messages import MeetingScheduled


def _message(method: str, events: Iterable[icalendar.cal.Component]) -> bytes:
    return bytes(calendar(list(events), method).to_ical())


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@")
MAX_PLAIN = 100  # bytes of an id used as its file name as it is; file systems allow 255
RESERVED = frozenset({"schedule"})  # schedule.ics is every meeting's PUBLISH
MAX_OLD_FILE = 1 << 20  # bytes: a meeting's file this writer wrote is a few kilobytes


def _safe_name(meeting_id: str) -> str:
    """A file name for a meeting id: bounded in bytes, and one per id. An id of safe ASCII
    (letters, digits, `-_.@`), not too long and not reserved, is its own name; any other gets a
    readable prefix and a digest of the whole id after `~`, which a plain name cannot contain,
    so `a/b` and `a_b`, or a meeting called `schedule` and schedule.ics, never share a file."""
    if meeting_id and len(meeting_id) <= MAX_PLAIN and set(meeting_id) <= SAFE and meeting_id not in RESERVED \
            and not meeting_id.startswith("."):
        return meeting_id
    prefix = "".join(c if c in SAFE else "_" for c in meeting_id[:40]).lstrip(".")
    return f"{prefix}~{hashlib.sha256(meeting_id.encode()).hexdigest()[:20]}"


class ItipWriter:
    def __init__(self, folder: Path, directory: Directory | None = None) -> None:
        """`directory`: the zone, addresses and organizer the events carry (the scenario's)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.directory = directory or Directory()
        self._scheduled: dict[str, icalendar.Event] = {}

    def path(self, meeting_id: str) -> Path:
        return self.folder / f"{_safe_name(meeting_id)}.ics"

    def _previous(self, meeting_id: str) -> icalendar.cal.Component | None:
        path = self.path(meeting_id)
        if not path.exists():
            return None
        try:
            cal = icalendar.Calendar.from_ical(path.read_bytes())
        except ValueError:
            return None  # not ours to trust: start the count again
        return next((ev for ev in cal.walk("VEVENT") if str(ev.get("UID")) == uid_for(meeting_id)), None)

    def scheduled(self, decision: Decision, title: str, remind: tuple[int, ...] = ()) -> None:
        """A REQUEST for the meeting as decided (or moved), a VALARM per `remind` offset."""
        if not decision.scheduled or decision.start is None or decision.end is None:
            return
        body = MeetingScheduled(meeting_id=decision.id, name=title, start=decision.start, end=decision.end,
                                attendees=decision.participants, remind=remind)
        old = self._previous(decision.id)
        now = datetime.now(UTC)
        sequence = 0
        if old is not None:
            same = (str(old.get("STATUS", "")) != "CANCELLED" and old.decoded("DTSTART") == body.start
                    and old.decoded("DTEND") == body.end and str(old.get("SUMMARY")) == title
                    and _attendees(old) == sorted(body.attendees))
            sequence = int(old.get("SEQUENCE", 0)) + (0 if same else 1)
            if same:
                now = old.decoded("DTSTAMP")
        ev = vevent(body, "organizer", sequence, now, directory=self.directory)
        ev.pop("X-SLOTWISE-OWNER", None)
        for attendee in ev.get("ATTENDEE", []):
            attendee.params["RSVP"] = "FALSE"  # the agents have accepted already
        self._scheduled[decision.id] = ev
        _write(self.path(decision.id), _message("REQUEST", [ev]))

    def cancelled(self, meeting_id: str) -> None:
        """A CANCEL, with SEQUENCE one above the last REQUEST."""
        self._scheduled.pop(meeting_id, None)
        old = self._previous(meeting_id)
        if old is None or str(old.get("STATUS", "")) == "CANCELLED":
            return  # never requested (or cancelled already): nothing to cancel
        old.subcomponents = [c for c in old.subcomponents if c.name != "VALARM"]  # nothing to remind of
        for key, value in (("STATUS", "CANCELLED"), ("SEQUENCE", int(old.get("SEQUENCE", 0)) + 1),
                           ("DTSTAMP", datetime.now(UTC))):
            old.pop(key, None)
            old.add(key, value)
        _write(self.path(meeting_id), _message("CANCEL", [old]))

    def retire(self) -> int:
        """Meetings with a REQUEST in the folder that this writer did not schedule (gone from
        the scenario since the last run, or no longer placed) get their CANCEL, so a client that
        imported the old file takes the meeting away. Returns how many."""
        retired = 0
        current = {self.path(m) for m in self._scheduled}  # written just now: not read again
        for path in sorted(self.folder.glob("*.ics")):
            if path in current or path.name == "schedule.ics" or path.stat().st_size > MAX_OLD_FILE:
                continue  # current, not a meeting's, or not a file this writer would have written
            try:
                events = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
            except ValueError:
                continue
            uid = str(events[0].get("UID", "")) if len(events) == 1 else ""
            meeting_id = uid.removesuffix(WRITTEN_UID_SUFFIX)
            if uid.endswith(WRITTEN_UID_SUFFIX) and meeting_id not in self._scheduled \
                    and self.path(meeting_id) == path and str(events[0].get("STATUS", "")) != "CANCELLED":
                self.cancelled(meeting_id)
                retired += 1
        return retired

    def publish(self) -> None:
        """schedule.ics: every meeting scheduled now, as one PUBLISH."""
        events = [self._scheduled[k] for k in sorted(self._scheduled)]
        _write(self.folder / "schedule.ics", _message("PUBLISH", events))


def _attendees(ev: icalendar.cal.Component) -> list[str]:
    found = ev.get("ATTENDEE") or []
    return sorted(str(a.params.get("CN", "")) for a in (found if isinstance(found, list) else [found]))
