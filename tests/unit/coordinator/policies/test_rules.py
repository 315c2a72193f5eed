"""Rules (minimum, required attendees, quorum, roles): which answers satisfy them, and how they
place meetings through the negotiation core."""

from __future__ import annotations

from slotwise.coordinator.policies.rules import MinParticipants, Quorum, RequiredAttendees, Roles
from slotwise.shared.ids import AgentId
from tests.helpers import at, spec
from tests.unit.coordinator.policies.views import M_FIELDS, A
from tests.unit.fakenet import run_audited, t


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






def test_required_attendee_waits_for_the_named_person() -> None:
    _, out = run_audited({"alice": {"available": [[at(11), at(18)]]}, "b": {}, "c": {}},
                 [{"id": "m", "duration_minutes": 60, "invitees": ["alice", "b", "c"],
                   "rule": {"required": ["alice"], "min_participants": 2}}])
    assert out["m"].when.start == t(11) and "alice" in out["m"].attendees


def test_required_attendee_missing_everywhere_is_the_reason() -> None:
    _, out = run_audited({"alice": {"available": []}, "b": {}, "c": {}},
                 [{"id": "m", "duration_minutes": 60, "invitees": ["alice", "b", "c"],
                   "rule": {"required-attendees": {"required": ["alice"], "min_participants": 2}}}])
    assert not out["m"].scheduled
    assert "without required alice" in out["m"].reason and "alice unavailable in all candidate slots" in out["m"].reason


def test_quorum_places_at_the_first_slot_with_enough() -> None:
    busy_until_10 = {"busy": [[at(8), at(10)]]}
    people = {"a": {}, "b": {}, "c": busy_until_10, "d": busy_until_10, "e": busy_until_10}
    _, out = run_audited(people, [{"id": "m", "duration_minutes": 60, "invitees": list(people),
                           "rule": {"quorum": {"fraction": 0.6}}}])
    assert out["m"].when.start == t(10) and len(out["m"].attendees) == 5
