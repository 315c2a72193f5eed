"""Busy time from real calendar exports (tests/data/ics, with their sources and licenses)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slotwise.participant.calendars import ics
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


def _ics(tmp_path: Path, *events: str) -> Path:
    body = "".join(f"BEGIN:VEVENT\r\nUID:e{i}\r\nDTSTAMP:20240701T000000Z\r\n{e}END:VEVENT\r\n" for i, e in enumerate(events))
    path = tmp_path / "planted.ics"
    path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n")
    return path


def test_an_event_planted_to_repeat_every_second_costs_nothing_and_counts_once(tmp_path: Path) -> None:
    # Anyone who can invite someone can plant this; it once took 7.7 s and 218 MB for one day.
    path = _ics(tmp_path, "DTSTART:20200101T000000Z\r\nDTEND:20200101T000001Z\r\nRRULE:FREQ=SECONDLY\r\n",
                "DTSTART:20240722T090000Z\r\nDTEND:20240722T100000Z\r\n")
    window = Interval(datetime(2024, 7, 22, tzinfo=UTC), datetime(2024, 7, 23, tzinfo=UTC))
    began = time.thread_time()
    found = busy_from_ics(path, window, ZoneInfo("UTC"))
    assert time.thread_time() - began < 2.0
    assert found == [Interval(datetime(2024, 7, 22, 9, tzinfo=UTC), datetime(2024, 7, 22, 10, tzinfo=UTC))]


def test_an_expansion_is_bounded_and_what_it_did_not_reach_counts_as_busy(tmp_path: Path) -> None:
    # 30 hourly series over a year: 260,000 occurrences. Past the bound, the rest of the
    # window is busy (never free by accident), and the answer comes in bounded time.
    events = [f"DTSTART:20240101T{h % 24:02}0000Z\r\nDTEND:20240101T{h % 24:02}0100Z\r\nRRULE:FREQ=HOURLY\r\n"
              for h in range(30)]
    path = _ics(tmp_path, *events)
    window = Interval(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    began = time.thread_time()
    found = busy_from_ics(path, window, ZoneInfo("UTC"))
    assert time.thread_time() - began < ics.EXPAND_BUDGET_S + 2.0
    assert found[-1].end == window.end and found[-1].start < window.end - timedelta(days=300)


def test_mutated_real_calendars_give_busy_time_or_an_ics_error_in_bounded_time(tmp_path: Path) -> None:
    # Fuzzing the calendar reader: the real samples with lines dropped, repeated, swapped, cut or
    # garbled. Only IcsError may come out, each read within a bound.
    import random

    rng = random.Random(11)
    samples = [p.read_bytes().splitlines(keepends=True) for p in sorted(ICS.glob("*.ics"))]
    window = Interval(datetime(2018, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC))
    outcomes = {"read": 0, "refused": 0}
    for n in range(200):
        lines = list(rng.choice(samples))
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(lines))
            how = rng.randrange(5)
            if how == 0:
                del lines[i]
            elif how == 1:
                lines.insert(i, lines[rng.randrange(len(lines))])
            elif how == 2:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            elif how == 3:
                lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
            else:
                lines[i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40))) + b"\r\n"
        path = tmp_path / f"m{n}.ics"
        path.write_bytes(b"".join(lines))
        began = time.thread_time()
        try:
            busy_from_ics(path, window, ZoneInfo("Europe/Berlin"))
            outcomes["read"] += 1
        except IcsError:
            outcomes["refused"] += 1
        assert time.thread_time() - began < ics.EXPAND_BUDGET_S + 1.0, path.read_bytes()[:300]
    assert outcomes["read"] > 0 and outcomes["refused"] > 0, outcomes


def test_a_thousand_planted_hourly_series_are_bounded_too(tmp_path: Path) -> None:
    events = ["DTSTART:20240101T000000Z\r\nDTEND:20240101T000100Z\r\nRRULE:FREQ=HOURLY\r\n" for _ in range(1000)]
    path = _ics(tmp_path, *events)
    window = Interval(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))  # 744,000 occurrences
    began = time.thread_time()
    found = busy_from_ics(path, window, ZoneInfo("UTC"))
    assert time.thread_time() - began < ics.EXPAND_BUDGET_S + 3.0
    assert found[-1].end == window.end  # what was not reached counts as busy
