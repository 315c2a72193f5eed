"""`slotwise coordinator`: a batch run. The transport and the loop around the batch core, and
the journal that lets a run resume.

Nothing clever happens here: the transport admits and carries messages, the loop drives the
core, and this shell adds what only a batch run has: a journal synced before anyone hears of a
decision, decisions resumed from it, and the run's timing.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import zmq
import zmq.asyncio
from loguru import logger

from slotwise.coordinator.disclosure import privacy_summary
from slotwise.coordinator.journal import Journal
from slotwise.coordinator.loop import CoreLoop
from slotwise.coordinator.negotiation import Action, Decided, Negotiation, Phase, Publish
from slotwise.coordinator.outcome import RunResult, RunStats
from slotwise.coordinator.placement.reasons import few
from slotwise.coordinator.placement.solver import solver_available
from slotwise.coordinator.plan import Plan
from slotwise.coordinator.transport import AgentTransport
from slotwise.shared.decision import Decision
from slotwise.shared.endpoints import Endpoints
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.keys import ServerKeys
from slotwise.shared.wire.gate import Gate
from slotwise.shared.wire.messages import MeetingFailed, MeetingScheduled

__all__ = ["CoordinatorService", "Launched", "RunResult", "RunStats"]

WATCH_EVERY_S = 1.0  # once negotiating, how often the launched processes are looked at (joining: every turn)


class Launched(Protocol):
    """The agent processes a caller started (`slotwise run`): who is still starting, who died."""

    def poll(self) -> tuple[list[frozenset[AgentId]], Mapping[AgentId, str]]:
        """(each living process's agents, agents whose process exited: how, and its last line)"""
        ...


class CoordinatorService:
    def __init__(
        self,
        plan: Plan,
        endpoints: Endpoints,
        *,
        on_action: Callable[[Action], None] | None = None,
        context: zmq.asyncio.Context | None = None,
        explain: frozenset[MeetingId] = frozenset(),
        keys: ServerKeys | None = None,
        journal: Journal | None = None,
        resume: Sequence[Decision] = (),
    ) -> None:
        """`on_action` sees every action after it is performed (a test's or the harness's eye)."""
        self.plan = plan
        if keys is not None:
            keys.require(plan.participants)
        self.journal = journal
        self.resume = resume
        self.explain = explain
        self.on_action = on_action or (lambda action: None)
        self.transport = AgentTransport(endpoints, plan.participants, keys=keys, context=context)

    @property
    def gate(self) -> Gate:
        return self.transport.gate

    @property
    def stats(self) -> RunStats:
        return self.transport.stats

    @property
    def endpoints(self) -> Endpoints | None:
        return self.transport.endpoints

    def bind(self) -> Endpoints:
        return self.transport.bind()

    def close(self) -> None:
        self.transport.close()

    def _observe(self, action: Action) -> None:
        """The journal holds a decision, synced, before any agent hears of it."""
        if self.journal is not None:
            if isinstance(action, Decided):
                self.journal.record(action.decision)
            elif isinstance(action, Publish) and isinstance(action.body, (MeetingScheduled, MeetingFailed)):
                self.journal.sync()

    async def run(self, started_at: float | None = None, launched: Launched | None = None) -> RunResult:
        """Negotiate to the end. Start-up is timed from `started_at` (when the caller began
        launching agents, say), or from now. With `launched` (the processes the caller started),
        joining waits for a process that is alive and still starting, and not for one that died,
        which is reported at once."""
        core = Negotiation(self.plan, self.explain, self.resume)
        if self.plan.optimize_s:
            solver_available()  # imported now, not in the middle of the negotiation
        loop = CoreLoop(self.transport, core, observe=self._observe, shown=self.on_action)
        # The plan and the core's indexes live for the whole run: out of the collector's sight,
        # its full passes over them (hundreds of ms each at 20,000 meetings) stop. And a batch
        # run is bounded and ends: reference counting frees what it drops, and the cyclic
        # collector (a fifth of the core's time at 4,000 meetings) waits until the end.
        gc.collect()
        gc.freeze()
        gc.disable()
        log = logger.bind(role="coordinator")
        t0 = started_at if started_at is not None else time.monotonic()
        watch = _Watch(launched, core, loop) if launched is not None else None
        try:
            loop.perform(core.start(time.monotonic()))
            await loop.run(watch=watch.look if watch is not None else None)
        finally:
            gc.enable()
            gc.unfreeze()  # a process that runs again (a test suite) must be able to collect this run
        end = time.monotonic()
        joined_at = loop.joined_at or end
        stats = self.transport.stats
        stats.rounds, stats.resends, stats.lost = core.stats.rounds, core.stats.resends, loop.lost
        stats.startup_s, stats.negotiation_s = joined_at - t0, end - joined_at
        log.debug("negotiation ended: {} decisions", len(core.decisions))
        return RunResult(list(core.decisions), core.joined, core.missing, stats, privacy_summary(core))


class _Watch:
    """Looks at the launched processes between turns: the core hears who is still starting and
    who died, and each death is logged once, with how the process ended and its last line."""

    def __init__(self, launched: Launched, core: Negotiation, loop: CoreLoop) -> None:
        self.launched = launched
        self.core = core
        self.loop = loop
        self.due = 0.0
        self.reported: set[AgentId] = set()

    def look(self, now: float) -> None:
        joining = self.core.phase is Phase.JOINING
        if self.core.done or (now < self.due and not joining):
            return
        self.due = now + WATCH_EVERY_S
        alive, exited = self.launched.poll()
        news = {who: how for who, how in exited.items() if who not in self.reported}
        for how in sorted(set(news.values())):
            names = sorted(w for w, h in news.items() if h == how)
            logger.bind(role="coordinator").error("the process of {} {}", few(names), how)
        self.reported.update(news)
        self.loop.perform(self.core.launching(alive, exited, now))
