"""iTIP (RFC 5546) files for what was decided: `--ics-out DIR` on `run`, `coordinator`, `serve`.

- `DIR/<meeting id>.ics`: the meeting's latest iTIP message for its attendees: METHOD:REQUEST
  while it is scheduled, METHOD:CANCEL once it is cancelled (a cancellation is a CANCEL, never
  a REQUEST carrying STATUS:CANCELLED, which some clients import as a live event).
- SEQUENCE starts at 0 and goes up by one with every change (a move, a cancellation); it is read
  back from the file, so a restarted service carries on counting. An unchanged meeting written
  again keeps its SEQUENCE and DTSTAMP: re-running the same schedule changes no file.
- `DIR/schedule.ics`: METHOD:PUBLISH, every scheduled meeting, for a calendar program to
  subscribe to or import.
- A recurring meeting is one file, `DIR/<series id>.ics`: one series (RRULE, overrides by
  RECURRENCE-ID for occurrences placed at another time, EXDATE for those not placed; see
  coordinator/series_events.py).
- A batch run that finds a REQUEST in DIR for a meeting it did not place (gone from the
  scenario, or not placed this time) writes that meeting's CANCEL (`retire`).
- What is reported is written on `flush()`, so a series of 500 occurrences decided in one run is
  built once, not 500 times.

The VEVENTs are those the agents write into CalDAV calendars (`participant/calendar_writer.py`):
the same UID, organizer and attendee addresses, so an import and an agent's write agree.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, time, tzinfo
from pathlib import Path
from typing import Protocol

import icalendar

from slotwise.coordinator.imip import Letter, recipients
from slotwise.coordinator.invitation import Invitation
from slotwise.coordinator.series_events import by_day, series_components
from slotwise.shared.decision import Decision
from slotwise.shared.events import Directory, calendar, meeting_of, uid_for, vevent
from slotwise.shared.ids import MeetingId
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


Post = Callable[[list[Letter]], None]


class Scheduling(Protocol):
    """Where each change goes as a scheduling server's event (coordinator/organizer_calendar.py)."""

    def changed(self, key: str, method: str, events: Sequence[icalendar.cal.Component]) -> None: ...


