"""A published feed whose server turns slow after start-up, a byte at a time, against a real
HTTP server on loopback: the agent's questions are answered at once from the feed as last read,
the stuck fetch counts as failed once past its budget, and no second fetch piles up behind it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from slotwise.participant.calendars.feeds import FeedReader
from slotwise.shared.slots import Interval

WINDOW = Interval(datetime(2024, 7, 22, 8, tzinfo=UTC), datetime(2024, 7, 22, 18, tzinfo=UTC))
FEED = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:dentist\r\n"
        b"DTSTAMP:20240701T000000Z\r\nDTSTART:20240722T090000Z\r\nDTEND:20240722T100000Z\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n")


class _Dribbler(ThreadingHTTPServer):
    """Serves the feed whole once; from then on, a byte every 0.1 s until told to stop."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.served = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.stop = threading.Event()
        self.dribbling = threading.Event()  # the second request, the one that dribbles, has come
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Dribbler

    def do_GET(self) -> None:
        with self.server.lock:
            first = self.server.served == 0
            self.server.served += 1
            if not first:
                self.server.dribbling.set()
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(FEED)))
            self.end_headers()
            if first:
                self.wfile.write(FEED)
                return
            for byte in FEED:
                if self.server.stop.wait(0.1):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:
            pass
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def dribbler() -> Iterator[_Dribbler]:
    server = _Dribbler()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_feed_that_dribbles_after_start_up_never_holds_the_agent(dribbler: _Dribbler) -> None:
    clock = [0.0]
    feed = FeedReader(f"http://127.0.0.1:{dribbler.server_address[1]}/feed.ics", clock=lambda: clock[0], poll_s=1.0)
    assert feed.fetch() is True  # start-up: served whole
    assert len(feed.busy(WINDOW, UTC)) == 1
    feed.reads.budget_s = 5.0
    clock[0] = 2.0  # stale: the next question starts a fetch in the background, which dribbles
    for _ in range(20):
        began = time.monotonic()
        assert len(feed.busy(WINDOW, UTC)) == 1  # answered from the feed as last read
        assert time.monotonic() - began < 0.5
    assert dribbler.dribbling.wait(5)
    assert dribbler.served == 2 and feed.reads.running
    clock[0] = 8.0  # past the fetch's budget: it counts as failed, all of it busy
    assert feed.busy(WINDOW, UTC) == [WINDOW]
    clock[0] = 100.0  # many polls later and still stuck: no second fetch started beside it
    assert feed.busy(WINDOW, UTC) == [WINDOW]
    assert dribbler.served == 2 and dribbler.most_in_flight == 1


class _Recorder(BaseHTTPRequestHandler):
    """Serves the feed, and notes the Authorization header each request came with."""

    seen: list[str | None] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def test_credentials_in_a_feed_address_never_follow_a_redirect_to_another_origin() -> None:
    other, other_thread = _serve(_Recorder)
    target = f"http://localhost:{other.server_address[1]}/moved.ics"

    class _Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    first, first_thread = _serve(_Redirect)
    try:
        feed = FeedReader(f"http://u:secret@127.0.0.1:{first.server_address[1]}/feed.ics")
        assert feed.fetch() is True  # the feed was read, from where it moved
        assert _Recorder.seen == [None]  # and u:secret did not go with it
    finally:
        for server, thread in ((first, first_thread), (other, other_thread)):
            server.shutdown()
            server.server_close()
            thread.join(5)


def test_a_feed_of_more_events_than_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from slotwise.participant.calendars import feeds
    from slotwise.shared.errors import CalendarError

    monkeypatch.setattr(feeds, "MAX_EVENTS", 3)  # the cap is 100,000; a small one, to keep this quick
    many = b"".join(FEED.split(b"BEGIN:VEVENT")[1].split(b"END:VCALENDAR")[0].replace(b"dentist", f"e{i}".encode())
                    .join([b"BEGIN:VEVENT", b""]) for i in range(4))
    body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + many + b"END:VCALENDAR\r\n"

    class _Many(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server, thread = _serve(_Many)
    try:
        with pytest.raises(CalendarError, match="4 events; at most 3 are read"):
            FeedReader(f"http://127.0.0.1:{server.server_address[1]}/many.ics").fetch()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
