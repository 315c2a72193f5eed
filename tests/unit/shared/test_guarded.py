"""A bug in a core stops it for good: every later call says so, and `describe` shows where."""

from __future__ import annotations

import pytest

from slotwise.coordinator.negotiation import Phase
from slotwise.shared.errors import CoreError
from tests.helpers import make_scenario
from tests.unit.fakenet import FakeNetwork


def test_a_bug_in_the_core_stops_it_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_scenario({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}])
    net = FakeNetwork(s)

    def broken(*args: object) -> None:
        raise AssertionError("a would be double-booked")

    monkeypatch.setattr(net.core.ledger, "book", broken)
    with pytest.raises(CoreError, match="double-booked"):
        net.run()
    assert net.core.phase is Phase.ERROR
    with pytest.raises(CoreError, match="stopped after an internal error"):
        net.core.tick(net.now + 1)
    assert "ERROR" in net.core.describe() and "HOLDING" in net.core.describe()
