"""Noticing that the owner's calendar changed: CalDAV calendars read again every `poll_s`,
.ics files by their modification time. The agent asks `due()` for the next check's time (its
poll loop waits for it, with everything else) and calls `check()` then; a change makes the
responder look for accepted meetings that no longer fit."""

from __future__ import annotations

import time
from pathlib import Path

from slotwise.participant.calendars.caldav import CalDavReader, reader_for
from slotwise.participant.calendars.feeds import FEED_POLL_S, FeedReader, feed_for
from slotwise.shared.scenario import Availability

ICS_POLL_S = 5.0  # a stat per file: cheap enough to notice an edit within seconds
READ_CHECK_S = 1.0  # while a background read runs, look for its outcome this often


class CalendarWatch:
    def __init__(self, availability: Availability) -> None:
        self.availability = availability
        self.poll_s = availability.caldav.poll_s if availability.caldav is not None else ICS_POLL_S
        if availability.ics_url and availability.caldav is None:
            self.poll_s = FEED_POLL_S
        self._files = [Path(p) for p in availability.ics]
        self._stamps = self._file_stamps()
        self._next = time.monotonic() + self.poll_s

    @classmethod
    def of(cls, availability: Availability) -> CalendarWatch | None:
        watched = availability.caldav is not None or availability.ics or availability.ics_url
        return cls(availability) if watched else None

    def _file_stamps(self) -> tuple[int, ...]:
        stamps = []
        for path in self._files:
            try:
                stamps.append(path.stat().st_mtime_ns)
            except OSError:
                stamps.append(-1)
        return tuple(stamps)

    def due(self) -> float:
        return self._next

    def check(self) -> bool:
        """True if a calendar changed since the last check."""
        self._next = time.monotonic() + self.poll_s
        stamps = self._file_stamps()
        changed = stamps != self._stamps
        self._stamps = stamps
        readers: list[CalDavReader | FeedReader] = []
        if self.availability.caldav is not None:
            readers.append(reader_for(self.availability.caldav))
        readers += [feed_for(url) for url in self.availability.ics_url]  # conditional GETs: a 304 if unchanged
        for reader in readers:  # reads run in the background: collect what finished, start what is due
            changed = reader.changed() or changed
        if any(r.reads.running for r in readers):
            self._next = min(self._next, time.monotonic() + READ_CHECK_S)  # collect it soon
        return changed
