"""The one loop around a negotiation core: poll, drain, tick, perform, flush.

Both shells run it: `coordinator` (a batch run, until the core is done) and `serve` (until
stopped, with the admin socket beside the agents'). The core decides; this loop only carries
its messages in and its actions out, and keeps time. A peer's fault is the transport's to drop;
a CoreError is our bug: the core's state is logged and the error raised, so the process stops
loudly instead of negotiating on half-changed state.

The solver is the one slow thing a core asks for (`Solve`). A batch run solves inline (nothing
else is waiting); `serve` solves in a worker thread and takes the answer on a later turn, so the
admin socket and the agents are served meanwhile (CP-SAT releases the GIL while it searches).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.asyncio

from slotwise.coordinator.negotiation import (
    Action,
    Cancelled,
    Decided,
    Lost,
    MoveFailed,
    Negotiation,
    Notice,
    Publish,
    Solve,
    Started,
)
from slotwise.coordinator.placement.problem import Placement, Problem
from slotwise.coordinator.placement.solver import solve
from slotwise.coordinator.transport import AgentTransport
from slotwise.shared.errors import CoreError
from slotwise.shared.wire.gate import Admitted

IDLE_WAKE_S = 1.0  # with nothing due, wake at least this often (a stop, a caller's deadline)

Solver = Callable[[Problem, float, Callable[[], float]], Placement]
"""solve(problem, budget_s, clock): the placement module's, or a test's."""


@dataclass(frozen=True)
class Source:
    """Another socket the loop polls (the admin socket): `ready` reads what it can."""

    socket: zmq.asyncio.Socket
    ready: Callable[[], None]


class CoreLoop:
    def __init__(self, transport: AgentTransport, core: Negotiation, *,
                 observe: Callable[[Action], None] | None = None,
                 shown: Callable[[Action], None] | None = None,
                 solver: Solver = solve, solve_aside: bool = False) -> None:
        """`observe` sees each action before it is performed: a store or journal commits a
        decision there, before any agent hears of it; `shown` sees it after (a test's or the
        harness's eye). With `solve_aside`, solves run in a worker thread (see the module's
        docstring)."""
        self.transport = transport
        self.core = core
        self.log = transport.log
        self._observe = observe or _nothing
        self._shown = shown or _nothing
        self._solver = solver
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="solver") if solve_aside else None
        self._solving: dict[asyncio.Future[Placement], int] = {}
        self.joined_at: float | None = None  # when negotiation began (the first request)
        self.lost = 0  # agents declared lost, counted for the run's stats

    def perform(self, actions: Iterable[Action]) -> None:
        for action in actions:
            self._observe(action)
            if isinstance(action, Publish):
                self.transport.publish(action.body, action.to)
            elif isinstance(action, Solve):
                self._solve(action)
            else:
                self._report(action)
            self._shown(action)

    def _report(self, action: Action) -> None:
        log = self.log
        if isinstance(action, Started):
            self.joined_at = time.monotonic()  # negotiation is timed from the first request
            log.info("negotiating with {} agent(s); missing: {}", len(action.joined), ", ".join(action.missing) or "none")
        elif isinstance(action, Lost):
            self.lost += 1
            log.warning("agent {} stopped responding", action.agent)
        elif isinstance(action, Notice):
            (log.warning if action.warning else log.info)("{}", action.text)
        elif isinstance(action, MoveFailed):
            log.info("could not move {}: {} (it stays where it was)", action.decision.id, action.reason)
        elif isinstance(action, Cancelled):
            log.info("cancelled {}", action.meeting_id)
        elif isinstance(action, Decided):
            d = action.decision
            if d.scheduled:
                log.info("scheduled {} at {} with {}", d.id, d.start.isoformat() if d.start else None,
                         ", ".join(d.participants))
            else:
                log.info("could not place {}: {}", d.id, d.reason)

    def _solve(self, action: Solve) -> None:
        if self._pool is None:  # a batch run waits for it
            placement = self._solver(action.problem, action.budget_s, time.monotonic)
            self.perform(self.core.solved(action.ticket, placement, time.monotonic()))
            return
        future = asyncio.get_running_loop().run_in_executor(
            self._pool, self._solver, action.problem, action.budget_s, time.monotonic)
        self._solving[future] = action.ticket

    def deliver(self, admitted: Admitted) -> None:
        self.perform(self.core.receive(admitted, time.monotonic()))

    @property
    def solving(self) -> int:
        """Solves still running aside."""
        return len(self._solving)

    async def run(self, *, stop: asyncio.Event | None = None, sources: Sequence[Source] = (),
                  settle: Callable[[float], None] | None = None,
                  watch: Callable[[float], None] | None = None,
                  deadlines: Callable[[], Iterable[float]] = tuple) -> None:
        """Until the core is done (a batch run) or `stop` is set. `watch(now)` runs before each
        turn's tick (what the caller knows that the tick should hear of first: its launched
        processes), `settle(now)` after it (the service answers its clients there);
        `deadlines()` adds the caller's."""
        try:
            while not self.core.done and not (stop is not None and stop.is_set()):
                due = [t for t in (self.core.next_deadline(), *deadlines()) if t is not None]
                wait_s = min(IDLE_WAKE_S, max(0.0, min(due) - time.monotonic())) if due else IDLE_WAKE_S
                ready = await self._wait(wait_s, stop, sources)
                if ready is None:
                    break
                backlog = self.transport.drain(self.deliver) if self.transport.router in ready else False
                for source in sources:
                    if source.socket in ready:
                        source.ready()
                self._take_solutions()
                now = time.monotonic()
                if watch is not None:
                    watch(now)
                self.perform(self.core.tick(now, backlog=self.transport.behind(backlog)))
                if settle is not None:
                    settle(now)
                self.transport.flush()
        except CoreError:
            self.log.error("negotiation core stopped: {}", self.core.describe())
            raise
        finally:
            self.transport.flush()
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)

    async def _wait(self, wait_s: float, stop: asyncio.Event | None,
                    sources: Sequence[Source]) -> set[zmq.asyncio.Socket] | None:
        """The sockets ready within `wait_s` (a solve's answer also wakes us); None once stopped."""
        timeout_ms = int(wait_s * 1000) + 1
        router = self.transport.router
        if stop is None and not sources and not self._solving:  # a batch run: one socket, no tasks
            return {router} if await router.poll(timeout_ms) else set()
        poller = zmq.asyncio.Poller()
        poller.register(router, zmq.POLLIN)
        for source in sources:
            poller.register(source.socket, zmq.POLLIN)
        polling = asyncio.ensure_future(poller.poll(timeout_ms))
        waits: set[asyncio.Future[Any]] = {polling, *self._solving}
        stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
        if stopping is not None:
            waits.add(stopping)
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stopping is not None:
                stopping.cancel()
        if not polling.done():
            polling.cancel()
            return None if stop is not None and stop.is_set() else set()
        return {socket for socket, _ in polling.result()}

    def _take_solutions(self) -> None:
        for future in [f for f in self._solving if f.done()]:
            ticket = self._solving.pop(future)
            self.perform(self.core.solved(ticket, future.result(), time.monotonic()))


def _nothing(action: Action) -> None:
    """No hook."""
