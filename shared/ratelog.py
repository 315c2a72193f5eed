"""Report a recurring fault once per key per interval, with a count of what was held back.

A peer that sends garbage 1,000 times a second must not write 1,000 log lines a second: the
log is for people, and a flood of it is itself a denial of service.
"""

from __future__ import annotations

MAX_KEYS = 10_000  # peers remembered; past that the table starts again (reports come early, once)


class RateLimitedLog:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last: dict[str, tuple[float, int]] = {}  # key -> (last report, held back since)

    def allow(self, key: str, now: float) -> int | None:
        """None: stay quiet. Otherwise report now; the number is how many were held back."""
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval_s:
            self._last[key] = (last[0], last[1] + 1)
            return None
        if len(self._last) >= MAX_KEYS:
            self._last.clear()
        self._last[key] = (now, 0)
        return last[1] if last is not None else 0
