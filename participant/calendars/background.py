"""Calendar reads off the agent's loop, each with a total wall-clock bound.

An agent answers the coordinator from its calendars as last read; reading them again (a CalDAV
REPORT, a feed's GET) happens on a thread of its own, one read at a time per calendar. A server
that answers slowly, or a byte at a time (each read within the per-request timeout, the whole
never ending), costs the agent nothing on its loop: past READ_BUDGET_S the read counts as
failed (the calendar's `on_calendar_error` decides what that means) and no other read of that
calendar starts until the stuck one returns, so a stuck server costs one thread, not one per poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slotwise.shared.errors import CalendarError

READ_BUDGET_S = 30.0  # one whole read of one calendar, however the server dribbles it


@dataclass
class Outcome:
    """What the last finished read gave: whether anything changed, or why it failed."""

    changed: bool = False
    error: CalendarError | None = None


class BackgroundRead:
    def __init__(self, name: str, budget_s: float = READ_BUDGET_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.budget_s = budget_s
        self.clock = clock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started_at = 0.0
        self._finished: Outcome | None = None  # not yet collected
        self._said_overdue = False  # the running read's overdue outcome was handed out

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def overdue(self) -> bool:
        """A read still running past its budget: count the calendar as failed meanwhile."""
        return self.running and self.clock() - self._started_at > self.budget_s

    def start(self, read: Callable[[], bool]) -> bool:
        """Run `read` (True: something changed) on its own thread, unless one is running."""
        if self.running:
            return False
        self._started_at = self.clock()
        self._said_overdue = False

        def run() -> None:
            try:
                outcome = Outcome(changed=read())
            except CalendarError as exc:
                outcome = Outcome(error=exc)
            except Exception as exc:  # a library's own failure is the server's or the data's
                outcome = Outcome(error=CalendarError(f"{self.name}: {type(exc).__name__}: {str(exc)[:200]}"))
            with self._lock:
                self._finished = outcome

        self._thread = threading.Thread(target=run, name=f"calendar-read {self.name}", daemon=True)
        self._thread.start()
        return True

    def collect(self) -> Outcome | None:
        """The outcome of the read that finished since the last call, if any."""
        with self._lock:
            done, self._finished = self._finished, None
        return done

    def poll(self, due: bool, read: Callable[[], bool], wait_s: float = 0.0) -> Outcome | None:
        """Start `read` when `due` (and none is running); then the outcome of a read that has
        finished, or, once per read, a failure for one still running past its budget; None when
        there is nothing new (`wait_s`: wait that long for it, for tests and start-up)."""
        if due:
            self.start(read)
        done = self.wait(wait_s) if wait_s > 0 else self.collect()
        if done is None and self.overdue and not self._said_overdue:
            self._said_overdue = True
            return Outcome(error=CalendarError(f"{self.name}: no complete answer after {self.budget_s:g}s"))
        return done

    def wait(self, timeout_s: float) -> Outcome | None:
        """Block up to `timeout_s` for the running read (start-up only: before the loop runs)."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.collect()


def bounded(name: str, read: Callable[[], object], budget_s: float = READ_BUDGET_S) -> None:
    """Run a start-up read (log in, first fetch) within `budget_s` in all, or raise CalendarError:
    a server that accepts the connection and then dribbles cannot hold an agent's start forever."""
    box: list[BaseException] = []

    def run() -> None:
        try:
            read()
        except BaseException as exc:  # re-raised on the caller's thread
            box.append(exc)

    thread = threading.Thread(target=run, name=f"calendar-open {name}", daemon=True)
    thread.start()
    thread.join(budget_s)
    if thread.is_alive():
        raise CalendarError(f"{name}: no complete answer within {budget_s:g}s (the server is too slow)")
    if box:
        raise box[0]
