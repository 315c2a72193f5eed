"""Scenario files: loading, zones, free time, every problem reported with line and field,
recurring availability, and the agent's availability file format."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from slotwise.coordinator.plan import compile_plan
from slotwise.shared.errors import ScenarioError
from slotwise.shared.scenario import load_availability, load_scenario
from tests.helpers import REPO

GOOD = """\
name: t
timezone: Europe/Berlin
horizon: {start: 2024-07-22T08:00:00, end: 2024-07-22T18:00:00}
participants:
  alice: {available: [[2024-07-22T09:00:00, 2024-07-22T12:00:00]]}
  bob: {busy: [{start: 2024-07-22T13:00:00Z, end: 2024-07-22T15:00:00Z}]}
  carol: {}
meetings:
  - {id: m, duration_minutes: 60, invitees: [alice, bob, carol], min_participants: 2}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.render().splitlines()


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_scenarios_load(path: Path) -> None:
    s = load_scenario(path)
    assert s.meetings and s.participants


def test_naive_times_are_read_in_the_scenario_zone(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    assert s.horizon.start == datetime(2024, 7, 22, 6, tzinfo=UTC)  # 08:00 CEST
    free = s.availability("alice").declared_free_time()
    assert [iv.start for iv in free] == [datetime(2024, 7, 22, 7, tzinfo=UTC)]
    assert s.slot_minutes == 15 and compile_plan(s).meetings[0].required == 2 and s.meetings[0].title == "m"


def test_free_time_is_available_minus_busy_and_unbounded_when_neither_given(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, GOOD))
    bob = list(s.availability("bob").declared_free_time())
    assert len(bob) == 2 and bob[0].end == datetime(2024, 7, 22, 13, tzinfo=UTC)
    carol = s.availability("carol").declared_free_time()
    assert len(carol) == 1


def test_every_problem_reported_with_line_and_field(tmp_path: Path) -> None:
    bad = GOOD.replace("Europe/Berlin", "Mars/Olympus").replace("duration_minutes: 60", "duration_minutes: 0")
    bad = bad.replace("carol: {}", "carol: {colour: red}")
    lines = problems(write(tmp_path, bad))
    assert f"{tmp_path / 's.yaml'}:2: timezone: unknown IANA time zone 'Mars/Olympus'" in lines
    assert any(":7: participants.carol.colour: unknown field 'colour'" in line for line in lines)
    assert any(":9: meetings[0].duration_minutes: Input should be greater than 0" in line for line in lines)


def test_cross_field_rules(tmp_path: Path) -> None:
    bad = GOOD.replace("[alice, bob, carol], min_participants: 2", "[alice, bob, dave, bob], min_participants: 5")
    lines = problems(write(tmp_path, bad))
    assert any("meetings[0].invitees[2]: 'dave' is not listed under participants" in x for x in lines)
    assert any("meetings[0].invitees[3]: 'bob' is invited twice" in x for x in lines)
    assert any("meetings[0].min_participants: needs 5 participants but only 4 are invited" in x for x in lines)


def test_duplicate_keys_and_ids_are_errors(tmp_path: Path) -> None:
    dup = GOOD.replace("  carol: {}\n", "  carol: {}\n  alice: {}\n")
    assert any("participants.alice: duplicate key 'alice'" in x for x in problems(write(tmp_path, dup)))
    twice = GOOD + "  - {id: m, duration_minutes: 30, invitees: [alice]}\n"
    assert any("meetings[1].id: duplicate meeting id 'm'" in x for x in problems(write(tmp_path, twice)))


def test_window_shape_and_order(tmp_path: Path) -> None:
    bad = GOOD.replace("[[2024-07-22T09:00:00, 2024-07-22T12:00:00]]", "[[2024-07-22T12:00:00, 2024-07-22T09:00:00], [1]]")
    lines = problems(write(tmp_path, bad))
    assert any("participants.alice.available[0]: ends" in x for x in lines)
    assert any("participants.alice.available[1]: a window is [start, end]; got 1 item(s)" in x for x in lines)


def test_meeting_longer_than_horizon(tmp_path: Path) -> None:
    lines = problems(write(tmp_path, GOOD.replace("duration_minutes: 60", "duration_minutes: 601")))
    assert any("duration_minutes: 601 minutes do not fit in the 600-minute horizon" in x for x in lines)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    lines = problems(write(tmp_path, GOOD.replace("meetings:", "meetings: [")))
    assert lines[0].startswith(f"{tmp_path / 's.yaml'}:") and "not valid YAML" in lines[0]


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    assert "cannot read" in problems(tmp_path / "nope.yaml")[0]
    assert "expected a mapping" in problems(write(tmp_path, "- just\n- a list\n"))[0]


def test_availability_file(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("timezone: Asia/Tokyo\navailable: [[2024-07-22T09:00:00, 2024-07-22T17:00:00]]\n")
    (window,) = load_availability(path).declared_free_time()
    assert window.start == datetime(2024, 7, 22, 0, tzinfo=UTC)
    path.write_text("")
    assert len(load_availability(path).declared_free_time()) == 1


RECURRING = """\
name: r
timezone: UTC
horizon: {start: 2024-03-25T00:00:00Z, end: 2024-04-06T00:00:00Z}
participants:
  berlin:
    timezone: Europe/Berlin
    available:
      - rrule: FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
        start: 2024-03-25T09:00:00
        end: 2024-03-25T17:00:00
        exdate: [2024-03-27T09:00:00]
        rdate: [2024-03-30T10:00:00]
    busy:
      - {rrule: "FREQ=DAILY;COUNT=3", start: 2024-04-01T12:00:00, end: 2024-04-01T13:00:00}
meetings:
  - {id: m, duration_minutes: 60, invitees: [berlin]}
"""


def test_recurring_availability_is_dst_correct_with_exdate_and_rdate(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, RECURRING))
    free = list(s.availability("berlin").declared_free_time(s.horizon_interval))
    starts = [iv.start for iv in free]
    # Berlin is UTC+1 until 31 March, UTC+2 after: 09:00 local moves from 08:00 to 07:00 UTC.
    assert starts[0] == datetime(2024, 3, 25, 8, tzinfo=UTC)
    assert datetime(2024, 4, 1, 7, tzinfo=UTC) in starts
    assert not any(st.date() == date(2024, 3, 27) for st in starts)  # EXDATE
    assert datetime(2024, 3, 30, 9, tzinfo=UTC) in starts  # RDATE: Saturday 10:00 CET
    # The recurring busy hour splits Monday 1 April: 12:00-13:00 CEST is 10:00-11:00 UTC.
    monday = [iv for iv in free if iv.start.date() == date(2024, 4, 1)]
    assert [(iv.start.hour, iv.end.hour) for iv in monday] == [(7, 10), (11, 15)]


