"""Busy time from real calendar exports (tests/data/ics, with their sources and licenses)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slotwise.participant.calendars.ics import IcsError, busy_from_ics
from slotwise.shared.slots import Interval
from tests.helpers import REPO

ICS = REPO / "tests" / "data" / "ics"


EVER = Interval(datetime(1990, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def busy(name: str, window: Interval = EVER, zone: str = "UTC") -> list[tuple[str, str]]:
    return [(iv.start.isoformat(), iv.end.isoformat()) for iv in sorted(busy_from_ics(ICS / name, window, ZoneInfo(zone)))]


def test_weekly_series_with_two_exdates_across_dst() -> None:
    got = busy("each_week_but_two_deleted.ics")
    assert len(got) == 6  # COUNT=8 less two EXDATEs
    # 00:30 Berlin is 23:30 UTC the day before in winter, 22:30 after the switch to CEST.
    assert got[0][0] == "2019-03-03T23:30:00+00:00"
    assert got[-1][0].endswith("22:30:00+00:00")


def test_cancelled_occurrence_is_not_busy() -> None:
    got = busy("issue_18_cancel_status.ics")
    assert len(got) == 2 and not any(start.startswith("2020-01-29") for start, _ in got)


def test_free_busy_periods_except_free() -> None:
    assert busy("issue_798_freebusy.ics") == [
        ("1997-03-08T16:00:00+00:00", "1997-03-08T19:00:00+00:00"),
        ("1997-03-08T16:00:00+00:00", "1997-03-09T00:30:00+00:00"),  # BUSY-UNAVAILABLE, PT8H30M
        ("1997-03-08T20:00:00+00:00", "1997-03-08T21:00:00+00:00"),
    ]


def test_moved_occurrence_counts_and_transparent_all_day_series_does_not() -> None:
    got = busy("issue_62_moved_event_2.ics")
    assert [start[:10] for start, _ in got] == ["2023-08-08", "2023-08-14", "2023-08-22"]  # 15th moved to 14th


def test_floating_times_use_x_wr_timezone() -> None:
    assert busy("issue_86_x_wr_timezone_without_time_zone_in_dt.ics")[0][0] == "2021-09-16T19:00:00+00:00"


def test_open_ended_series_is_expanded_only_within_the_window() -> None:
    week = Interval(datetime(2022, 10, 24, tzinfo=UTC), datetime(2022, 10, 31, tzinfo=UTC))
    got = busy("x_location.ics", week)
    assert 1 <= len(got) <= 7 and all("2022-10-2" in s or "2022-10-3" in s for s, _ in got)


def test_unreadable_calendars_are_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ics"
    bad.write_text("BEGIN:VCALENDAR\nthis is not\n")
    with pytest.raises(IcsError):
        busy_from_ics(bad, EVER, UTC)
    with pytest.raises(IcsError, match="cannot read"):
        busy_from_ics(tmp_path / "missing.ics", EVER, UTC)
