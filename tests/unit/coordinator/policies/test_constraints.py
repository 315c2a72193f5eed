"""Time constraints (weekdays, time of day, windows, working hours in each person's zone, gaps,
daily caps, blackout dates): each on its own, then through the negotiation core."""

from __future__ import annotations

from datetime import UTC, date, time
from zoneinfo import ZoneInfo

import pytest

from slotwise.coordinator.policies.base import Booking
from slotwise.coordinator.policies.constraints import BlackoutDates, DailyCap, MinGap, TimeOfDay, Weekdays, WorkingHours
from slotwise.shared.ids import MeetingId
from slotwise.shared.scenario import Scenario, WorkingHoursSpec
from tests.helpers import at, make_scenario
from tests.unit.coordinator.policies.views import M, person, span
from tests.unit.fakenet import FakeNetwork, run_audited, t


def test_weekdays_and_time_of_day_in_the_scenario_zone() -> None:
    weekdays = Weekdays(Weekdays.Options())
    assert weekdays.meeting_reason(M, span("2024-07-26T10:00:00+00:00"), UTC) is None  # Friday
    assert weekdays.meeting_reason(M, span("2024-07-27T10:00:00+00:00"), UTC) == "not on an allowed weekday (sat)"
    # Friday 23:30 UTC is already Saturday in Tokyo.
    assert weekdays.meeting_reason(M, span("2024-07-26T23:30:00+00:00"), ZoneInfo("Asia/Tokyo")) is not None
    tod = TimeOfDay(TimeOfDay.Options(earliest=time(10), latest=time(16)))
    assert tod.meeting_reason(M, span("2024-07-22T10:00:00+00:00"), UTC) is None
    assert tod.meeting_reason(M, span("2024-07-22T15:30:00+00:00"), UTC) == "outside 10:00-16:00"


def test_working_hours_follow_each_persons_zone_across_dst() -> None:
    wh = WorkingHours(WorkingHours.Options())
    # Berlin springs forward on 31 March 2024: 09:00 local is 08:00 UTC before, 07:00 UTC after.
    assert wh.attendee_reason(M, span("2024-03-29T08:00:00+00:00"), person("Europe/Berlin")) is None
    assert wh.attendee_reason(M, span("2024-04-01T07:00:00+00:00"), person("Europe/Berlin")) is None
    assert wh.attendee_reason(M, span("2024-03-29T07:00:00+00:00"), person("Europe/Berlin")) is not None
    # New York falls back on 3 November 2024: 16:00-17:00 local is 20:00 UTC before, 21:00 after.
    ny = person("America/New_York")
    assert wh.attendee_reason(M, span("2024-11-01T20:00:00+00:00"), ny) is None
    assert wh.attendee_reason(M, span("2024-11-04T21:00:00+00:00"), ny) is None
    assert wh.attendee_reason(M, span("2024-11-04T22:00:00+00:00"), ny) is not None


def test_working_hours_far_zone_and_personal_override() -> None:
    wh = WorkingHours(WorkingHours.Options())
    auckland = person("Pacific/Auckland")  # UTC+12 in July
    assert wh.attendee_reason(M, span("2024-07-22T21:00:00+00:00"), auckland) is None  # Tue 09:00 there
    reason = wh.attendee_reason(M, span("2024-07-22T10:00:00+00:00"), auckland)  # Mon 22:00 there
    assert reason == "outside working hours (09:00-17:00 Pacific/Auckland)"
    night = person("UTC", start="22:00", end="23:59", days=["mon"])
    assert wh.attendee_reason(M, span("2024-07-22T22:00:00+00:00"), night) is None


def test_working_hours_overrides_hold_for_their_dates_across_dst() -> None:
    """Shorter hours from 21 October to 3 November 2024; Berlin falls back on 27 October."""
    wh = WorkingHours(WorkingHours.Options())
    season = person("Europe/Berlin", overrides=[{"from": "2024-10-21", "until": "2024-11-03",
                                                  "start": "10:00", "end": "12:00"}])
    # 10:00 local is 08:00 UTC before the change (CEST) and 09:00 UTC after it (CET).
    assert wh.attendee_reason(M, span("2024-10-22T08:00:00+00:00"), season) is None
    assert wh.attendee_reason(M, span("2024-10-28T09:00:00+00:00"), season) is None
    assert wh.attendee_reason(M, span("2024-10-28T08:00:00+00:00"), season) == \
        "outside working hours (10:00-12:00 Europe/Berlin)"  # 09:00 local: not in the season's hours
    assert wh.attendee_reason(M, span("2024-11-04T08:00:00+00:00"), season) is None  # usual 09:00-17:00
    assert wh.attendee_reason(M, span("2024-11-01T12:00:00+00:00"), season) is not None  # 13:00 local
    with pytest.raises(ValueError, match="until is before from"):
        WorkingHoursSpec.model_validate({"overrides": [{"from": "2024-11-03", "until": "2024-10-21"}]})