class ItipWriter:
    def __init__(self, folder: Path, directory: Directory | None = None, post: Post | None = None,
                 scheduling: Scheduling | None = None) -> None:
        """`directory`: the zone, addresses, organizer and UID domain the events carry (the
        scenario's); `post`: where each change goes as mail (coordinator/mailer.py), and
        `scheduling`: to the organizer's calendar on a scheduling server, before its file is
        written."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.directory = directory or Directory()
        self.post = post
        self.scheduling = scheduling
        self._known: dict[str, tuple[Invitation, Decision]] = {}  # every meeting reported, by id
        self._series: dict[str, set[str]] = {}  # a series' id: its occurrences reported
        self._dirty: set[str] = set()  # files (by meeting or series id) to write on flush
        self._current: dict[str, list[icalendar.cal.Component]] = {}  # what each scheduled file holds
        self._told: set[str] = set()  # keys given to `scheduling` since this start

    def path(self, key: str) -> Path:
        return self.folder / f"{_safe_name(key)}.ics"

    def _key(self, meeting_id: str, invitation: Invitation) -> str:
        """The file a meeting is in: its series' when the series can be one, else its own."""
        zone = self.directory.zone
        if invitation.series is not None and invitation.instance is not None and invitation.recurrence \
                and zone is not None and by_day(invitation.instances, zone):
            return invitation.series
        return meeting_id

    def scheduled(self, decision: Decision, invitation: Invitation) -> None:
        """A meeting decided (placed, moved or not placed); written on `flush`."""
        key = self._key(decision.id, invitation)
        self._known[decision.id] = (invitation, decision)
        if key != decision.id:
            self._series.setdefault(key, set()).add(decision.id)
        self._dirty.add(key)

    def cancelled(self, meeting_id: str) -> None:
        """Its file becomes a CANCEL (SEQUENCE one above the last REQUEST); an occurrence of a
        series becomes an EXDATE of the series. Written on `flush`."""
        known = self._known.get(meeting_id)
        if known is None:
            self._dirty.add(meeting_id)
            return
        invitation, _ = known
        self._known[meeting_id] = (invitation, Decision.failed(MeetingId(meeting_id), "cancelled"))
        self._dirty.add(self._key(meeting_id, invitation))

    def flush(self) -> None:
        for key in sorted(self._dirty):
            self._write_key(key)
        self._dirty.clear()

    # --- building ------------------------------------------------------------------------------

    def _components(self, key: str, old: list[icalendar.cal.Component]) -> list[icalendar.Event]:
        """What the file should hold now; [] when nothing of it is scheduled."""
        now = datetime.now(UTC)
        if key in self._series:
            placed: dict[datetime, MeetingScheduled] = {}
            first: Invitation | None = None
            for meeting_id in self._series[key]:
                invitation, decision = self._known[meeting_id]
                first = first or invitation
                body = _body(decision, invitation)
                if body is not None and invitation.instance is not None:
                    placed[invitation.instance] = body
            if first is None or first.recurrence is None:
                return []
            events = series_components(key, uid_for(key, self.directory.uid_domain), first.series_title,
                                       first.recurrence, first.instances, placed, self.directory,
                                       self._nominal(old), now)
        else:
            invitation, decision = self._known.get(key, (Invitation(key), Decision.failed(MeetingId(key), "unknown")))
            body = _body(decision, invitation)
            events = [] if body is None else [vevent(body, None, 0, now, directory=self.directory)]
        for ev in events:
            for attendee in _listed(ev.get("ATTENDEE")):
                attendee.params["RSVP"] = "FALSE"  # the agents have accepted already
        return events

    def _nominal(self, old: list[icalendar.cal.Component]) -> time | None:
        """A series keeps the time its master was first written at: its RECURRENCE-IDs stay."""
        master = next((c for c in old if "RECURRENCE-ID" not in c and ("RRULE" in c or "RDATE" in c)), None)
        if master is None:
            return None
        start = master.decoded("DTSTART")
        zone = self.directory.zone or UTC
        return start.astimezone(zone).time() if isinstance(start, datetime) else None

    def _write_key(self, key: str) -> None:
        method, old = self._previous(key)
        events = self._components(key, old)
        last = max((int(c.get("SEQUENCE", 0)) for c in old), default=-1)
        if not events:
            self._current.pop(key, None)
            if method == "REQUEST":
                self._cancel(key, old, last)
            return
        if method == "REQUEST" and _canonical(old) == _canonical(events):
            self._current[key] = old  # unchanged: the file (SEQUENCE, DTSTAMP) stays as it is
            if self.scheduling is not None and key not in self._told:
                self.scheduling.changed(key, method, old)  # once per start: the server may have missed it
            self._told.add(key)
            return
        for ev in events:
            _set(ev, "SEQUENCE", last + 1)
        self._current[key] = list(events)
        data = _message("REQUEST", events)
        self._tell(key, last + 1, "REQUEST", events, data)
        _write(self.path(key), data)

    def _cancel(self, key: str, old: list[icalendar.cal.Component], last: int) -> None:
        """METHOD:CANCEL of the whole event (a series' master): nothing left to remind of."""
        master = next((c for c in old if "RECURRENCE-ID" not in c), old[0])
        master.subcomponents = [c for c in master.subcomponents if c.name != "VALARM"]
        for name, value in (("STATUS", "CANCELLED"), ("SEQUENCE", last + 1), ("DTSTAMP", datetime.now(UTC))):
            _set(master, name, value)
        data = _message("CANCEL", [master])
        self._tell(key, last + 1, "CANCEL", old, data)
        _write(self.path(key), data)

    def occurrences(self, key: str, recurrence: datetime | None) -> list[str]:
        """The meetings an answer to `key` is about: the meeting itself; for a series, every
        occurrence (an answer to the master), or the one whose nominal start is `recurrence`."""
        members = self._series.get(key)
        if members is None:
            return [key] if key in self._known else []
        if recurrence is None:
            return sorted(members)
        master = next((c for c in self._current.get(key, []) if "RECURRENCE-ID" not in c), None)
        zone = self.directory.zone or UTC
        if master is None or not isinstance(start := master.decoded("DTSTART"), datetime):
            return []
        nominal = start.astimezone(zone).time()
        wanted = recurrence.astimezone(UTC) if recurrence.tzinfo else recurrence.replace(tzinfo=UTC)
        return [m for m in sorted(members) if (inst := self._known[m][0].instance) is not None
                and datetime.combine(inst.astimezone(zone).date(), nominal, tzinfo=zone).astimezone(UTC) == wanted]

    def _tell(self, key: str, sequence: int, method: str, events: Sequence[icalendar.cal.Component], data: bytes) -> None:
        """One letter per attendee with an address, of any component (a series' overrides too);
        and the change to the organizer's calendar, whose server tells the attendees."""
        if self.scheduling is not None:
            self.scheduling.changed(key, method, events)
            self._told.add(key)
        if self.post is None:
            return
        organizer = self.directory.organizer.email if self.directory.organizer else None
        people = recipients([str(a) for ev in events for a in _listed(ev.get("ATTENDEE"))], organizer)
        if people:
            first = events[0]
            title, when = str(first.get("SUMMARY", key)), _shown(first, self.directory.zone or UTC)
            self.post([Letter(key, sequence, method, who, title, when, data) for who in people])

    def _previous(self, key: str) -> tuple[str | None, list[icalendar.cal.Component]]:
        """The METHOD and events of the file as last written (None, [] if none we trust)."""
        path = self.path(key)
        if not path.exists() or path.stat().st_size > MAX_OLD_FILE:
            return None, []
        try:
            cal = icalendar.Calendar.from_ical(path.read_bytes())
        except ValueError:
            return None, []  # not ours to trust: start the count again
        events = [ev for ev in cal.walk("VEVENT") if meeting_of(ev) == key]
        return (str(cal.get("METHOD", "")).upper() or None) if events else None, events

    def retire(self) -> int:
        """Meetings with a REQUEST in the folder that this writer was not told of (gone from
        the scenario since the last run) get their CANCEL, so a client that imported the old
        file takes the meeting away. Returns how many."""
        retired = 0
        current = {self.path(k) for k in (*self._current, *self._dirty)}
        reported = set(self._known) | set(self._series)
        for path in sorted(self.folder.glob("*.ics")):
            if path in current or path.name == "schedule.ics" or path.stat().st_size > MAX_OLD_FILE:
                continue  # current, not a meeting's, or not a file this writer would have written
            try:
                events = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
            except ValueError:
                continue
            key = meeting_of(events[0]) if events else None
            if key is None or key in reported or self.path(key) != path:
                continue
            method, old = self._previous(key)
            if method == "REQUEST":
                self._cancel(key, old, max(int(c.get("SEQUENCE", 0)) for c in old))
                retired += 1
        return retired

    def publish(self) -> None:
        """schedule.ics: every meeting scheduled now, as one PUBLISH."""
        events = [ev for k in sorted(self._current) for ev in self._current[k]]
        _write(self.folder / "schedule.ics", _message("PUBLISH", events))


