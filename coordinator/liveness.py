"""Who is still there: any message from a peer proves it alive (ZeroMQ Guide, ch. 4).

Pure and clock-free: the caller passes `now`, so tests move time by hand.
"""

from __future__ import annotations

from slotwise.shared.ids import AgentId


class Liveness:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._last: dict[AgentId, float] = {}

    def heard(self, who: AgentId, now: float) -> None:
        self._last[who] = now

    def expired(self, now: float) -> list[AgentId]:
        """Peers silent past the timeout, each reported once (then forgotten until heard again)."""
        # Same expression as next_deadline(), so float rounding cannot leave a deadline unserved.
        gone = [who for who, t in self._last.items() if now >= t + self.timeout_s]
        for who in gone:
            del self._last[who]
        return gone

    def next_deadline(self) -> float | None:
        return min(self._last.values()) + self.timeout_s if self._last else None
