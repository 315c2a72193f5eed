"""The booking ledger: conflicts in whole minutes agree with intervals."""

from __future__ import annotations

from datetime import datetime

import pytest

from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval
from tests.helpers import at, make_scenario

S = make_scenario({"a": {"available": [[at(9), at(12)]]}, "b": {}, "c": {}}, [
    {"id": "x", "duration_minutes": 60, "invitees": ["a", "b"]},
    {"id": "y", "duration_minutes": 60, "invitees": ["b", "c"]},
])


def test_ledger_conflicts_in_minutes_match_intervals() -> None:
    from slotwise.coordinator.placement.ledger import Ledger

    ledger = Ledger(S.grid)
    when = Interval(datetime.fromisoformat(at(9)), datetime.fromisoformat(at(10)))
    ledger.book(MeetingId("x"), when, [AgentId("a")])
    assert ledger.conflict(AgentId("a"), Interval(datetime.fromisoformat(at(9.5)), datetime.fromisoformat(at(11)))) == "x"
    assert ledger.conflict(AgentId("a"), Interval(datetime.fromisoformat(at(10)), datetime.fromisoformat(at(11)))) is None
    assert ledger.conflict(AgentId("b"), when) is None
    with pytest.raises(AssertionError, match="double-booked"):
        ledger.book(MeetingId("y"), when, [AgentId("a")])
