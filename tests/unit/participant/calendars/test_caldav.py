"""What a CalDAV source does when its server fails, or dribbles, after start-up
(`on_calendar_error`), off the agent's loop; and why events slotwise wrote are not busy time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from slotwise.participant.calendars.caldav import CalDavReader
from slotwise.shared.scenario import CalDavSpec
from slotwise.shared.slots import Interval

WINDOW = Interval(datetime(2024, 7, 22, 8, tzinfo=UTC), datetime(2024, 7, 22, 18, tzinfo=UTC))


EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
         "DTSTAMP:20240701T000000Z\r\nDTSTART:20240722T090000Z\r\nDTEND:20240722T100000Z\r\n"
         "END:VEVENT\r\nEND:VCALENDAR\r\n")


class _Event:
    def __init__(self, uid: str) -> None:
        self.data = EVENT.format(uid=uid)


class _Calendar:
    """A server's calendar that can go down."""

    def __init__(self, *uids: str) -> None:
        self.uids, self.down = uids, False
        self.url = "http://h/alice/work/"
        self.stuck: threading.Event | None = None  # set: the server answers again
        self.reads = 0
        self.second_read = threading.Event()  # a read after the first has begun

    def events(self) -> list[_Event]:
        self.reads += 1
        if self.reads >= 2:
            self.second_read.set()
        if self.stuck is not None:
            self.stuck.wait(30)
        if self.down:
            raise ConnectionError("connection refused")
        return [_Event(u) for u in self.uids]


def reader(policy: str, calendar: _Calendar, clock: list[float]) -> CalDavReader:
    spec = CalDavSpec(url="http://h/", username="alice", password_env="X", poll_s=10, on_calendar_error=policy)  # type: ignore[arg-type]
    r = CalDavReader(spec, clock=lambda: clock[0])
    r._calendars = [calendar]
    r.refresh()
    return r


def test_a_failed_refresh_counts_as_busy_by_default_and_as_empty_if_asked() -> None:
    for policy, expect in (("busy", [WINDOW]), ("free-with-warning", [])):
        clock: list[Any] = [0.0]
        cal = _Calendar("dentist")
        r = reader(policy, cal, clock)
        assert r.busy(WINDOW, UTC) == [Interval(datetime(2024, 7, 22, 9, tzinfo=UTC), datetime(2024, 7, 22, 10, tzinfo=UTC))]
        cal.down, clock[0] = True, 11.0  # stale, and the server is gone
        r.poll(wait_s=5)  # the read this starts, in the background, run to its end
        assert r.busy(WINDOW, UTC) == expect and r.failures == 1
        clock[0] = 15.0
        assert r.busy(WINDOW, UTC) == expect  # not asked again before the next poll
        cal.down, clock[0] = False, 22.0
        r.poll(wait_s=5)
        assert len(r.busy(WINDOW, UTC)) == 1  # back, and read again


def test_events_slotwise_wrote_are_not_busy_time() -> None:
    # one written before UIDs had a domain, one marked as they are now, one delivered by a
    # scheduling server to an attendee (a UID of any domain, the meeting named)
    r = reader("busy", _Calendar("dentist", "review@slotwise", "plan@team.example.org\r\nX-SLOTWISE-MEETING:plan",
                                 "sync@x.invalid\r\nX-SLOTWISE-OWNER:alice"), [0.0])
    assert len(r.busy(WINDOW, UTC)) == 1
    # an event of some other tool, whatever its UID says, is its owner's busy time
    assert len(reader("busy", _Calendar("dentist", "plan@team.example.org"), [0.0]).busy(WINDOW, UTC)) == 2


