"""Agreed meetings written into the owner's CalDAV calendar (`caldav: {write: true}`).

Each meeting (occurrence) is one VEVENT with the stable UID the coordinator announced
(`<meeting id>@<uid domain>`, as the organizer's invitations have), so a restarted agent or a
decision announced again finds the event it wrote instead of adding a second one: an
unchanged meeting is not written at all, a moved one is updated with SEQUENCE + 1, and a
cancelled one keeps its event with STATUS:CANCELLED and SEQUENCE + 1 (calendar programs show
it struck through, and the history stays). Only events of those UIDs are read for
writing, changed or deleted; one written under the older UID form (`<id>@slotwise`) is replaced
by the new one, as a UID cannot change in place (RFC 4791 5.3.2).

Writes run on one worker thread, in order: a slow calendar server never holds up the agent's
answers to the coordinator. The queue is bounded; a write that fails is logged and tried again
when the meeting is next announced (a rejoin tells the agent every meeting it holds).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slotwise.participant.calendars.caldav import CalDavReader
from slotwise.shared.events import Directory, uid_for, vevent, wrap

if TYPE_CHECKING:
    import icalendar
    from loguru import Logger

    from slotwise.shared.wire.messages import MeetingScheduled

MAX_PENDING = 1000


@dataclass(frozen=True)
class _Write:
    meeting: MeetingScheduled | None  # None: cancelled
    meeting_id: str


def _attendees(event: Any) -> list[str]:
    found = event.get("ATTENDEE") or []
    return sorted(str(a) for a in (found if isinstance(found, list) else [found]))


def _by_uid(target: Any, uid: str) -> Any | None:
    try:
        return target.event_by_uid(uid)
    except Exception as exc:
        if "NotFound" not in type(exc).__name__:
            raise
        return None


def _same(old: Any, new: icalendar.Event) -> bool:
    """The event as written already says what this announcement says."""
    if any(str(old.get(k, "")) != str(new.get(k, "")) for k in ("SUMMARY", "STATUS")):
        return False
    if old.decoded("DTSTART") != new.decoded("DTSTART") or old.decoded("DTEND") != new.decoded("DTEND"):
        return False
    return _attendees(old) == _attendees(new)


class CalendarWriter:
    def __init__(self, reader: CalDavReader, owner: str, log: Logger, directory: Directory | None = None) -> None:
        """`directory`: what the owner's entry says of them (zone, email, name); the agent
        knows no one else's, so other attendees keep the reserved `.invalid` form."""
        self.reader = reader
        self.owner = owner
        self.directory = directory or Directory()
        self.log = log
        self.written = 0
        self.failed = 0
        self._queue: queue.Queue[_Write | None] = queue.Queue(MAX_PENDING)
        self._known: dict[str, MeetingScheduled] = {}  # what we last wrote, for cancelling
        self._thread = threading.Thread(target=self._work, name=f"calendar-writer-{owner}", daemon=True)
        self._thread.start()

    def owner_answers(self) -> dict[str, tuple[str, datetime | None]]:
        """The owner's PARTSTAT in each meeting written here, as their client left it."""
        return self.reader.answers(self.directory.address(self.owner))

    def scheduled(self, meeting: MeetingScheduled) -> None:
        self._put(_Write(meeting, meeting.meeting_id))

    def dropped(self, meeting_id: str) -> None:
        self._put(_Write(None, meeting_id))

    def _put(self, item: _Write) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.failed += 1
            self.log.warning("calendar writes are {} behind; {} not written now", MAX_PENDING, item.meeting_id)

    def close(self, wait_s: float = 10.0) -> None:
        """Finish what is queued (bounded), then stop."""
        self._queue.put(None)
        self._thread.join(wait_s)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._write(item)
            except Exception as exc:  # a server's or a network's fault: logged, tried again later
                self.failed += 1
                self.log.warning("could not write {} to the calendar: {}: {}", item.meeting_id,
                                 type(exc).__name__, str(exc)[:200])

    def _write(self, item: _Write) -> None:
        import icalendar  # on the writer's thread, only for agents that write

        target = self.reader.write_target()
        known = item.meeting or self._known.get(item.meeting_id)
        legacy = uid_for(item.meeting_id)
        uid = (known.uid if known is not None else "") or legacy
        existing = _by_uid(target, uid)
        if existing is None and uid != legacy and (older := _by_uid(target, legacy)) is not None:
            if item.meeting is None:
                uid, existing = legacy, older  # cancelled: mark the event that is there
            else:
                older.delete()  # written before UIDs had a domain: the new UID replaces it
        old = None
        if existing is not None:
            old = next((c for c in icalendar.Calendar.from_ical(existing.data).walk("VEVENT")
                        if str(c.get("UID")) == uid), None)
        meeting = item.meeting or self._known.get(item.meeting_id)
        if meeting is None and old is None:
            return  # cancelled before anything was written
        now = datetime.now(UTC)
        if item.meeting is None:  # cancelled: keep the event, marked so
            if old is None or str(old.get("STATUS", "")).upper() == "CANCELLED":
                return
            new = old  # parsed for this write only: changed in place
            sequence = int(old.get("SEQUENCE", 0)) + 1
            for key, value in (("STATUS", "CANCELLED"), ("SEQUENCE", sequence), ("DTSTAMP", now)):
                new.pop(key, None)
                new.add(key, value)
        else:
            self._known[item.meeting_id] = item.meeting
            sequence = 0 if old is None else int(old.get("SEQUENCE", 0))
            new = vevent(item.meeting, self.owner, sequence, now, directory=self.directory)
            if old is not None:
                if _same(old, new):
                    return  # announced again, unchanged: nothing to write
                new.pop("SEQUENCE")
                new.add("SEQUENCE", sequence + 1)
        # SEQUENCE is ours to set: the library must not bump it again on save.
        if existing is None:
            target.save_event(wrap(new).decode(), no_overwrite=True, increase_seqno=False)  # If-None-Match: *
        else:
            existing.data = wrap(new).decode()
            existing.save(increase_seqno=False, precondition="etag")  # If-Match: the ETag we read
        self.written += 1
