"""Every built-in policy on its own, then through the negotiation core."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slotwise.coordinator.plan import _compile, compile_plan
from slotwise.coordinator.policies import registry
from slotwise.coordinator.policies.base import Booking, MeetingFacts, PersonView
from slotwise.coordinator.policies.constraints import BlackoutDates, DailyCap, MinGap, TimeOfDay, Weekdays, WorkingHours
from slotwise.coordinator.policies.registry import available, load_policy
from slotwise.coordinator.policies.rules import MinParticipants, Quorum, RequiredAttendees, Roles
from slotwise.shared.errors import PolicyError
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.scenario import WorkingHoursSpec
from slotwise.shared.slots import Interval
from tests.helpers import REPO, at, make_scenario, spec
from tests.unit.fakenet import FakeNetwork

M_FIELDS = {"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "c", "d"], "min_participants": 2}
M = spec(**M_FIELDS)
A = [AgentId(x) for x in "abcd"]


def span(start: str, minutes: int = 60) -> Interval:
    s = datetime.fromisoformat(start)
    return Interval(s, s + timedelta(minutes=minutes))


def person(zone: str = "UTC", bookings: list[Booking] | None = None, **hours: object) -> PersonView:
    wh = WorkingHoursSpec.model_validate(hours) if hours else None
    return PersonView(AgentId("a"), ZoneInfo(zone), bookings or [], wh)


# --- registry -----------------------------------------------------------------------------------

def test_every_kind_lists_its_builtins() -> None:
    assert available("rule") == ["min-participants", "quorum", "required-attendees", "roles"]
    assert available("priority") == ["earliest-deadline-first", "most-constrained-first", "priority-then-order"]
    assert available("slot_order") == ["earliest", "max-availability", "max-fairness"]
    assert available("silence") == ["count-as-no", "drop-from-quorum", "wait"]
    assert set(available("constraint")) == {"blackout-dates", "daily-cap", "min-gap", "time-of-day",
                                            "weekdays", "working-hours"}


def test_unknown_names_and_bad_options_say_what_is_known() -> None:
    with pytest.raises(PolicyError, match="unknown slot order policy 'latest'; known: earliest, max-availability"):
        load_policy("slot_order", "latest")
    with pytest.raises(PolicyError, match="unknown rule policy 'earliest'"):
        load_policy("rule", "earliest")  # a real name, of another kind
    with pytest.raises(PolicyError, match="min-gap: minutes: Input should be greater than or equal to 1"):
        load_policy("constraint", {"min-gap": {"minutes": 0}})
    with pytest.raises(PolicyError, match="a policy is a name"):
        load_policy("constraint", {"min-gap": 1, "weekdays": 2})  # type: ignore[dict-item]


def test_scenario_policy_errors_carry_field_paths() -> None:
    s = make_scenario({"a": {}, "b": {}}, [
        {"id": "m", "duration_minutes": 30, "invitees": ["a", "b"], "constraints": ["weekday"]},
        {"id": "n", "duration_minutes": 30, "invitees": ["a", "b"], "constraints": ["weekdays"]}])
    problems = dict(_compile(s)[1])
    assert "unknown constraint policy 'weekday'; known: blackout-dates" in problems[("meetings", 0, "constraints", 0)]
    s = make_scenario({"a": {}, "b": {}}, [
        {"id": "m", "duration_minutes": 30, "invitees": ["a", "b"], "rule": {"required": ["zed"]}}])
    assert dict(_compile(s)[1])[("meetings", 0, "rule")] == "required 'zed' is not invited"


def test_rule_shorthand_from_the_issue_is_required_attendees() -> None:
    s = make_scenario({n: {} for n in "abc"}, [
        {"id": "design-review", "duration_minutes": 30, "invitees": ["a", "b", "c"],
         "rule": {"required": ["a"], "min_participants": 3}}])
    rule = compile_plan(s).meetings[0].policies.rule
    assert isinstance(rule, RequiredAttendees) and rule.options.required == ["a"]


def test_third_party_policy_loads_through_its_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example plug-in in examples/, found the way pip-installed packages are: by metadata."""
    dist = tmp_path / "slotwise_no_lunch-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: slotwise-no-lunch\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[slotwise.policies]\nno-lunch = slotwise_no_lunch:NoLunch\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(REPO / "examples" / "slotwise_no_lunch"))
    registry._plugins.cache_clear()
    try:
        assert "no-lunch" in available("constraint")
        people = {"a": {"timezone": "Asia/Tokyo"}, "b": {}}
        s = make_scenario(people, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b"]}],
                          hours=(3, 6), policies={"constraints": [{"no-lunch": {}}]})  # from 12:00 Tokyo
        (o,) = FakeNetwork(s).run()
        assert o.when is not None and o.when.start == datetime.fromisoformat(at(4))  # 13:00 in Tokyo
    finally:
        registry._plugins.cache_clear()


