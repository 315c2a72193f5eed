"""Endpoint forms and loopback detection."""

from __future__ import annotations

import pytest

from slotwise.shared.endpoints import Endpoints, is_loopback, parse_endpoints


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
