"""Crash safety in the cores: journal, resume, rejoin, duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.coordinator.journal import Journal, read_journal
from slotwise.coordinator.negotiation import Negotiation
from slotwise.coordinator.plan import compile_plan
from slotwise.report.audit import audit
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.messages import AvailabilityRequest, MeetingScheduled
from tests.helpers import make_scenario
from tests.unit.fakenet import FakeNetwork

S = make_scenario({"a": {}, "b": {}, "c": {}}, [
    {"id": "m1", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 2},
    {"id": "m2", "duration_minutes": 60, "invitees": ["b", "c"], "priority": 1},
    {"id": "m3", "duration_minutes": 60, "invitees": ["a", "c"], "min_participants": 3 - 1},
])


def test_journal_round_trip_and_torn_last_line(tmp_path: Path) -> None:
    outcomes = FakeNetwork(S).run()
    path = tmp_path / "j.jsonl"
    journal = Journal(path, S.name)
    for o in outcomes:
        journal.record(o)
    journal.close()
    assert read_journal(path, S.name) == outcomes
    with path.open("a") as f:
        f.write('{"meeting": "m4", "sched')  # the crash came mid-write
    assert read_journal(path, S.name) == outcomes
    with pytest.raises(ValueError, match="journal of scenario 'test', not 'other'"):
        read_journal(path, "other")


def test_resumed_decisions_stand_and_are_not_asked_again() -> None:
    first = FakeNetwork(S).run()
    kept = [o for o in first if o.meeting_id == "m1"]
    net = FakeNetwork(S)
    net.core = Negotiation(compile_plan(S), decided=kept)
    outcomes = net.run()
    asked = {b.meeting_id for _, _, b in net.sent if isinstance(b, AvailabilityRequest)}
    assert asked == {"m2", "m3"}
    assert [o for o in outcomes if o.meeting_id == "m1"] == kept
    told = [(r, b.meeting_id) for _, r, b in net.sent if isinstance(b, MeetingScheduled)]
    assert ("a", "m1") in told  # the resumed decision is announced again
    assert audit(S, compile_plan(S), outcomes) == []


def test_restarted_agent_is_told_the_meetings_it_holds() -> None:
    net = FakeNetwork(S)
    restarted: list[object] = []

    def deliver(snd: AgentId, rcv: AgentId, body: object) -> bool:
        # The moment m1 is announced, "a" dies and a fresh "a" (no memory) starts.
        if isinstance(body, MeetingScheduled) and body.meeting_id == "m1" and not restarted:
            net.kill(AgentId("a"))
            restarted.append(net.start_agent(AgentId("a")))
            return False
        return True

    net.deliver = deliver
    outcomes = {o.id: o for o in net.run()}
    assert restarted and outcomes["m1"].scheduled and "a" in outcomes["m1"].attendees
    fresh = restarted[0]
    assert "m1" in fresh.calendar.accepted  # type: ignore[attr-defined]
    assert fresh.calendar.accepted["m1"].when == outcomes["m1"].when  # type: ignore[attr-defined]
