"""PUB/SUB topics: one for everyone, one per agent.

An agent's topic ends with "/", which names cannot contain, so subscribing to "to:al/" can never
match messages for "alice".
"""

from __future__ import annotations

BROADCAST_TOPIC = b"all"


def topic_for(agent: str) -> bytes:
    return f"to:{agent}/".encode()
