"""Policies chosen in a scenario, honoured by the negotiation (checked independently)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from slotwise.coordinator.plan import compile_plan
from slotwise.report.audit import audit
from slotwise.shared.decision import Decision
from slotwise.shared.ids import MeetingId
from slotwise.shared.scenario import Scenario
from tests.helpers import at, make_scenario
from tests.policy_checks import violations
from tests.unit.fakenet import FakeNetwork


def run(people: dict[str, Any], meetings: list[dict[str, Any]], **kw: Any) -> tuple[Scenario, dict[str, Decision]]:
    s = make_scenario(people, meetings, **kw)
    outcomes = FakeNetwork(s).run()
    assert audit(s, compile_plan(s), outcomes) == []
    placed = [(o.meeting_id, o.when.start, o.when.end, list(o.attendees)) for o in outcomes if o.when]
    assert violations(s, placed) == []
    return s, {o.id: o for o in outcomes}


def t(hour: float, day: int = 0) -> datetime:
    return datetime.fromisoformat(at(hour, day))


def test_required_attendee_waits_for_the_named_person() -> None:
    _, out = run({"alice": {"available": [[at(11), at(18)]]}, "b": {}, "c": {}},
                 [{"id": "m", "duration_minutes": 60, "invitees": ["alice", "b", "c"],
                   "rule": {"required": ["alice"], "min_participants": 2}}])
    assert out["m"].when.start == t(11) and "alice" in out["m"].attendees


def test_required_attendee_missing_everywhere_is_the_reason() -> None:
    _, out = run({"alice": {"available": []}, "b": {}, "c": {}},
                 [{"id": "m", "duration_minutes": 60, "invitees": ["alice", "b", "c"],
                   "rule": {"required-attendees": {"required": ["alice"], "min_participants": 2}}}])
    assert not out["m"].scheduled
    assert "without required alice" in out["m"].reason and "alice unavailable in all candidate slots" in out["m"].reason


def test_quorum_places_at_the_first_slot_with_enough() -> None:
    busy_until_10 = {"busy": [[at(8), at(10)]]}
    people = {"a": {}, "b": {}, "c": busy_until_10, "d": busy_until_10, "e": busy_until_10}
    _, out = run(people, [{"id": "m", "duration_minutes": 60, "invitees": list(people),
                           "rule": {"quorum": {"fraction": 0.6}}}])
    assert out["m"].when.start == t(10) and len(out["m"].attendees) == 5


def test_round_robin_spreads_a_host_pool() -> None:
    hosts = ["h1", "h2", "h3"]
    people = {h: {} for h in hosts} | {f"g{i}": {} for i in range(6)}
    meetings = [{"id": f"intro{i}", "duration_minutes": 30, "invitees": [*hosts, f"g{i}"],
                 "rule": {"roles": {"groups": {"host": {"members": hosts, "max": 1},
                                               "guest": {"members": [f"g{i}"]}}}}}
                for i in range(6)]
    _, out = run(people, meetings, policies={"slot_order": "max-fairness"})
    host_of = {m: next(a for a in o.attendees if a in hosts) for m, o in out.items()}
    assert Counter(host_of.values()) == {"h1": 2, "h2": 2, "h3": 2}
    assert [host_of[f"intro{i}"] for i in range(3)] == ["h1", "h2", "h3"]  # least booked, ties by name


def test_max_availability_prefers_the_fullest_slot() -> None:
    people = {"a": {}, "b": {"available": [[at(14), at(18)]]}, "c": {"available": [[at(14), at(18)]]}}
    _, out = run(people, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "c"], "min_participants": 1,
                           "slot_order": "max-availability"}])
    assert out["m"].when.start == t(14) and len(out["m"].attendees) == 3


def _contested() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # "flexible" could go anywhere; "narrow" fits only 09:00. Placed first, flexible takes 09:00.
    people = {"a": {"available": [[at(9), at(12)]]}, "b": {"available": [[at(9), at(10)]]}}
    return people, [
        {"id": "flexible", "duration_minutes": 60, "invitees": ["a"]},
        {"id": "narrow", "duration_minutes": 60, "invitees": ["a", "b"]},
    ]


def test_most_constrained_first_places_what_the_default_cannot() -> None:
    people, meetings = _contested()
    _, default = run(people, meetings)
    assert default["flexible"].scheduled and not default["narrow"].scheduled
    _, mcf = run(people, meetings, policies={"priority": "most-constrained-first"})
    assert mcf["narrow"].when.start == t(9) and mcf["flexible"].when.start == t(10)
    # Within a priority class only: a more important meeting still goes first, room or not.
    meetings[0]["priority"] = 1
    _, ranked = run(people, meetings, policies={"priority": "most-constrained-first"})
    assert ranked["flexible"].when.start == t(9) and not ranked["narrow"].scheduled


def test_earliest_deadline_first() -> None:
    people = {"a": {"available": [[at(9), at(10)]]}}
    meetings = [{"id": "later", "duration_minutes": 60, "invitees": ["a"], "priority": 5},
                {"id": "due", "duration_minutes": 60, "invitees": ["a"], "not_after": at(12)}]
    _, out = run(people, meetings, policies={"priority": "earliest-deadline-first"})
    assert out["due"].scheduled and not out["later"].scheduled


def test_working_hours_in_each_persons_zone() -> None:
    people = {"london": {"timezone": "Europe/London"}, "nyc": {"timezone": "America/New_York"}}
    _, out = run(people, [{"id": "m", "duration_minutes": 60, "invitees": ["london", "nyc"]}],
                 hours=(0, 24), policies={"constraints": ["working-hours"]})
    assert out["m"].when.start == t(13)  # 14:00 BST, 09:00 EDT


def test_working_hours_far_apart_fail_with_the_reason() -> None:
    people = {"tokyo": {"timezone": "Asia/Tokyo"}, "nyc": {"timezone": "America/New_York"}}
    _, out = run(people, [{"id": "m", "duration_minutes": 60, "invitees": ["tokyo", "nyc"]}],
                 hours=(0, 24), policies={"constraints": ["working-hours"]})
    assert not out["m"].scheduled and "outside working hours" in out["m"].reason


def test_min_gap_and_daily_cap() -> None:
    people = {"a": {}, "b": {}}
    meetings = [{"id": f"m{i}", "duration_minutes": 60, "invitees": ["a", "b"]} for i in range(3)]
    _, gap = run(people, meetings, policies={"constraints": [{"min-gap": {"minutes": 15}}]})
    assert [gap[f"m{i}"].when.start for i in range(3)] == [t(8), t(9.5), t(11)]
    _, cap = run(people, meetings, hours=(8, 24 + 18), policies={"constraints": [{"daily-cap": {"max_meetings": 2}}]})
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
    _, out = run({"a": {}}, [{"id": "m", "duration_minutes": 60, "invitees": ["a"],
                              "constraints": [{"time-of-day": {"earliest": "19:00"}}]}])
    assert out["m"].reason == "19 candidate slots excluded (outside 19:00-23:59: 19)"


def test_blackout_dates_move_the_meeting() -> None:
    _, out = run({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b"]}],
                 hours=(8, 24 + 18), policies={"constraints": [{"blackout-dates": {"dates": ["2024-07-22"], "people": ["b"]}}]})
    assert out["m"].when.start == t(24)


def _with_mute(on_silence: object, **kw: Any) -> tuple[FakeNetwork, Decision]:
    from slotwise.shared.wire.messages import AvailabilityResponse

    people = {"a": {}, "b": {}, "mute": {}}
    s = make_scenario(people, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "mute"]}],
                      policies={"on_silence": on_silence}, **kw)
    net = FakeNetwork(s, deliver=lambda snd, rcv, body: not (snd == "mute" and isinstance(body, AvailabilityResponse)))
    (o,) = net.run()
    return net, o


def test_silence_count_as_no_fails_an_all_hands() -> None:
    net, o = _with_mute("count-as-no")
    assert not o.scheduled and "mute did not answer" in o.reason
    assert net.now == 2.0  # one resend, two response timeouts


def test_silence_wait_asks_more_often() -> None:
    net, o = _with_mute({"wait": {"retries": 3}})
    from slotwise.shared.wire.messages import AvailabilityRequest

    assert sum(1 for _, r, b in net.sent if r == "mute" and isinstance(b, AvailabilityRequest)) == 4
    assert not o.scheduled and net.now == 4.0


def test_silence_drop_from_quorum_places_with_those_who_answered() -> None:
    _, o = _with_mute("drop-from-quorum")
    assert o.scheduled and o.attendees == ("a", "b")


def test_every_occurrence_of_a_recurring_meeting_is_placed_and_checked() -> None:
    # Mondays 22 Jul - 12 Aug. b is away on the third Monday; on the second, a one-off meeting
    # with higher priority takes 09:00, so that occurrence must move, not double-book.
    people = {"a": {"available": [[at(9 + 24 * 7 * w), at(12 + 24 * 7 * w)] for w in range(4)]},
              "b": {"busy": [[at(0, 14), at(24, 14)]]}}
    meetings = [
        {"id": "sync", "duration_minutes": 60, "invitees": ["a", "b"], "recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=4"},
        {"id": "one-off", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 5,
         "not_before": at(0, 7), "not_after": at(24, 7)},
    ]
    s, out = run(people, meetings, hours=(0, 24 * 22))
    plan = compile_plan(s)
    ids = [m.id for m in plan.meetings]
    assert ids == ["sync@2024-07-22", "sync@2024-07-29", "sync@2024-08-05", "sync@2024-08-12", "one-off"]
    assert all(m.series == "sync" for m in plan.meetings[:4])
    assert out["sync@2024-07-22"].when.start == t(9)
    assert out["one-off"].when.start == t(9, 7)
    assert out["sync@2024-07-29"].when.start == t(10, 7)  # moved past the one-off
    assert not out["sync@2024-08-05"].scheduled and "b unavailable in all candidate slots" in out["sync@2024-08-05"].reason
    assert out["sync@2024-08-12"].when.start == t(9, 21)


def test_recurrence_errors_point_at_what_was_written(tmp_path: Any) -> None:
    from slotwise.shared.errors import ScenarioError
    from slotwise.shared.scenario import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(
        "name: r\nhorizon: {start: 2024-07-22T08:00:00Z, end: 2024-07-29T18:00:00Z}\n"
        "participants: {a: {}}\nmeetings:\n"
        "  - {id: ok, duration_minutes: 30, invitees: [a], recurrence: 'FREQ=DAILY;COUNT=3'}\n"
        "  - {id: bad, duration_minutes: 30, invitees: [a], recurrence: 'FREQ=HOURLY;BYDAY=XX'}\n")
    import pytest

    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert f"{path}:6: meetings[1]: invalid recurrence 'FREQ=HOURLY;BYDAY=XX'" in info.value.render()


def test_explanations_are_snapshots_taken_at_decision_time() -> None:
    from slotwise.coordinator.negotiation import Negotiation
    from slotwise.coordinator.placement.reasons import runs

    people = {"a": {"available": [[at(9), at(11)]]}, "b": {}}
    s = make_scenario(people, [
        {"id": "first", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 1},
        {"id": "second", "duration_minutes": 60, "invitees": ["a", "b"],
         "constraints": [{"time-of-day": {"earliest": "09:00"}}]},
    ])
    net = FakeNetwork(s)
    net.core = Negotiation(compile_plan(s), explain=frozenset({MeetingId("first"), MeetingId("second")}))
    net.run()
    first = {r.when.start: r for r in net.explanations["first"]}
    assert first[t(9)].verdict == "chosen"  # not "booked in first": taken before booking
    second = net.explanations["second"]
    assert [r.verdict for r in second[:2]] == ["excluded", "excluded"]  # 08:00, 08:30
    by_start = {r.when.start: r for r in second}
    assert by_start[t(9)].missing == (("a", "booked in first"), ("b", "booked in first"))
    assert by_start[t(10)].verdict == "chosen"
    merged = runs(second)
    assert merged[0][2].verdict == "excluded" and merged[0][1].start == t(8.5)
