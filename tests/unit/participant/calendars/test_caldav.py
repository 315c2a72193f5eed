"""What a CalDAV source does when its server fails after start-up (`on_calendar_error`), and why
events slotwise wrote are not busy time."""

from __future__ import annotations

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

    def events(self) -> list[_Event]:
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
        assert r.busy(WINDOW, UTC) == expect and r.failures == 1
        clock[0] = 15.0
        assert r.busy(WINDOW, UTC) == expect  # not asked again before the next poll
        cal.down, clock[0] = False, 22.0
        assert len(r.busy(WINDOW, UTC)) == 1  # back, and read again


def test_events_slotwise_wrote_are_not_busy_time() -> None:
    r = reader("busy", _Calendar("dentist", "review@slotwise"), [0.0])
    assert len(r.busy(WINDOW, UTC)) == 1
