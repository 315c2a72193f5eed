"""The admission gate: a replayed Hello is dropped before it can rebind a name."""

from __future__ import annotations

import pytest

from slotwise.coordinator.negotiation import Negotiation
from slotwise.coordinator.plan import compile_plan
from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.codec import Encoder
from slotwise.shared.wire.gate import Gate
from slotwise.shared.wire.messages import Hello
from tests.helpers import make_scenario


def test_a_replayed_hello_is_dropped_before_it_can_rebind() -> None:
    s = make_scenario({"a": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a"]}])
    plan = compile_plan(s)
    core, gate = Negotiation(plan), Gate(plan.participants)
    core.start(0.0)
    alice = Encoder(AgentId("a"))
    frame = alice.encode(Hello(name="a"))
    core.receive(gate.admit(frame, "a"), 0.0)
    assert gate.guard.session(AgentId("a")) == alice.session
    with pytest.raises(ProtocolError, match="duplicate or replayed"):
        gate.admit(frame, "a")
