"""CURVE keys bound to names: a host key speaks for its names and no one else."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.shared.errors import DecodeError, KeysError
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.keys import ClientKeys, ServerKeys, generate, host_names
from slotwise.shared.wire.codec import Encoder, decode
from slotwise.shared.wire.messages import Heartbeat


def test_a_host_key_speaks_for_its_names_and_no_one_else(tmp_path: Path) -> None:
    generate(tmp_path, COORDINATOR)
    generate(tmp_path, "carol")
    public, _ = generate(tmp_path, "h1", host_for=["alice", "bob"])
    assert host_names(public) == {"alice", "bob"}
    ClientKeys.load_host(tmp_path, "h1")  # the host's own secret loads
    server = ServerKeys.load(tmp_path)
    assert server.speaks_for("h1") == {"alice", "bob"} and server.speaks_for("carol") == {"carol"}
    server.require(["alice", "bob", "carol"])
    with pytest.raises(KeysError, match="no public key for dave"):
        server.require(["alice", "dave"])
    frame = Encoder(AgentId("alice")).encode(Heartbeat())
    assert decode(frame, sender="h1", speaks_for=server.speaks_for("h1")).sender == "alice"
    with pytest.raises(DecodeError, match="key belongs to 'h1'"):
        decode(Encoder(AgentId("carol")).encode(Heartbeat()), sender="h1", speaks_for=server.speaks_for("h1"))
    with pytest.raises(KeysError):
        generate(tmp_path, "h2", host_for=["ok", "not a name"])


def test_two_host_keys_listing_one_agent_do_not_share_it(tmp_path: Path) -> None:
    generate(tmp_path, COORDINATOR)
    generate(tmp_path, "carol")
    generate(tmp_path, "h1", host_for=["alice", "bob"])
    generate(tmp_path, "h2", host_for=["bob", "carol", "dave"])  # bob is h1's, carol has her own key
    server = ServerKeys.load(tmp_path)
    assert server.speaks_for("h1") == {"alice", "bob"}
    assert server.speaks_for("h2") == {"dave"}  # the second key does not take bob or carol over
    assert sorted(server.contested) == [("bob", "h1", "h2"), ("carol", "carol", "h2")]
    with pytest.raises(DecodeError, match="key belongs to 'h2'"):
        decode(Encoder(AgentId("bob")).encode(Heartbeat()), sender="h2", speaks_for=server.speaks_for("h2"))
