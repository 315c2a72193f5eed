"""A recurring meeting as one series, for the rules a scenario may give (by hand)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from slotwise.coordinator.series_events import by_day, nominal_time, series_components
from slotwise.shared.events import Directory
from slotwise.shared.wire.messages import MeetingScheduled

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 10, 1, tzinfo=BERLIN)


def _placed(day: datetime, hour: int, *who: str) -> MeetingScheduled:
    start = day.replace(hour=hour)
    return MeetingScheduled(meeting_id=f"s@{day.date()}", name="S", start=start, end=start + timedelta(hours=1),
                            attendees=who or ("ana", "bo"))


def test_a_rule_that_gives_other_times_is_written_as_rdates() -> None:
    days = [datetime(2024, 10, 21 + k, tzinfo=BERLIN) for k in range(3)]
    placed = {d: _placed(d, 10) for d in days}
    [master] = series_components("s", "s@x.org", "S", "FREQ=DAILY;BYHOUR=9;COUNT=3", days, placed,
                                 Directory(BERLIN), None, NOW)
    assert "RRULE" not in master and [d.dt for d in master["RDATE"].dts] == [d.replace(hour=10) for d in days[1:]]
    [master] = series_components("s", "s@x.org", "S", "FREQ=DAILY;COUNT=3", days, placed, Directory(BERLIN), None, NOW)
    assert "RDATE" not in master and "UNTIL=20241023T080000Z" in master["RRULE"].to_ical().decode()


def test_several_instances_a_day_are_not_one_by_day_series() -> None:
    day = datetime(2024, 10, 21, tzinfo=BERLIN)
    assert by_day([day.replace(hour=9), day.replace(hour=14)], BERLIN) is False
    assert by_day([day, day + timedelta(days=1)], BERLIN) is True


def test_the_nominal_time_is_the_commonest_and_overrides_say_who_else() -> None:
    days = [datetime(2024, 10, 21 + k, tzinfo=BERLIN) for k in range(4)]
    placed = {days[0]: _placed(days[0], 14), days[1]: _placed(days[1], 10), days[2]: _placed(days[2], 10, "ana"),
              days[3]: _placed(days[3], 14)}
    assert nominal_time(list(placed.values()), BERLIN) == time(10)  # 10:00 and 14:00 twice each: the earlier
    master, *overrides = series_components("s", "s@x.org", "S", "FREQ=DAILY;COUNT=4", days, placed,
                                           Directory(BERLIN), None, NOW)
    assert master.decoded("DTSTART") == days[0].replace(hour=10)
    assert sorted(o.decoded("RECURRENCE-ID") for o in overrides) == [days[0].replace(hour=10), days[2].replace(hour=10),
                                                                     days[3].replace(hour=10)]
    [without_bo] = [o for o in overrides if o.decoded("RECURRENCE-ID") == days[2].replace(hour=10)]
    who = without_bo["ATTENDEE"]
    assert [str(a) for a in (who if isinstance(who, list) else [who])] == ["mailto:ana@slotwise.invalid"]
    assert series_components("s", "s@x.org", "S", "FREQ=DAILY;COUNT=4", days, {}, Directory(BERLIN), time(10), NOW) == []