# --- rules --------------------------------------------------------------------------------------

def test_min_participants() -> None:
    rule = MinParticipants(MinParticipants.Options())
    m = spec(rule, **M_FIELDS)
    assert rule.satisfied(m, A[:2]) and not rule.satisfied(m, A[:1])
    assert rule.shortfall(m, A[:1]) == "had 1 of 2 required (a)"


def test_required_attendees_need_the_named_and_the_minimum() -> None:
    rule = RequiredAttendees(RequiredAttendees.Options(required=["a"], min_participants=3))
    m = spec(rule, **M_FIELDS)
    assert rule.satisfied(m, A[:3]) and not rule.satisfied(m, A[1:]) and not rule.satisfied(m, A[:2])
    assert rule.shortfall(m, A[1:3]) == "had 2 of 3 required (b, c) without required a"


def test_quorum_rounds_up() -> None:
    rule = Quorum(Quorum.Options(fraction=0.6))  # 60% of 4 = 2.4 -> 3
    m = spec(rule, **M_FIELDS)
    assert rule.minimum(m) == 3 and rule.satisfied(m, A[:3]) and not rule.satisfied(m, A[:2])
    assert Quorum(Quorum.Options(fraction=0.5)).minimum(m) == 2


def test_roles_need_each_group_and_cap_holds_to_the_least_booked() -> None:
    rule = Roles(Roles.Options.model_validate(
        {"groups": {"hosts": {"members": ["a", "b", "c"], "max": 1}, "guest": {"members": ["d"]}}}))
    m = spec(rule, **M_FIELDS)
    assert rule.satisfied(m, [A[0], A[3]]) and not rule.satisfied(m, A[:3])
    assert rule.select(m, A, {AgentId("a"): 2, AgentId("b"): 0, AgentId("c"): 0}) == ["b", "d"]
    assert "short in guest 0 of 1" in rule.shortfall(m, A[:2])


# --- priorities and slot orders --------------------------------------------------------------------

def test_priority_keys() -> None:
    late = spec(id="late", duration_minutes=30, invitees=["a"], priority=9,
                not_after=datetime(2024, 7, 30, tzinfo=UTC))
    soon = spec(id="soon", duration_minutes=30, invitees=["a"], not_after=datetime(2024, 7, 23, tzinfo=UTC))
    free = spec(id="free", duration_minutes=30, invitees=["a"], priority=10)
    facts = [MeetingFacts(m, i, [], feasible=f) for i, (m, f) in enumerate([(late, 5), (soon, 9), (free, 1)])]

    def ranked(name: str) -> list[str]:
        p = load_policy("priority", name)
        return [f.meeting.id for f in sorted(facts, key=p.key)]

    assert ranked("priority-then-order") == ["free", "late", "soon"]
    assert ranked("earliest-deadline-first") == ["soon", "late", "free"]
    assert ranked("most-constrained-first") == ["free", "late", "soon"]


def test_slot_order_keys() -> None:
    facts = MeetingFacts(M, 0, [0, 1, 2], free_at=[A[:1], A[:3], A[:3]],
                         chosen_at=[A[:1], A[:2], A[2:4]], load={A[0]: 3, A[1]: 1})
    for name, expected in [("earliest", [0, 1, 2]), ("max-availability", [1, 2, 0]), ("max-fairness", [2, 0, 1])]:
        p = load_policy("slot_order", name)
        assert sorted(range(3), key=lambda i: p.key(facts, i)) == expected, name


# --- time constraints ---------------------------------------------------------------------------------

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
