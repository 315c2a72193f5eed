"""Slot orders: their keys on their own, then fairness across a host pool and the fullest slot
through the negotiation core."""

from __future__ import annotations

from collections import Counter

from slotwise.coordinator.policies.base import MeetingFacts
from slotwise.coordinator.policies.registry import load_policy
from tests.helpers import at
from tests.unit.coordinator.policies.views import A, M
from tests.unit.fakenet import run_audited, t


def test_slot_order_keys() -> None:
    facts = MeetingFacts(M, 0, [0, 1, 2], free_at=[A[:1], A[:3], A[:3]],
                         chosen_at=[A[:1], A[:2], A[2:4]], load={A[0]: 3, A[1]: 1})
    for name, expected in [("earliest", [0, 1, 2]), ("max-availability", [1, 2, 0]), ("max-fairness", [2, 0, 1])]:
        p = load_policy("slot_order", name)
        assert sorted(range(3), key=lambda i: p.key(facts, i)) == expected, name






def test_round_robin_spreads_a_host_pool() -> None:
    hosts = ["h1", "h2", "h3"]
    people = {h: {} for h in hosts} | {f"g{i}": {} for i in range(6)}
    meetings = [{"id": f"intro{i}", "duration_minutes": 30, "invitees": [*hosts, f"g{i}"],
                 "rule": {"roles": {"groups": {"host": {"members": hosts, "max": 1},
                                               "guest": {"members": [f"g{i}"]}}}}}
                for i in range(6)]
    _, out = run_audited(people, meetings, policies={"slot_order": "max-fairness"})
    host_of = {m: next(a for a in o.attendees if a in hosts) for m, o in out.items()}
    assert Counter(host_of.values()) == {"h1": 2, "h2": 2, "h3": 2}
    assert [host_of[f"intro{i}"] for i in range(3)] == ["h1", "h2", "h3"]  # least booked, ties by name


def test_max_availability_prefers_the_fullest_slot() -> None:
    people = {"a": {}, "b": {"available": [[at(14), at(18)]]}, "c": {"available": [[at(14), at(18)]]}}
    _, out = run_audited(people, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "c"], "min_participants": 1,
                           "slot_order": "max-availability"}])
    assert out["m"].when.start == t(14) and len(out["m"].attendees) == 3
