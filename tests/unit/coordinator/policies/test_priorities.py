"""Priorities: their keys on their own, then the order they give a contested week through the
negotiation core."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slotwise.coordinator.policies.base import MeetingFacts
from slotwise.coordinator.policies.registry import load_policy
from tests.helpers import at, spec
from tests.unit.fakenet import run_audited, t


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






def _contested() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # "flexible" could go anywhere; "narrow" fits only 09:00. Placed first, flexible takes 09:00.
    people = {"a": {"available": [[at(9), at(12)]]}, "b": {"available": [[at(9), at(10)]]}}
    return people, [
        {"id": "flexible", "duration_minutes": 60, "invitees": ["a"]},
        {"id": "narrow", "duration_minutes": 60, "invitees": ["a", "b"]},
    ]


def test_most_constrained_first_places_what_the_default_cannot() -> None:
    people, meetings = _contested()
    _, default = run_audited(people, meetings)
    assert default["flexible"].scheduled and not default["narrow"].scheduled
    _, mcf = run_audited(people, meetings, policies={"priority": "most-constrained-first"})
    assert mcf["narrow"].when.start == t(9) and mcf["flexible"].when.start == t(10)
    # Within a priority class only: a more important meeting still goes first, room or not.
    meetings[0]["priority"] = 1
    _, ranked = run_audited(people, meetings, policies={"priority": "most-constrained-first"})
    assert ranked["flexible"].when.start == t(9) and not ranked["narrow"].scheduled


def test_earliest_deadline_first() -> None:
    people = {"a": {"available": [[at(9), at(10)]]}}
    meetings = [{"id": "later", "duration_minutes": 60, "invitees": ["a"], "priority": 5},
                {"id": "due", "duration_minutes": 60, "invitees": ["a"], "not_after": at(12)}]
    _, out = run_audited(people, meetings, policies={"priority": "earliest-deadline-first"})
    assert out["due"].scheduled and not out["later"].scheduled
