"""Who is still there: any message from a peer proves it alive (ZeroMQ Guide, ch. 4).

Pure and clock-free: the caller passes `now`, so tests move time by hand.
"""

from __future__ import annotations

from collections import OrderedDict


class Liveness:
    """Peers in the order last heard: with `now` never going back, the first is the next to
    expire, so hearing, expiring and the next deadline cost O(1) each, not O(peers)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._last: OrderedDict[str, float] = OrderedDict()

    def heard(self, who: str, now: float) -> None:
        last = self._last.get(who)
        self._last[who] = now if last is None else max(last, now)
        self._last.move_to_end(who)

    def forget(self, who: str | str) -> None:
        self._last.pop(who, None)

    def expired(self, now: float) -> list[str]:
        """Peers silent past the timeout, each reported once (then forgotten until heard again)."""
        gone: list[str] = []
        # Same expression as next_deadline(), so float rounding cannot leave a deadline unserved.
        while self._last:
            who, t = next(iter(self._last.items()))
            if now < t + self.timeout_s:
                break
            del self._last[who]
            gone.append(who)
        return gone

    def next_deadline(self) -> float | None:
        return next(iter(self._last.values())) + self.timeout_s if self._last else None
