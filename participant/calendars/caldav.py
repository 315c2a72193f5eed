"""Busy time from a person's CalDAV calendars (RFC 4791), read by that person's agent only.

The `caldav` library speaks the protocol: it discovers the user's principal and calendars from
the server's address (as CalDAV clients do), or takes one calendar's address as given. A
refresh first asks each calendar's sync token (RFC 6578) and reads nothing more when none has
changed. Events are fetched whole (masters with their overrides) and expanded exactly as a .ics
file is
(`shared/ics.py`: RRULE, EXDATE, RDATE, RECURRENCE-ID, cancelled and transparent events free,
all-day events as local days), so the same calendar gives the same busy time either way.

Events slotwise wrote itself (marked X-SLOTWISE-MEETING; older ones by UID) are not busy time here: the
agent already holds those meetings, and reading them back would make every meeting conflict
with itself.

Credentials come from a file or an environment variable, never from a command line, and never
reach a log: errors name the server and the user, not the password. An unreachable server or a
refused login is a CalendarError when the agent starts; later, `on_calendar_error` decides
what a failed refresh means (`busy`: nothing is free until it works again; `free-with-warning`:
the calendar is left out and a warning logged).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from loguru import logger

from slotwise.participant.calendars.background import BackgroundRead, bounded
from slotwise.participant.calendars.ics import MAX_EVENTS, MAX_ICS_BYTES, calendar_busy, tame
from slotwise.shared.caldav_session import connect, explain
from slotwise.shared.errors import CalendarError
from slotwise.shared.events import meeting_of, slotwise_event
from slotwise.shared.slots import Interval

if TYPE_CHECKING:
    import icalendar

    from slotwise.shared.scenario import CalDavSpec

WHOLE_READ_AFTER = 500  # changed events past which one read of everything is cheaper than a GET each
MAX_ANSWER_BYTES = MAX_ICS_BYTES + (8 << 20)  # one answer, decoded: the events and their XML around them


def _start(component: Any) -> datetime | None:
    try:
        start = component.decoded("DTSTART")
    except (KeyError, ValueError):
        return None
    return start if isinstance(start, datetime) else None


def _listed(found: Any) -> list[Any]:
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


@dataclass(frozen=True)
class _Held:
    """One event as last read: its text's digest, to tell a change, and what it parsed to."""

    digest: bytes
    size: int
    components: list[Any]
    # Of the events slotwise wrote (not busy time here): each attendee's PARTSTAT, by meeting,
    # so the owner's answer, given in their own client, reaches the coordinator.
    answers: tuple[tuple[str, str, str, datetime | None], ...] = ()  # (meeting, address (lower), PARTSTAT, start)