def test_invalid_rrule_is_a_scenario_error(tmp_path: Path) -> None:
    lines = problems(write(tmp_path, RECURRING.replace("FREQ=WEEKLY;", "FREQ=FORTNIGHTLY;")))
    assert any(":8: participants.berlin.available[0]: invalid RRULE 'FREQ=FORTNIGHTLY" in x for x in lines)


def test_availability_round_trips_through_the_agent_file_format(tmp_path: Path) -> None:
    """`slotwise run` hands each agent its availability as a file: nothing may be lost."""
    from slotwise.shared.scenario import Availability, dump_availability

    s = load_scenario(write(tmp_path, RECURRING))
    original = s.availability("berlin")
    path = tmp_path / "berlin.json"
    path.write_text(dump_availability(original))
    again = load_availability(path)
    assert again == original
    assert list(again.declared_free_time(s.horizon_interval)) == list(original.declared_free_time(s.horizon_interval))
    window = [["2024-07-22T09:00:00Z", "2024-07-22T10:00:00Z"]]
    assert isinstance(Availability.model_validate({"available": window}), Availability)


def test_a_relative_horizon_is_today_onwards_in_the_scenario_zone(tmp_path: Path) -> None:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from slotwise.shared.scenario.models import RelativeHorizon

    s = load_scenario(write(tmp_path, "name: x\ntimezone: Pacific/Auckland\nhorizon: {days: 14}\n"))
    today = datetime.now(ZoneInfo("Pacific/Auckland")).date()
    assert s.horizon.start == datetime.combine(today, datetime.min.time(), ZoneInfo("Pacific/Auckland"))
    assert s.horizon.end.date() == today + timedelta(days=14)  # 14 days of midnights, in its zone
    # Working days count Monday to Friday: from a Friday, three working days end on Wednesday.
    span = RelativeHorizon(days=3, working_days=True).resolve(ZoneInfo("UTC"), date(2026, 12, 4))
    assert span == {"start": "2026-12-04T00:00:00+00:00", "end": "2026-12-09T00:00:00+00:00",
                    "days": 3, "working_days": True}
    [said] = problems(write(tmp_path, "name: x\nhorizon: {days: 0}\n"))
    assert said.endswith("s.yaml:2: horizon: days: a whole number of days from 1 to 3660 (got 0)")


def test_a_misspelt_name_field_or_policy_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nhorizon: {days: 2}\nparticipants: {alice: {}, bob: {}}\npolicys: {}\n")
    assert problems(path)[0].endswith("s.yaml:4: policys: unknown field 'policys' (did you mean 'policies'?)")
    path = write(tmp_path, "name: x\nhorizon: {days: 2}\nparticipants: {alice: {}, bob: {}}\nmeetings:\n"
                           "  - {id: m, duration_minutes: 30, invitees: [alcie, zed]}\n")
    said = problems(path)
    assert said[0].endswith("'alcie' is not listed under participants (did you mean 'alice'?)")
    assert said[1].endswith("'zed' is not listed under participants (add `zed: {}` for someone free throughout the horizon)")
    from slotwise.coordinator.policies.registry import load_policy
    from slotwise.shared.errors import PolicyError

    with pytest.raises(PolicyError, match=r"unknown rule policy 'quorom' \(did you mean 'quorum'\?\)"):
        load_policy("rule", "quorom")


def test_every_mistake_of_a_file_is_reported_in_one_pass(tmp_path: Path) -> None:
    """A schema mistake, a name that is not a participant and a policy that does not exist:
    one `validate`, not three rounds of fixing and running again."""
    from slotwise.coordinator.plan import load_plan

    schema_and_name = write(tmp_path, GOOD.replace("min_participants: 2", "min_participants: 2}\n"
                                                   "  - {id: n, duration_minutes: -5, invitees: [alice, bobb]"))
    with pytest.raises(ScenarioError) as info:
        load_plan(schema_and_name)
    said = info.value.render()
    assert "meetings[1].duration_minutes" in said
    assert "s.yaml:10: meetings[1].invitees[1]: 'bobb' is not listed under participants (did you mean 'bob'?)" in said
    name_and_policy = write(tmp_path, GOOD.replace("invitees: [alice, bob, carol]", "invitees: [alice, bobb, carol]")
                            + "policies: {priority: priority-then-ordr}\n")
    with pytest.raises(ScenarioError) as info:
        load_plan(name_and_policy)
    said = info.value.render()
    assert "'bobb' is not listed under participants (did you mean 'bob'?)" in said
    assert "s.yaml:10: policies.priority: unknown priority policy 'priority-then-ordr' (did you mean " \
           "'priority-then-order'?)" in said
    assert said.count("priority-then-ordr") == 1  # said once, though two checks look at policies