def test_a_server_that_stops_answering_costs_the_loop_nothing_and_one_thread_at_most() -> None:
    clock: list[Any] = [0.0]
    cal = _Calendar("dentist")
    r = reader("busy", cal, clock)
    cal.stuck = threading.Event()  # from now on every read hangs until released
    try:
        clock[0] = 11.0
        began = time.monotonic()
        assert len(r.busy(WINDOW, UTC)) == 1  # answered at once, from the calendar as last read
        assert time.monotonic() - began < 0.5
        assert cal.second_read.wait(5)  # the background read has begun
        assert cal.reads == 2 and r.reads.running
        clock[0] = 11.0 + r.reads.budget_s + 1  # past the read's budget: counted as failed
        assert r.busy(WINDOW, UTC) == [WINDOW] and r.failures == 1
        clock[0] += 100  # many polls later, still stuck: no second read was started
        r.busy(WINDOW, UTC)
        assert cal.reads == 2
    finally:
        cal.stuck.set()
    r.reads.wait(5)
    clock[0] += 100
    r.poll(wait_s=5)  # the server is back: the next read succeeds and the calendar counts again
    assert r.failures == 0 and len(r.busy(WINDOW, UTC)) == 1


def test_credentials_never_follow_a_redirect_to_another_origin(monkeypatch: Any) -> None:
    # A CalDAV server that sends the client on to another origin must not get the password
    # there (the feed reader is held to the same rule in test_feeds).
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import pytest

    from slotwise.shared.errors import CalendarError

    seen: list[tuple[str, str | None]] = []

    def handler(name: str, answer: Any) -> type[BaseHTTPRequestHandler]:
        class _H(BaseHTTPRequestHandler):
            def _any(self) -> None:
                seen.append((name, self.headers.get("Authorization")))
                answer(self)

            do_GET = do_PROPFIND = do_REPORT = _any

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""
        return _H

    def challenge(h: BaseHTTPRequestHandler) -> None:
        h.send_response(401)
        h.send_header("WWW-Authenticate", 'Basic realm="dav"')
        h.send_header("Content-Length", "0")
        h.end_headers()

    other = ThreadingHTTPServer(("127.0.0.1", 0), handler("other", challenge))

    def redirect(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", f"http://localhost:{other.server_address[1]}/dav/")
        h.send_header("Content-Length", "0")
        h.end_headers()

    first = ThreadingHTTPServer(("127.0.0.1", 0), handler("first", redirect))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (first, other)]
    for t in threads:
        t.start()
    monkeypatch.setenv("SLOTWISE_TEST_PW", "s3cret")
    try:
        spec = CalDavSpec(url=f"http://127.0.0.1:{first.server_address[1]}/dav/", username="alice",
                          password_env="SLOTWISE_TEST_PW")
        with pytest.raises(CalendarError):
            CalDavReader(spec).open()
    finally:
        for s in (first, other):
            s.shutdown()
            s.server_close()
    assert any(name == "other" for name, _ in seen)  # it was sent on
    assert all(auth is None for name, auth in seen if name == "other")  # without the password


def test_a_compressed_answer_that_expands_without_bound_is_refused_while_it_is_read() -> None:
    # 256 KiB of gzip that decodes to 256 MiB, for every request: refused at the bound on
    # decoded bytes, with memory a small multiple of the bound, not of what it would expand to.
    import tracemalloc
    import zlib
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import pytest

    from slotwise.participant.calendars.caldav import MAX_ANSWER_BYTES
    from slotwise.shared.errors import CalendarError

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip wrapper
    block = bytes(1 << 20)
    bomb = b"".join(packer.compress(block) for _ in range(256)) + packer.flush()
    assert len(bomb) < 1 << 20

    class _Bomb(BaseHTTPRequestHandler):
        def _any(self) -> None:
            self.send_response(207)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(bomb)))
            self.end_headers()
            try:
                self.wfile.write(bomb)
            except OSError:
                pass  # the client stopped reading: as it should

        do_GET = do_PROPFIND = do_REPORT = _any

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bomb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = CalDavSpec(url=f"http://127.0.0.1:{server.server_address[1]}/dav/")
    tracemalloc.start()
    try:
        with pytest.raises(CalendarError, match="an answer of more than"):
            CalDavReader(spec).open()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()
    assert peak < 4 * MAX_ANSWER_BYTES < 256 << 20


