"""The shells' own promises: a failed send is seen and not counted, a SIGTERM cannot be
swallowed, and joining reports its progress."""

from __future__ import annotations

import signal

import pytest
from loguru import logger

from slotwise.coordinator.negotiation import Joined, Negotiation
from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.service import CoordinatorService
from slotwise.participant import agent as agent_shell
from slotwise.participant.calendar import Calendar
from slotwise.participant.responder import Responder
from slotwise.shared.endpoints import parse_endpoints
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.slots import FreeTime
from slotwise.shared.wire.codec import Encoder
from slotwise.shared.wire.gate import Gate
from slotwise.shared.wire.messages import Heartbeat, Hello, Ready, Release, Welcome
from tests.helpers import make_scenario, socketless_shell

S = make_scenario({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}])


def test_a_send_to_a_vanished_peer_is_seen_and_not_counted(tmp_path: object) -> None:
    service = CoordinatorService(compile_plan(S), parse_endpoints("tcp://127.0.0.1:*"))
    try:
        service.bind()
        # "a" said Hello over a connection that no longer exists.
        service.gate.admit(Encoder(AgentId("a")).encode(Hello(name="a")), b"\x00gone".hex())
        lines: list[str] = []
        sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
        try:
            service.transport.publish(Release(meeting_id="m", round=1), (AgentId("a"),))
            service.transport.flush()  # sends go out together, at the end of each wake-up
        finally:
            logger.remove(sink)
        assert service.stats.sent == 0
        assert any("Release to a not sent" in line for line in lines), lines
    finally:
        service.close()


def test_a_sigterm_while_a_message_is_handled_still_stops_the_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    shell = socketless_shell(Responder(AgentId("a"), Calendar(FreeTime([])), 30))

    def signalled(*args: object, **kwargs: object) -> list[object]:
        agent_shell._raise_stopped(signal.SIGTERM, None)  # the handler runs mid-message
        return []

    coordinator = Encoder(COORDINATOR)
    shell._handle([b"a", coordinator.encode(Welcome(name="a", heartbeat_s=1.0))])  # welcomed: messages are for it
    monkeypatch.setattr(shell.responder, "receive", signalled)
    frame = coordinator.encode(Heartbeat())
    with pytest.raises(agent_shell._Stopped):
        shell._handle([b"a", frame])


def test_joining_reports_each_agent_ready() -> None:
    plan = compile_plan(S)
    core, gate = Negotiation(plan), Gate(plan.participants)
    core.start(0.0)
    counts = []
    for name in ("a", "b"):
        codec = Encoder(AgentId(name))
        core.receive(gate.admit(codec.encode(Hello(name=name)), name), 0.1)
        actions = core.receive(gate.admit(codec.encode(Ready()), name), 0.2)
        counts += [a.ready for a in actions if isinstance(a, Joined)]
    assert counts == [1, 2]
