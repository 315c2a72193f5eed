from __future__ import annotations

from datetime import datetime

import pytest

from slotwise.coordinator.plan import compile_plan
from slotwise.report.audit import audit
from slotwise.shared.decision import Decision
from slotwise.shared.endpoints import Endpoints, is_loopback, parse_endpoints
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval
from tests.helpers import at, make_scenario

S = make_scenario({"a": {"available": [[at(9), at(12)]]}, "b": {}, "c": {}}, [
    {"id": "x", "duration_minutes": 60, "invitees": ["a", "b"]},
    {"id": "y", "duration_minutes": 60, "invitees": ["b", "c"]},
])


def placed(mid: str, start: float, *who: str) -> Decision:
    when = Interval(datetime.fromisoformat(at(start)), datetime.fromisoformat(at(start + 1)))
    return Decision.placed(MeetingId(mid), when, tuple(AgentId(w) for w in who), 2)


def test_a_sound_schedule_passes() -> None:
    assert audit(S, compile_plan(S), [placed("x", 9, "a", "b"), placed("y", 10, "b", "c")]) == []


@pytest.mark.parametrize("outcomes, problem", [
    ([placed("x", 9, "a", "b"), placed("y", 9, "b", "c")], "b is double-booked: y overlaps x"),
    ([placed("x", 13, "a", "b"), placed("y", 10, "b", "c")], "x: a is not free then"),
    ([placed("x", 9, "a"), placed("y", 10, "b", "c")], "x breaks its rule: had 1 of 2 required (a)"),
    ([placed("x", 9, "a", "b"), placed("y", 10, "b", "a")], "y: a was not invited"),
    ([placed("x", 9, "a", "b")], "y was never decided"),
    ([placed("x", 9, "a", "b"), Decision(id="y", scheduled=False, round_trips=1)], "y was not placed and gives no reason"),
])
def test_each_broken_rule_is_caught(outcomes: list[Decision], problem: str) -> None:
    assert problem in audit(S, compile_plan(S), outcomes)


def test_endpoint_forms() -> None:
    assert parse_endpoints("tcp://10.0.0.5:7340") == Endpoints("tcp://10.0.0.5:7340")
    assert parse_endpoints("ipc:///tmp/x") == Endpoints("ipc:///tmp/x")
    # The two-address form of protocol 2 (BROADCAST,REPLY) still parses: its reply socket is the one.
    assert parse_endpoints("tcp://h:1,tcp://h:9") == Endpoints("tcp://h:9")
    assert str(parse_endpoints("tcp://h:1,tcp://h:9")) == "tcp://h:9"
    for bad in ("udp://x:1", "tcp://x", "tcp://x:99999", "ipc://", "tcp://h:1,udp://h:2"):
        with pytest.raises(ValueError):
            parse_endpoints(bad)


def test_loopback_detection() -> None:
    assert is_loopback(parse_endpoints("tcp://127.0.0.1:7340"))
    assert is_loopback(parse_endpoints("tcp://localhost:7340"))
    assert is_loopback(parse_endpoints("ipc:///tmp/s"))
    assert not is_loopback(parse_endpoints("tcp://0.0.0.0:7340"))
    assert not is_loopback(parse_endpoints("tcp://192.0.2.1:7340"))


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
