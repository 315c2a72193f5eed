"""CalDAV scheduling (RFC 6638): the organizer's calendar on a scheduling server carries the
invitations (`organizer: {email, caldav: …}`).

Each decided meeting (or series) is put in the organizer's calendar with its attendees; the
server, seeing an ORGANIZER that is its account's address, delivers a REQUEST to each attendee's
schedule inbox and their calendar (implicit scheduling, RFC 6638 3.2). A move is the same event
with SEQUENCE + 1; a cancellation deletes it, and the server sends the CANCEL. Attendees answer
in their own client; the server writes each answer (PARTSTAT) into the organizer's copy, which
this reads every `poll_s` and hands to the service as `Answer`s.

Attendees with a real address are asked (PARTSTAT=NEEDS-ACTION, RSVP=TRUE) — their answer
already given is kept while the meeting's time stands; those without one (the reserved
`.invalid` form) are not the server's to schedule (SCHEDULE-AGENT=NONE, RFC 6638 7.1) and stand as
their agents answered (ACCEPTED).

All server work runs on one thread, in order, so a slow server never holds up the service's
loop; a write that fails is logged and tried again at the next read (every `poll_s`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slotwise.shared.caldav_session import connect, explain
from slotwise.shared.events import MEETING_PROPERTY, calendar, meeting_of

if TYPE_CHECKING:
    import icalendar
    from loguru import Logger

    from slotwise.shared.scenario import CalDavSpec

MAX_ANSWER_BYTES = 64 << 20  # one answer from the organizer's calendar, decoded
MAX_PENDING = 10_000  # changes waiting for the server; beyond, the newest are dropped and logged
ANSWERS = frozenset({"ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION"})


@dataclass(frozen=True, slots=True)
class Answer:
    """An attendee's answer to one meeting (key: its id or its series'), or to one occurrence of
    a series (`recurrence`: the instance's RECURRENCE-ID)."""

    key: str
    recurrence: datetime | None
    address: str  # mailto:…
    partstat: str


@dataclass(frozen=True)
class _Change:
    key: str
    method: str  # REQUEST or CANCEL
    events: tuple[icalendar.cal.Component, ...]


def _listed(found: Any) -> list[Any]:
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def _when(component: Any) -> tuple[Any, Any]:
    return component.decoded("DTSTART"), component.decoded("DTEND")


def _schedule(components: Any) -> set[tuple[Any, ...]]:
    """What attendees are told, of each component: when, who, which instances; not the
    bookkeeping a server adds (SCHEDULE-STATUS, a raised SEQUENCE, answers)."""
    out = set()
    for c in components:
        exdates = tuple(sorted(d.dt for e in _listed(c.get("EXDATE")) for d in e.dts))
        out.add((c.get("RECURRENCE-ID").dt if "RECURRENCE-ID" in c else None, *_when(c),
                 tuple(sorted(str(a).lower() for a in _listed(c.get("ATTENDEE")))),
                 str(c.get("RRULE").to_ical() if "RRULE" in c else b""), exdates, str(c.get("SUMMARY", ""))))
    return out


class OrganizerCalendar:
    def __init__(self, spec: CalDavSpec, log: Logger) -> None:
        self.spec, self.log = spec, log
        self.written = 0
        self.failed = 0
        self._client: Any = None
        self._calendar: Any = None
        self._changes: queue.Queue[_Change | None] = queue.Queue(MAX_PENDING)
        self._answers: queue.Queue[Answer] = queue.Queue()
        self._known: dict[tuple[str, datetime | None, str], str] = {}  # last answer seen, per attendee
        self._retry: dict[str, _Change] = {}
        self._thread: threading.Thread | None = None

    def open(self) -> OrganizerCalendar:
        """Log in and find the calendar now, so a bad address or password stops the start
        (CalendarError) rather than the first invitation."""
        try:
            self._client = connect(self.spec, MAX_ANSWER_BYTES)
            calendars = self._client.principal().calendars()
        except Exception as exc:
            raise explain(self.spec, exc) from None
        wanted = self.spec.write_to or (self.spec.calendars[0] if self.spec.calendars else None)
        chosen = [c for c in calendars if wanted is None or str(c.url).rstrip("/").rsplit("/", 1)[-1] == wanted]
        if not chosen:
            from slotwise.shared.errors import CalendarError

            raise CalendarError(f"{self.spec.url}: the organizer has no calendar {wanted!r}")
        self._calendar = chosen[0]
        self._thread = threading.Thread(target=self._work, name="organizer-calendar", daemon=True)
        self._thread.start()
        return self

    # --- from the service's loop ---------------------------------------------------------------

    def changed(self, key: str, method: str, events: Sequence[icalendar.cal.Component]) -> None:
        """The meeting's invitation as the iTIP file has it now (REQUEST), or its end (CANCEL)."""
        import copy

        try:
            self._changes.put_nowait(_Change(key, method, tuple(copy.deepcopy(list(events)))))
        except queue.Full:
            self.failed += 1
            self.log.warning("the organizer's calendar is {} changes behind; {} not written now", MAX_PENDING, key)

    def answers(self) -> list[Answer]:
        """Answers that changed since the last call (every answer once after a start)."""
        out = []
        while True:
            try:
                out.append(self._answers.get_nowait())
            except queue.Empty:
                return out

    def close(self, wait_s: float = 10.0) -> None:
        if self._thread is not None:
            self._changes.put(None)
            self._thread.join(wait_s)

    # --- on the worker thread ------------------------------------------------------------------

    def _work(self) -> None:
        """Changes as they come, in order; between them, every `poll_s`: failed writes again,
        then the answers."""
        next_read = 0.0
        while True:
            try:
                change = self._changes.get(timeout=max(0.0, next_read - time.monotonic()))
            except queue.Empty:
                for pending in list(self._retry.values()):
                    self._apply(pending)
                self._read_answers()
                next_read = time.monotonic() + self.spec.poll_s
                continue
            try:
                if change is None:
                    return
                self._apply(change)
            finally:
                self._changes.task_done()

    def _apply(self, change: _Change) -> None:
        try:
            self._write(change)
        except Exception as exc:  # the server's or the network's fault: logged, tried again
            self.failed += 1
            self._retry[change.key] = change
            self.log.warning("could not put {} in the organizer's calendar: {}", change.key, str(explain(self.spec, exc)))
            return
        self._retry.pop(change.key, None)
        self.written += 1

    def _existing(self, uid: str) -> Any | None:
        try:
            return self._calendar.event_by_uid(uid)
        except Exception as exc:
            if "NotFound" in type(exc).__name__:
                return None
            raise

    def _write(self, change: _Change) -> None:
        import icalendar

        uid = str(change.events[0]["UID"])
        existing = self._existing(uid)
        if change.method == "CANCEL":
            if existing is not None:
                existing.delete()  # the server tells every attendee (a CANCEL in their inbox)
            return
        old = {}
        if existing is not None:
            for c in icalendar.Calendar.from_ical(existing.data).walk("VEVENT"):
                old[c.get("RECURRENCE-ID").dt if "RECURRENCE-ID" in c else None] = c
            if _schedule(old.values()) == _schedule(change.events):
                return  # the server has it so already (a restart tells every meeting again)
        events = [self._asked(ev, old) for ev in change.events]
        # The server may have raised SEQUENCE itself (as it delivered): an update must be newer still.
        floor = max((int(c.get("SEQUENCE", 0)) + 1 for c in old.values()), default=0)
        for ev in events:
            sequence = max(int(ev.get("SEQUENCE", 0)), floor)
            ev.pop("SEQUENCE", None)
            ev.add("SEQUENCE", sequence)
        data = calendar(events).to_ical().decode()
        if existing is None:
            self._calendar.save_event(data, no_overwrite=True, increase_seqno=False)
        else:
            existing.data = data
            existing.save(increase_seqno=False)

    @staticmethod
    def _asked(event: icalendar.cal.Component, old: dict[Any, Any]) -> icalendar.cal.Component:
        """Attendees with an address asked for an answer, keeping one given for this very time."""
        import copy

        import icalendar

        ev = copy.deepcopy(event)
        before = old.get(ev.get("RECURRENCE-ID").dt if "RECURRENCE-ID" in ev else None)
        answered = {}
        if before is not None and _when(before) == _when(ev):
            answered = {str(a).lower(): str(a.params.get("PARTSTAT", "NEEDS-ACTION")) for a in _listed(before.get("ATTENDEE"))}
        for a in _listed(ev.get("ATTENDEE")):
            address = str(a).lower()
            if address.endswith(".invalid"):
                a.params["SCHEDULE-AGENT"] = icalendar.vText("NONE")
                a.params["PARTSTAT"], a.params["RSVP"] = "ACCEPTED", "FALSE"
            else:
                a.params["PARTSTAT"], a.params["RSVP"] = answered.get(address, "NEEDS-ACTION"), "TRUE"
        return ev

    def _read_answers(self) -> None:
        import icalendar

        try:
            objects = self._calendar.events()
        except Exception as exc:
            self.log.warning("could not read answers from the organizer's calendar: {}", str(explain(self.spec, exc)))
            return
        for obj in objects:
            try:
                components = icalendar.Calendar.from_ical(obj.data).walk("VEVENT")
            except ValueError:
                continue
            for c in components:
                key = meeting_of(c) if MEETING_PROPERTY in c else None
                if key is None:
                    continue  # not ours: the organizer's own events
                recurrence = c.get("RECURRENCE-ID").dt if "RECURRENCE-ID" in c else None
                for a in _listed(c.get("ATTENDEE")):
                    partstat = str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
                    address = str(a).lower()
                    if partstat not in ANSWERS or address.endswith(".invalid"):
                        continue
                    if self._known.get((key, recurrence, address)) != partstat:
                        self._known[(key, recurrence, address)] = partstat
                        self._answers.put(Answer(key, recurrence, address, partstat))
