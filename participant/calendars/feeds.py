"""Busy time from a published .ics feed (`ics_url:`), fetched over HTTP(S) by the agent.

A feed is fetched whole, at most every FEED_POLL_S, with a conditional GET (If-None-Match with
the ETag, If-Modified-Since with Last-Modified), so an unchanged feed costs a 304; from a server
that ignores them, the same bytes again are recognised by their digest and not parsed again.
A feed is bounded before it is parsed (MAX_ICS_BYTES) and expanded as a .ics file is.
Credentials in the address (`https://user:pass@host/...`) are sent as HTTP basic
authentication and never appear in an error or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from loguru import logger

from slotwise.participant.calendars.background import BackgroundRead, bounded
from slotwise.participant.calendars.ics import MAX_EVENTS, MAX_ICS_BYTES, calendar_busy, tame
from slotwise.shared.errors import CalendarError
from slotwise.shared.slots import Interval

if TYPE_CHECKING:
    import icalendar

FEED_POLL_S = 60.0
TIMEOUT_S = 10.0


def _public(url: str) -> str:
    """The address without credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


@dataclass
class FeedReader:
    url: str
    clock: Callable[[], float] = time.monotonic
    poll_s: float = FEED_POLL_S
    _etag: str | None = None
    _modified: str | None = None
    _calendar: icalendar.Calendar | None = None
    _fetched_at: float | None = None
    _digest: bytes | None = None  # of the feed as last parsed: a server ignoring ETags costs no parse
    _reads: BackgroundRead | None = None
    _failed: bool = False  # the last read failed (or is overdue): all of it counts as busy
    _changed: bool = False  # a read since the last `changed()` found the feed changed

    def fetch(self) -> bool:
        """GET the feed (conditionally once it has been read); True if it changed."""
        import icalendar  # 77 ms: only agents that read a feed pay for it

        parts = urlsplit(self.url)
        request = urllib.request.Request(_public(self.url), headers={"Accept": "text/calendar"})
        if parts.username is not None:
            token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
            # Never forwarded: a redirect may lead to another origin (urllib copies other headers).
            request.add_unredirected_header("Authorization", f"Basic {token}")
        if self._calendar is not None:
            if self._etag:
                request.add_header("If-None-Match", self._etag)
            if self._modified:
                request.add_header("If-Modified-Since", self._modified)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                data = response.read(MAX_ICS_BYTES + 1)
                if len(data) > MAX_ICS_BYTES:
                    raise CalendarError(f"{_public(self.url)}: more than {MAX_ICS_BYTES:,} bytes; not read")
                etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        except urllib.error.HTTPError as exc:
            self._fetched_at = self.clock()
            if exc.code == 304:
                return False
            who = " (wrong user name or password?)" if exc.code in (401, 403) else ""
            raise CalendarError(f"{_public(self.url)}: the server answered {exc.code}{who}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CalendarError(f"{_public(self.url)}: cannot reach the server ({reason})") from None
        digest = hashlib.sha256(data).digest()
        self._etag, self._modified, self._fetched_at = etag, modified, self.clock()
        if digest == self._digest:
            return False
        try:
            calendar = icalendar.Calendar.from_ical(data)
        except Exception as exc:  # icalendar raises several kinds on malformed input
            raise CalendarError(f"{_public(self.url)}: not an iCalendar feed ({type(exc).__name__})") from None
        events = sum(1 for _ in calendar.walk("VEVENT"))
        if events > MAX_EVENTS:
            raise CalendarError(f"{_public(self.url)}: {events:,} events; at most {MAX_EVENTS:,} are read")
        self._calendar, self._digest = tame(calendar, _public(self.url)), digest
        return True

    @property
    def reads(self) -> BackgroundRead:
        if self._reads is None:
            self._reads = BackgroundRead(_public(self.url), clock=self.clock)
        return self._reads

    def poll(self, wait_s: float = 0.0) -> None:
        """Collect a finished background fetch, and start one when the feed is older than
        `poll_s` (never on the caller's thread; `wait_s`: wait that long for it)."""
        due = (self._fetched_at is None or self.clock() - self._fetched_at >= self.poll_s) and not self.reads.running
        if due:
            self._fetched_at = self.clock()  # tried again a poll later, whatever this fetch gives
        done = self.reads.poll(due, self.fetch, wait_s)
        if done is None:
            return
        if done.error is not None:
            if not self._failed:
                logger.warning("calendar feed: {}; counting all of it as busy", done.error)
            self._failed = True
        else:
            self._failed = False
            self._changed = self._changed or done.changed

    def changed(self) -> bool:
        """True if a fetch since the last call found the feed changed (fetches run in the
        background: this starts one when due, and never waits for it)."""
        self.poll()
        changed, self._changed = self._changed, False
        return changed

    def busy(self, window: Interval, zone: tzinfo) -> list[Interval]:
        """From the feed as last fetched (fetched again in the background when older than
        `poll_s`); while it cannot be fetched, everything counts as busy, as for a calendar
        server."""
        self.poll()
        if self._failed or self._calendar is None:
            return [window]
        return calendar_busy(self._calendar, window, zone)


_FEEDS: dict[str, FeedReader] = {}


def feed_for(url: str) -> FeedReader:
    """One reader per feed per process; the first fetch happens here (errors: CalendarError)."""
    reader = _FEEDS.get(url)
    if reader is None:
        reader = FeedReader(url)
        bounded(_public(url), reader.fetch)
        reader._fetched_at = reader.clock()
        _FEEDS[url] = reader
    return reader