def test_min_gap_daily_cap_and_blackout() -> None:
    booked = [Booking(MeetingId("x"), span("2024-07-22T10:00:00+00:00"))]
    gap = MinGap(MinGap.Options(minutes=15))
    assert gap.attendee_reason(M, span("2024-07-22T11:00:00+00:00"), person(bookings=booked)) is not None
    assert gap.attendee_reason(M, span("2024-07-22T11:15:00+00:00"), person(bookings=booked)) is None
    assert gap.attendee_reason(M, span("2024-07-22T08:45:00+00:00"), person(bookings=booked)) is None
    cap = DailyCap(DailyCap.Options(max_meetings=1))
    assert cap.attendee_reason(M, span("2024-07-22T15:00:00+00:00"), person(bookings=booked)) is not None
    assert cap.attendee_reason(M, span("2024-07-23T15:00:00+00:00"), person(bookings=booked)) is None
    off = BlackoutDates(BlackoutDates.Options(dates=[date(2024, 7, 23)], people=["a"]))
    assert off.attendee_reason(M, span("2024-07-23T15:00:00+00:00"), person()) == "blackout date 2024-07-23"
    # 23 July 08:00 in Tokyo is still 22 July in UTC: blackout follows the person's date.
    assert off.attendee_reason(M, span("2024-07-22T23:00:00+00:00"), person("Asia/Tokyo")) is not None






def test_working_hours_in_each_persons_zone() -> None:
    people = {"london": {"timezone": "Europe/London"}, "nyc": {"timezone": "America/New_York"}}
    _, out = run_audited(people, [{"id": "m", "duration_minutes": 60, "invitees": ["london", "nyc"]}],
                 hours=(0, 24), policies={"constraints": ["working-hours"]})
    assert out["m"].when.start == t(13)  # 14:00 BST, 09:00 EDT


def test_working_hours_far_apart_fail_with_the_reason() -> None:
    people = {"tokyo": {"timezone": "Asia/Tokyo"}, "nyc": {"timezone": "America/New_York"}}
    _, out = run_audited(people, [{"id": "m", "duration_minutes": 60, "invitees": ["tokyo", "nyc"]}],
                 hours=(0, 24), policies={"constraints": ["working-hours"]})
    assert not out["m"].scheduled and "outside working hours" in out["m"].reason


def test_min_gap_and_daily_cap() -> None:
    people = {"a": {}, "b": {}}
    meetings = [{"id": f"m{i}", "duration_minutes": 60, "invitees": ["a", "b"]} for i in range(3)]
    _, gap = run_audited(people, meetings, policies={"constraints": [{"min-gap": {"minutes": 15}}]})
    assert [gap[f"m{i}"].when.start for i in range(3)] == [t(8), t(9.5), t(11)]
    _, cap = run_audited(people, meetings, hours=(8, 24 + 18), policies={"constraints": [{"daily-cap": {"max_meetings": 2}}]})
    assert [cap[f"m{i}"].when.start for i in range(3)] == [t(8), t(9), t(24)]


def test_weekdays_time_of_day_and_window() -> None:
    # The horizon starts on Saturday 27 July; weekdays push the meeting to Monday 10:00.
    people = {"a": {}}
    meetings = [{"id": "m", "duration_minutes": 60, "invitees": ["a"],
                 "constraints": ["weekdays", {"time-of-day": {"earliest": "10:00", "latest": "16:00"}}]},
                {"id": "w", "duration_minutes": 60, "invitees": ["a"], "not_before": at(5 * 24 + 15)}]
    s = make_scenario(people, meetings)
    data = s.model_dump()
    data["horizon"] = {"start": t(5 * 24), "end": t(8 * 24)}
    s = Scenario.model_validate(data)
    outcomes = {o.id: o for o in FakeNetwork(s).run()}
    assert outcomes["m"].when.start == t(7 * 24 + 10)
    assert outcomes["w"].when.start == t(5 * 24 + 15)


def test_excluded_candidates_are_counted_in_the_reason() -> None:
    _, out = run_audited({"a": {}}, [{"id": "m", "duration_minutes": 60, "invitees": ["a"],
                              "constraints": [{"time-of-day": {"earliest": "19:00"}}]}])
    assert out["m"].reason == "19 candidate slots excluded (outside 19:00-23:59: 19)"


def test_blackout_dates_move_the_meeting() -> None:
    _, out = run_audited({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b"]}],
                 hours=(8, 24 + 18), policies={"constraints": [{"blackout-dates": {"dates": ["2024-07-22"], "people": ["b"]}}]})
    assert out["m"].when.start == t(24)