_PROPS = """<?xml version="1.0" encoding="utf-8"?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <response><href>/cal/</href><propstat><prop>
  <current-user-principal><href>/cal/</href></current-user-principal>
  <C:calendar-home-set><href>/cal/</href></C:calendar-home-set>
  <resourcetype><collection/><C:calendar/></resourcetype>
  <displayname>work</displayname>
  <sync-token>http://example.org/sync/1</sync-token>
 </prop><status>HTTP/1.1 200 OK</status></propstat></response>
</multistatus>
"""


def _report(*calendars: str) -> str:
    from xml.sax.saxutils import escape

    answers = "".join(
        f"<response><href>/cal/e{n}.ics</href><propstat><prop><getetag>\"{n}\"</getetag>"
        f"<C:calendar-data>{escape(text)}</C:calendar-data></prop><status>HTTP/1.1 200 OK</status>"
        "</propstat></response>" for n, text in enumerate(calendars))
    return ('<?xml version="1.0" encoding="utf-8"?>\n<multistatus xmlns="DAV:" '
            f'xmlns:C="urn:ietf:params:xml:ns:caldav">{answers}</multistatus>\n')


def test_mutated_webdav_answers_give_busy_time_or_a_calendar_error_in_bounded_time() -> None:
    # Fuzzing the CalDAV reader through real HTTP: a server's PROPFIND and REPORT answers, made
    # of the real calendar samples, with spans dropped, repeated, cut or garbled, and an entity
    # bomb. Only CalendarError may come out, each read within a bound.
    import random
    import tracemalloc
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path

    from slotwise.shared.errors import CalendarError

    samples = [p.read_text() for p in sorted((Path(__file__).parents[3] / "data" / "ics").glob("*.ics"))
               if "BEGIN:VEVENT" in p.read_text()]
    bodies = {"PROPFIND": _PROPS.encode(), "REPORT": _report(*samples).encode()}
    clean = dict(bodies)

    class _Server(BaseHTTPRequestHandler):
        def _any(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = bodies.get(self.command, b"")
            self.send_response(207)
            self.send_header("Content-Type", "application/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PROPFIND = do_REPORT = _any

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = CalDavSpec(url=f"http://127.0.0.1:{server.server_address[1]}/cal/")
    window = Interval(datetime(2000, 1, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC))

    def read() -> str:
        began = time.monotonic()
        try:
            reader = CalDavReader(spec).open()
            found.append(len(reader.busy(window, UTC)))
            outcome = "read"
        except CalendarError:
            outcome = "refused"
        assert time.monotonic() - began < 5.0, bodies
        return outcome

    rng = random.Random(7)
    outcomes = {"read": 0, "refused": 0}
    found: list[int] = []
    try:
        assert read() == "read" and found[0] > 10  # unmutated, the answers are a calendar
        for _ in range(80):
            method = rng.choice(["PROPFIND", "REPORT"])
            body = bytearray(clean[method])
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(body))
                j = min(len(body), i + rng.randint(1, 200))
                how = rng.randrange(4)
                if how == 0:
                    del body[i:j]
                elif how == 1:
                    body[i:i] = body[i:j] * rng.randint(1, 20)
                elif how == 2:
                    body[i:j] = bytes(rng.randrange(256) for _ in range(j - i))
                else:
                    body[i:i] = rng.choice([b"<", b"</multistatus>", b"&", b"]]>", b"<response>", b"\x00"])
            bodies[method] = bytes(body)
            outcomes[read()] += 1
            bodies.update(clean)
        # An entity bomb (a billion laughs) in the REPORT: never expanded.
        laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10 if n else "lol"}">' for n in range(10))
        bodies["REPORT"] = clean["REPORT"].replace(b"<multistatus", f"<!DOCTYPE m [{laughs}]><multistatus".encode(), 1) \
            .replace(b"<displayname>", b"<displayname>&l9;", 1).replace(b"BEGIN:VEVENT", b"BEGIN:VEVENT\r\nX-L:&l9;", 1)
        tracemalloc.start()
        read()
        assert tracemalloc.get_traced_memory()[1] < 64 << 20
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()
    assert outcomes["read"] > 0 and outcomes["refused"] > 0, outcomes
