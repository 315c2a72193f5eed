"""The agent shell: any frames are dropped or handled, never raised; a SIGTERM mid-message still
stops it."""

from __future__ import annotations

import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.participant import agent as agent_shell
from slotwise.participant.calendar import Calendar
from slotwise.participant.responder import Responder
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.slots import FreeTime
from slotwise.shared.wire.codec import Encoder
from slotwise.shared.wire.messages import (
    Heartbeat,
    Welcome,
)
from tests.helpers import socketless_shell


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


@settings()
@given(st.lists(st.binary(max_size=300), min_size=0, max_size=4))
def test_agent_shell_handles_any_frames_without_raising(frames: list[bytes]) -> None:
    from slotwise.participant.calendar import Calendar
    from slotwise.participant.responder import Responder
    from slotwise.shared.slots import FreeTime

    shell = socketless_shell(Responder(AgentId("a"), Calendar(FreeTime([])), 30))
    assert shell._handle(frames) is None
    assert 1 <= shell.dropped <= max(1, len(frames) // 2)  # each pair counted and logged as a drop, never raised