def _shown(event: icalendar.cal.Component, zone: tzinfo) -> str:
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return ""
    start, end = start.astimezone(zone), end.astimezone(zone)
    again = ", repeating" if "RRULE" in event or "RDATE" in event else ""
    return f"{start:%a %d %b %Y %H:%M}-{end:%H:%M} ({zone}){again}"


def _body(decision: Decision, invitation: Invitation) -> MeetingScheduled | None:
    if not decision.scheduled or decision.start is None or decision.end is None:
        return None
    return MeetingScheduled(meeting_id=decision.id, name=invitation.title, start=decision.start, end=decision.end,
                            attendees=decision.participants, remind=invitation.remind, uid=invitation.uid)


def _listed(found: object) -> list[icalendar.vCalAddress]:
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]  # type: ignore[list-item]


def _set(component: icalendar.cal.Component, name: str, value: object) -> None:
    component.pop(name, None)
    component.add(name, value)


def _canonical(events: Iterable[icalendar.cal.Component]) -> list[bytes]:
    """What two writings of a file must agree on: everything but DTSTAMP and SEQUENCE, after a
    round trip through text (a parsed file and a fresh build print alike)."""
    out = []
    for ev in events:
        again = icalendar.Event.from_ical(ev.to_ical())
        for name in ("DTSTAMP", "SEQUENCE"):
            again.pop(name, None)
        out.append(bytes(again.to_ical()))
    return sorted(out)