@dataclass
class CalDavReader:
    """One person's CalDAV calendars, refreshed at most every `poll_s` seconds."""

    spec: CalDavSpec
    clock: Callable[[], float] = time.monotonic
    _client: Any = None
    _calendars: list[Any] = field(default_factory=list)
    _combined: icalendar.Calendar | None = None
    _fetched_at: float | None = None
    version: int = 0  # counts reads that found something changed
    parsed: int = 0  # events parsed so far: a refresh parses only what changed
    _held: dict[int, dict[str, _Held]] = field(default_factory=dict)  # per calendar, per event address
    _anchors: dict[int, str] = field(default_factory=dict)  # per calendar: changes are asked since
    _tokens: tuple[str | None, ...] | None = None  # the calendars' sync tokens at the last read
    _periods: dict[tuple[datetime, datetime], list[Interval]] = field(default_factory=dict)  # read: freebusy
    failures: int = 0
    _reads: BackgroundRead | None = None
    _changed: bool = False  # a read since the last `changed()` found something new
    _answers: Mapping[str, dict[str, tuple[str, datetime | None]]] = field(default_factory=dict)

    def open(self) -> CalDavReader:
        """Log in and find the calendars; raises CalendarError saying what is wrong."""
        import caldav as caldav_imported  # only agents with a CalDAV account pay for it

        caldav_lib: Any = caldav_imported
        try:
            self._client = connect(self.spec, MAX_ANSWER_BYTES)
            self._calendars = self._discover(caldav_lib)
        except CalendarError:
            raise
        except Exception as exc:  # the library raises its own errors and requests' alike
            raise explain(self.spec, exc) from None
        self.refresh()
        return self

    def _discover(self, caldav_lib: Any) -> list[Any]:
        """The server's address: the principal's calendars; one calendar's address: that one."""
        try:
            found = self._client.principal().calendars()
        except Exception as exc:
            if "Authorization" in type(exc).__name__:
                raise
            found = []
        exact = [c for c in found if str(c.url).rstrip("/") == self.spec.url.rstrip("/")]
        if exact:  # the address is one calendar's own: that calendar only
            found = exact
        elif not found:  # a calendar the principal does not list (shared with the user, say)
            one = caldav_lib.Calendar(client=self._client, url=self.spec.url)
            one.get_properties()  # raises NotFoundError / AuthorizationError as the server says
            found = [one]
        by_id = {calendar_id(c): c for c in found}
        wanted = self.spec.calendars
        if wanted is None:
            return list(by_id.values())
        missing = [w for w in wanted if w not in by_id]
        if missing:
            raise CalendarError(f"{self.spec.url}: no calendar {', '.join(map(repr, missing))} "
                                f"(the server has: {', '.join(sorted(by_id)) or 'none'})")
        return [by_id[w] for w in wanted]

    @property
    def calendars(self) -> list[Any]:  # caldav.Calendar objects
        return list(self._calendars)

    def write_target(self) -> Any:  # a caldav.Calendar
        """Where agreed meetings go: `write_to`, or the first calendar read."""
        if self.spec.write_to is not None:
            for c in self._calendars:
                if calendar_id(c) == self.spec.write_to:
                    return c
            raise CalendarError(f"{self.spec.url}: no calendar {self.spec.write_to!r} to write to")
        return self._calendars[0]

    def _sync_tokens(self) -> tuple[str | None, ...]:
        """Each calendar's sync token (RFC 6578), one cheap PROPFIND each; None where a server
        has none, so that calendar is always read whole."""
        from caldav.elements import dav  # as above: caldav only when used

        tokens = []
        for cal in self._calendars:
            try:
                token = cal.get_property(dav.SyncToken())
            except Exception:  # not offered: fetch every time
                token = None
            tokens.append(str(token) if token else None)
        return tuple(tokens)

    def refresh(self) -> None:
        """Bring the events up to date: nothing is read when every calendar's sync token is
        unchanged; a calendar that changed is asked for its changes since the last read (RFC
        6578 sync-collection) and only those are fetched and parsed; a server that cannot say
        (or says too much changed) is read whole, and only events whose text is new are parsed."""
        try:
            tokens = self._sync_tokens()
        except Exception as exc:
            raise explain(self.spec, exc) from None
        if (self._fetched_at is not None and tokens == self._tokens
                and all(t is not None for t in tokens)):
            self._fetched_at = self.clock()
            return
        if self.spec.read == "freebusy":  # nothing to fetch: periods are asked per window
            self._periods.clear()
            if tokens != self._tokens or None in tokens:
                self.version += 1
            self._tokens, self._fetched_at = tokens, self.clock()
            return
        before = self._tokens if self._tokens is not None else (None,) * len(tokens)
        changed = False
        try:
            for index, cal in enumerate(self._calendars):
                held = self._held.setdefault(index, {})
                if tokens[index] is not None and tokens[index] == before[index]:
                    continue
                if not self._read_changes(cal, index, held):
                    self._anchor(cal, index)  # before the read: a change between comes again
                    self._read_whole(cal, held)
                changed = True
                self._check_size()
        except CalendarError:
            self._forget()  # read whole next time: what is held may be half of an answer
            raise
        except Exception as exc:
            self._forget()
            raise explain(self.spec, exc) from None
        if changed or self._combined is None:
            self._combined = tame(self._combine(), self.spec.url)
            self._answers = MappingProxyType(self._collect_answers())  # replaced whole: read from another thread
            self.version += 1
        self._fetched_at = self.clock()
        self._tokens = tokens

    def _forget(self) -> None:
        self._held.clear()
        self._anchors.clear()

    def _anchor(self, cal: Any, index: int) -> None:
        """The token later changes are asked from (RFC 6578 sync-collection), or none for a
        server without it. A listing of addresses only: the server's own token, which some
        servers accept back only when they handed it out this way."""
        self._anchors.pop(index, None)
        try:
            listing = cal.get_objects_by_sync_token(sync_token=None, load_objects=False,
                                                    disable_fallback=True)
        except Exception:  # no sync-collection: every change is a whole read
            return
        if listing.sync_token and not listing.truncated:
            self._anchors[index] = str(listing.sync_token)

    def _read_changes(self, cal: Any, index: int, held: dict[str, _Held]) -> bool:
        """Apply what changed in `cal` since its anchor; False when there is none, the server
        cannot say, or so much changed that reading it whole is cheaper."""
        since = self._anchors.get(index)
        if since is None:
            return False
        try:
            changes = cal.get_objects_by_sync_token(sync_token=since, load_objects=False,
                                                    disable_fallback=True)
        except Exception:  # a token the server no longer knows
            return False
        if changes.truncated or len(changes.objects) > WHOLE_READ_AFTER or not changes.sync_token:
            return False
        gone = {str(url) for url in changes.deleted_urls}
        for obj in changes.objects:
            url = str(obj.url.canonical())
            if url in gone:
                held.pop(url, None)
                continue
            try:
                obj.load()
            except Exception as exc:
                if "NotFound" in type(exc).__name__:  # removed since it was listed
                    held.pop(url, None)
                    continue
                raise
            held[url] = self._parsed(obj.data, held.get(url))
        self._anchors[index] = str(changes.sync_token)
        return True

    def _read_whole(self, cal: Any, held: dict[str, _Held]) -> None:
        """Every event of `cal` (masters with their overrides), parsing only text not held."""
        fresh: dict[str, _Held] = {}
        size = 0
        for obj in cal.events():
            data = obj.data
            size += len(data)
            if size > MAX_ICS_BYTES or len(fresh) >= MAX_EVENTS:
                raise CalendarError(f"{self.spec.url}: more than {MAX_ICS_BYTES:,} bytes or "
                                    f"{MAX_EVENTS:,} events; not read")
            url = str(obj.url.canonical()) if getattr(obj, "url", None) is not None else f"#{len(fresh)}"
            fresh[url] = self._parsed(data, held.get(url))
        held.clear()
        held.update(fresh)

    def _parsed(self, data: str, known: _Held | None) -> _Held:
        """One event's components, parsed again only when its text changed."""
        import icalendar  # 77 ms: only agents with a CalDAV account pay for it

        digest = hashlib.blake2b(data.encode(), digest_size=16).digest()
        if known is not None and known.digest == digest:
            return known
        self.parsed += 1
        parsed = icalendar.Calendar.from_ical(data).subcomponents
        # a meeting slotwise wrote: the agent holds it already; only its answers are read
        ours = [c for c in parsed if slotwise_event(c)]
        answers = tuple((meeting, str(a).lower(), str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper(), _start(c))
                        for c in ours if c.name == "VEVENT" and (meeting := meeting_of(c)) is not None
                        for a in _listed(c.get("ATTENDEE")))
        return _Held(digest, len(data), [c for c in parsed if not slotwise_event(c)], answers)

    def _collect_answers(self) -> dict[str, dict[str, tuple[str, datetime | None]]]:
        out: dict[str, dict[str, tuple[str, datetime | None]]] = {}
        for held in self._held.values():
            for event in held.values():
                for meeting, address, partstat, start in event.answers:
                    out.setdefault(meeting, {})[address] = (partstat, start)
        return out

    def answers(self, address: str) -> dict[str, tuple[str, datetime | None]]:
        """`address`'s PARTSTAT in each meeting slotwise wrote, as last read (`mailto:…`), with
        the start of the event it was given on (an answer to an older time is not one to this)."""
        wanted = address.lower()
        return {m: who[wanted] for m, who in self._answers.items() if wanted in who}

    def _check_size(self) -> None:
        events = sum(len(h) for h in self._held.values())
        size = sum(e.size for h in self._held.values() for e in h.values())
        if size > MAX_ICS_BYTES or events > MAX_EVENTS:
            raise CalendarError(f"{self.spec.url}: more than {MAX_ICS_BYTES:,} bytes or "
                                f"{MAX_EVENTS:,} events; not read")

    def _combine(self) -> icalendar.Calendar:
        import icalendar  # as above

        combined = icalendar.Calendar()
        for index in sorted(self._held):
            for url in sorted(self._held[index]):
                for component in self._held[index][url].components:
                    combined.add_component(component)
        return combined

    def _read_again(self) -> bool:
        """A refresh, on the background thread: True if anything changed."""
        before = self.version
        self.refresh()
        return self.version != before

    @property
    def reads(self) -> BackgroundRead:
        if self._reads is None:
            self._reads = BackgroundRead(self.spec.url, clock=self.clock)
        return self._reads

    def poll(self, wait_s: float = 0.0) -> None:
        """Collect a finished background read, and start one when the calendars are older
        than `poll_s` (never on the caller's thread; `wait_s`: wait that long for it, for tests
        and start-up)."""
        due = (self._fetched_at is None or self.clock() - self._fetched_at >= self.spec.poll_s) \
            and not self.reads.running
        if due:
            self._fetched_at = self.clock()  # tried again a poll later, whatever this read gives
        done = self.reads.poll(due, self._read_again, wait_s)
        if done is None:
            return
        if done.error is not None:
            self.failures += 1
            logger.warning("calendar refresh failed ({}); counting {}", done.error, self._meaning())
        else:
            self.failures = 0
            self._changed = self._changed or done.changed

    def _meaning(self) -> str:
        return "all of it as busy" if self.spec.on_calendar_error == "busy" else "the calendar as empty"

    def changed(self) -> bool:
        """True if a read since the last call found anything changed (reads run in the
        background: this starts one when due, and never waits for it)."""
        self.poll()
        changed, self._changed = self._changed, False
        return changed

    def _free_busy(self, window: Interval, zone: tzinfo) -> list[Interval]:
        """`read: freebusy`: the server's busy periods for `window` (cached per window until the
        next refresh)."""
        import icalendar  # 77 ms: only agents with a CalDAV account pay for it

        cached = self._periods.get((window.start, window.end))
        if cached is not None:
            return cached
        busy: list[Interval] = []
        try:
            for cal in self._calendars:
                answer = cal.freebusy_request(window.start, window.end)
                busy += calendar_busy(icalendar.Calendar.from_ical(answer.data), window, zone)
        except Exception as exc:
            raise explain(self.spec, exc) from None
        if len(self._periods) > 64:
            self._periods.clear()
        self._periods[(window.start, window.end)] = busy
        return busy

    def busy(self, window: Interval, zone: tzinfo) -> list[Interval]:
        """Busy intervals overlapping `window`, from the calendars as last read (read again in
        the background when older than `poll_s`). A failed or overdue read follows
        `on_calendar_error`."""
        self.poll()
        if self.failures:
            return [window] if self.spec.on_calendar_error == "busy" else []
        if self.spec.read == "freebusy":
            try:
                return self._free_busy(window, zone)
            except CalendarError as exc:
                self.failures += 1
                logger.warning("free/busy query failed ({})", exc)
                return [window] if self.spec.on_calendar_error == "busy" else []
        if self._combined is None:
            return [window]
        return calendar_busy(self._combined, window, zone)


def calendar_id(calendar: Any) -> str:
    """A calendar's id: the last segment of its address ("work" in /alice/work/)."""
    return str(calendar.url).rstrip("/").rsplit("/", 1)[-1]


_READERS: dict[str, CalDavReader] = {}


def reader_for(spec: CalDavSpec) -> CalDavReader:
    """One reader per calendar spec per process: free time is asked for many windows."""
    key = spec.model_dump_json()
    reader = _READERS.get(key)
    if reader is None:
        reader = CalDavReader(spec)
        bounded(spec.url, reader.open)
        _READERS[key] = reader
    return reader
