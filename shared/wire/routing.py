"""The routing frame: which of a connection's agents a message is for.

The coordinator sends `[recipients, message]` on a connection: the message encoded once, and
the names of the agents hosted there that should have it, separated by spaces (names never
contain one). An empty frame means every agent on the connection (heartbeats, Shutdown). So a
host carrying a thousand agents receives a decision for three of them once, not three times.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from slotwise.shared.errors import DecodeError
from slotwise.shared.ids import AgentId

EVERYONE = b""


def recipients_frame(names: Iterable[str] | None) -> bytes:
    """`None`: everyone on the connection."""
    return EVERYONE if names is None else " ".join(names).encode("ascii")


def parse_recipients(frame: bytes, hosted: Collection[AgentId]) -> list[AgentId]:
    """The hosted agents a frame names (all of them for an empty frame). Bounded before it is
    split: a frame longer than every hosted name together cannot be honest."""
    if frame == EVERYONE:
        return list(hosted)
    if len(frame) > 66 * len(hosted):
        raise DecodeError(f"a routing frame of {len(frame)} bytes for {len(hosted)} agent(s)")
    try:
        names = frame.decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise DecodeError("a routing frame that is not ASCII") from None
    mine = [AgentId(n) for n in names if n in hosted]
    if not mine:
        raise DecodeError("a routing frame naming no agent hosted here")
    return mine
