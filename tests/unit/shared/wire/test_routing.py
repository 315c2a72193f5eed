"""Routing frames name only hosted agents and are bounded."""

from __future__ import annotations

import pytest

from slotwise.shared.errors import DecodeError
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.routing import parse_recipients, recipients_frame


def test_routing_frames_name_only_hosted_agents_and_are_bounded() -> None:
    hosted = [AgentId("a"), AgentId("b")]
    assert parse_recipients(recipients_frame(None), hosted) == hosted
    assert parse_recipients(recipients_frame(["b", "zed"]), hosted) == ["b"]
    for bad in (b"zed", b"\xff\xfe", b"a " * 200):
        with pytest.raises(DecodeError):
            parse_recipients(bad, hosted)
