"""The coordinator's shell: ZeroMQ sockets and an asyncio loop around the negotiation core.

It decodes, feeds the core, performs the core's actions, and does nothing clever itself. A
peer's fault (DecodeError, ProtocolError) drops that message, logged once per peer per interval;
anything else out of the core is our bug: the core is in its error state, and `run` logs that
state and raises, so the process stops loudly instead of negotiating on half-changed state.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio
from loguru import logger
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from slotwise.coordinator.journal import Journal
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
from slotwise.coordinator.placement.solver import solve, solver_available
from slotwise.coordinator.plan import Plan
from slotwise.shared.decision import Decision
from slotwise.shared.endpoints import Endpoints
from slotwise.shared.errors import CoreError, DecodeError, EndpointError, ProtocolError
from slotwise.shared.ids import COORDINATOR, AgentId, MeetingId
from slotwise.shared.keys import ServerKeys
from slotwise.shared.ratelog import RateLimitedLog
from slotwise.shared.wire.admin import ADMIN_DOMAIN
from slotwise.shared.wire.codec import MAX_FRAME_BYTES, Encoder
from slotwise.shared.wire.gate import Gate
from slotwise.shared.wire.messages import Body, Heartbeat, MeetingFailed, MeetingScheduled
from slotwise.shared.wire.routing import EVERYONE, recipients_frame

if TYPE_CHECKING:
    from loguru import Logger

QUEUE_LIMIT = 100_000  # messages per peer queued before ZeroMQ drops; far above any scenario
MAX_BATCH = 100  # envelopes in one ZeroMQ message, either way (as agents send them)
DRAIN_SLICE_S = 0.05  # ... or this long, whichever comes first
DRAIN_BATCH = 1_000  # frames handled before deadlines are checked again, so ticks never starve


@dataclass
class RunStats:
    rounds: int = 0
    resends: int = 0
    sent: int = 0
    received: int = 0
    dropped: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    startup_s: float = 0.0
    negotiation_s: float = 0.0

    @property
    def messages(self) -> int:
        return self.sent + self.received


@dataclass(frozen=True)
class RunResult:
    decisions: list[Decision]  # in decision order
    joined: tuple[AgentId, ...]
    missing: tuple[AgentId, ...]
    stats: RunStats


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
        self.plan = plan
        if keys is not None:
            keys.require(plan.participants)
        self.keys = keys
        self.journal = journal
        self.resume = resume
        self._buckets: dict[bytes, _Bucket] = {}
        self._drops = RateLimitedLog(DROP_LOG_INTERVAL_S)
        self._unsent = RateLimitedLog(DROP_LOG_INTERVAL_S)  # an agent gone away: one line per interval
        self.explain = explain
        self._requested = endpoints
        self.on_action = on_action or (lambda action: None)
        self._ctx = context or zmq.asyncio.Context.instance()
        self._codec = Encoder(COORDINATOR)
        # Admission: a connection speaks for the agents that said Hello over it (one, or a host's
        # many), and for no one its key does not.
        self.gate = Gate(plan.participants, keys.speaks_for if keys is not None else None)
        self.stats = RunStats()
        # One socket for agents, both ways. Not PUB/SUB: libzmq keeps every subscription a peer
        # sends, with no limit on their number, so a publisher's memory would be its peers' to
        # spend; a ROUTER keeps nothing per peer but its queues, and those are bounded here.
        self._router = self._ctx.socket(zmq.ROUTER)
        # Sends go through a blocking-API shadow of the socket with NOBLOCK: an error
        # (EHOSTUNREACH, EAGAIN) is raised here and handled, not left in a Future nobody awaits.
        self._router_sync: zmq.Socket[bytes] = zmq.Socket.shadow(self._router.underlying)
        self._router.setsockopt(zmq.RCVHWM, QUEUE_LIMIT)
        self._router.setsockopt(zmq.SNDHWM, QUEUE_LIMIT)
        self._router.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
        self._router.setsockopt(zmq.ROUTER_MANDATORY, 1)  # unknown peer: an error, not silence
        self._router.setsockopt(zmq.LINGER, 2000)  # let the final Shutdown reach the agents
        self._auth: _NameAuthenticator | None = None
        if keys is not None:
            # Started before anything binds: until a ZAP handler runs, CURVE admits anyone.
            self._auth = _NameAuthenticator(self._ctx, keys.allowed, keys.admins)
            self._router.curve_server = True
            self._router.curve_secretkey = keys.secret
            self._router.curve_publickey = keys.public
        self.endpoints: Endpoints | None = None
        self._backlog_since: float | None = None
        self._outgoing: dict[bytes, list[tuple[bytes, bytes, Body, Sequence[AgentId], bool]]] = {}
        self._joined_at: float | None = None

    def bind(self) -> Endpoints:
        """Bind; returns the actual address (an ephemeral port resolved). An address that cannot
        be bound (in use, no such interface) is an EndpointError saying which."""
        try:
            self._router.bind(self._requested.reply)
        except zmq.ZMQError as exc:
            raise EndpointError(f"cannot bind {self._requested.reply}: {exc.strerror}") from None
        self.endpoints = Endpoints(self._router.getsockopt_string(zmq.LAST_ENDPOINT))
        return self.endpoints

    def close(self) -> None:
        self.flush()
        self._router.close()
        if self._auth is not None:
            self._auth.stop()

    async def run(self, started_at: float | None = None) -> RunResult:
        """Negotiate to the end. Start-up is timed from `started_at` (when the caller began
        launching agents, say), or from now."""
        core = Negotiation(self.plan, self.explain, self.resume)
        if self.plan.optimize_s:
            solver_available()  # imported now, not in the middle of the negotiation
        # The plan and the core's indexes live for the whole run: out of the collector's sight,
        # its full passes over them (hundreds of ms each at 20,000 meetings) stop. And a batch
        # run is bounded and ends: reference counting frees what it drops, and the cyclic
        # collector (a fifth of the core's time at 4,000 meetings) waits until the end.
        gc.collect()
        gc.freeze()
        gc.disable()
        log = logger.bind(role="coordinator")
        clock = time.monotonic()
        t0 = started_at if started_at is not None else clock
        self._joined_at = None
        try:
            await self._negotiate(core, clock, log)
        finally:
            gc.enable()
            gc.unfreeze()  # a process that runs again (a test suite) must be able to collect this run
        end = time.monotonic()
        joined_at = self._joined_at or end
        self.stats.rounds, self.stats.resends = core.stats.rounds, core.stats.resends
        self.stats.startup_s, self.stats.negotiation_s = joined_at - t0, end - joined_at
        return RunResult(list(core.decisions), core.joined, core.missing, self.stats)

    async def _negotiate(self, core: Negotiation, clock: float, log: Logger) -> None:
        self.perform(core.start(clock), log, core)
        while not core.done:
            deadline = core.next_deadline()
            wait_ms = 1000 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000) + 1)
            backlog = False
            if await self._router.poll(wait_ms):
                backlog = self.drain(core, log)
            try:
                self.perform(core.tick(time.monotonic(), backlog=self.behind(backlog)), log, core)
            except CoreError:
                log.error("negotiation core stopped: {}", core.describe())
                raise
            self.flush()

    @property
    def router(self) -> zmq.asyncio.Socket:
        """The agents' reply socket, for a caller's own poller (the live service)."""
        return self._router

    def drain(self, core: Negotiation, log: Logger) -> bool:
        """Feed the core what has arrived, at most DRAIN_BATCH frames (deadlines come next).
        True if more may be waiting: the core must not yet judge anyone silent. At most
        DRAIN_SLICE_S of work, so what the core decided goes out while the rest waits."""
        until = time.monotonic() + DRAIN_SLICE_S
        for _ in range(DRAIN_BATCH):
            try:
                frames = self._router_sync.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return False
            self._handle(core, frames, log)
            if time.monotonic() >= until:
                break
        return True

    def behind(self, backlog: bool) -> bool:
        """Silence is judged only once what arrived has been read, but for at most
        MAX_BACKLOG_S in a row: a flood cannot stop every deadline for ever."""
        now = time.monotonic()
        if not backlog:
            self._backlog_since = None
            return False
        if self._backlog_since is None:
            self._backlog_since = now
        return now - self._backlog_since < MAX_BACKLOG_S

    def _handle(self, core: Negotiation, frames: list[zmq.Frame], log: Logger) -> None:
        """[identity, envelope, envelope, ...]: a host sends what its agents said in one message."""
        identity = frames[0].bytes
        if not 2 <= len(frames) <= MAX_BATCH + 1:
            self.stats.received += 1
            self._drop(log, identity, f"{len(frames) - 1} payload frames (expected 1 to {MAX_BATCH})")
            return
        peer = identity.hex()
        for payload in frames[1:]:
            self._handle_one(core, identity, peer, payload, log)

    def _handle_one(self, core: Negotiation, identity: bytes, peer: str, payload: zmq.Frame, log: Logger) -> None:
        self.stats.received += 1
        self.stats.bytes_received += len(payload)
        bucket = self._buckets.get(identity)
        if bucket is None:
            if len(self._buckets) >= MAX_PEERS_TRACKED:  # reconnect churn must not grow this forever
                self._buckets.clear()
            bucket = self._buckets[identity] = _Bucket()
        # A host's allowance grows with the agents it carries (each bound by a checked Hello).
        if not bucket.take(time.monotonic(), max(1, self.gate.names_on(peer))):
            self.stats.dropped += 1
            if bucket.should_log():
                log.warning("peer {} exceeds {} messages/s: dropping its excess", identity.hex()[:16], RATE_PER_S)
            return
        user_id = payload.get("User-Id") if self.keys is not None else None  # the name CURVE proved
        owner = user_id if isinstance(user_id, str) else None
        try:
            actions = core.receive(self.gate.admit(payload.bytes, peer, owner), time.monotonic())
        except (DecodeError, ProtocolError) as exc:
            self._drop(log, identity, str(exc), owner)
            return
        except CoreError:
            log.error("negotiation core stopped: {}", core.describe())
            raise
        self.perform(actions, log, core)

    def _drop(self, log: Logger, identity: bytes, why: str, owner: str | None = None) -> None:
        self.stats.dropped += 1
        peer = owner or identity.hex()[:16]
        suppressed = self._drops.allow(peer, time.monotonic())
        if suppressed is not None:
            more = f" ({suppressed} more since the last report)" if suppressed else ""
            log.warning("dropped message from peer {}: {}{}", peer, why, more)

    def perform(self, actions: list[Action], log: Logger, core: Negotiation | None = None) -> None:
        for action in actions:
            if isinstance(action, Publish):
                if self.journal is not None and isinstance(action.body, (MeetingScheduled, MeetingFailed)):
                    self.journal.sync()  # durable before anyone hears of it
                self._publish(action.body, action.to)
            elif isinstance(action, Solve):
                assert core is not None, "a Solve comes from a core the caller names"
                placement = solve(action.problem, action.budget_s, time.monotonic)  # inline: a batch run waits for it
                self.perform(core.solved(action.ticket, placement, time.monotonic()), log, core)
            elif isinstance(action, Started):
                self._joined_at = time.monotonic()  # negotiation is timed from the first request
                log.info("negotiating with {} agent(s); missing: {}", len(action.joined),
                         ", ".join(action.missing) or "none")
            elif isinstance(action, Lost):
                log.warning("agent {} stopped responding", action.agent)
            elif isinstance(action, Notice):
                (log.warning if action.warning else log.info)("{}", action.text)
            elif isinstance(action, MoveFailed):
                log.info("could not move {}: {} (it stays where it was)", action.decision.id, action.reason)
            elif isinstance(action, Cancelled):
                log.info("cancelled {}", action.meeting_id)
            elif isinstance(action, Decided):
                d = action.decision
                if self.journal is not None:
                    self.journal.record(d)
                if d.scheduled:
                    log.info("scheduled {} at {} with {}", d.id, d.start.isoformat() if d.start else None,
                             ", ".join(d.participants))
                else:
                    log.info("could not place {}: {}", d.id, d.reason)
            self.on_action(action)

    def _publish(self, body: Body, to: tuple[AgentId, ...] | None) -> None:
        """To the named agents, or to every agent that has said Hello: encoded once, and sent once
        per connection with the names it is for (a host's agents share one). An agent without a
        connection misses it; deadlines and rejoining cover that."""
        frame = self._codec.encode(body)
        log = logger.bind(role="coordinator")
        quiet = isinstance(body, Heartbeat)
        if to is None:
            for conn, names in list(self.gate.connections().items()):
                self._send_frame(bytes.fromhex(conn), EVERYONE, frame, body, tuple(names), log, quiet)
            return
        by_connection: dict[str, list[AgentId]] = {}
        for agent in to:
            connection = self.gate.connection_of(agent)
            if connection is None:
                self._not_sent(log, agent, body, "no connection", quiet)
            else:
                by_connection.setdefault(connection, []).append(agent)
        for connection, agents in by_connection.items():
            self._send_frame(bytes.fromhex(connection), recipients_frame(agents), frame, body, agents, log, quiet)

    def _send_frame(self, identity: bytes, routing: bytes, frame: bytes, body: Body,
                    agents: Sequence[AgentId], log: Logger, quiet: bool) -> None:
        """Queued per connection until `flush`: a host gets one ZeroMQ message per wake-up of
        ours, not one per envelope (each send costs a system call and a wake-up at each end)."""
        self._outgoing.setdefault(identity, []).append((routing, frame, body, agents, quiet))
        self.stats.sent += 1
        self.stats.bytes_sent += len(frame) + len(routing)

    def flush(self) -> None:
        """Send what is queued, per connection in order, at most MAX_BATCH envelopes per message."""
        outgoing, self._outgoing = self._outgoing, {}
        log = logger.bind(role="coordinator")
        for identity, queued in outgoing.items():
            for at in range(0, len(queued), MAX_BATCH):
                chunk = queued[at:at + MAX_BATCH]
                parts = [identity]
                for routing, frame, *_ in chunk:
                    parts += (routing, frame)
                try:
                    self._router_sync.send_multipart(parts, zmq.NOBLOCK)
                except zmq.ZMQError as exc:  # EHOSTUNREACH: the host disconnected; EAGAIN: its queue is full
                    for routing, frame, body, agents, quiet in chunk:
                        self.stats.sent -= 1
                        self.stats.bytes_sent -= len(frame) + len(routing)
                        for agent in agents:
                            self._not_sent(log, agent, body, exc.strerror, quiet)

    def _not_sent(self, log: Logger, agent: AgentId, body: Body, why: str, quiet: bool) -> None:
        """An agent that went away is reported once per interval, not once per message."""
        if quiet:
            return
        held = self._unsent.allow(agent, time.monotonic())
        if held is not None:
            log.warning("{} to {} not sent: {}{}", type(body).__name__, agent, why,
                        f" ({held} more not sent since the last report)" if held else "")


DROP_LOG_INTERVAL_S = 5.0  # a misbehaving peer is reported at most this often
RATE_PER_S = 2000.0  # sustained messages per second per peer; an honest agent sends far fewer
RATE_BURST = 5000.0  # enough for an agent answering hundreds of requests at once
MAX_PEERS_TRACKED = 100_000
MAX_BACKLOG_S = 30.0  # judge silence at least this often, however far behind reading we are


@dataclass
class _Bucket:
    """Token bucket per peer: a flooding peer loses its excess, checked before decoding."""

    tokens: float = RATE_BURST
    stamp: float = 0.0
    logged: float = -1.0

    def take(self, now: float, agents: int = 1) -> bool:
        """One message from a connection carrying `agents` agents: each has its own allowance."""
        self.tokens = min(RATE_BURST * agents, self.tokens + (now - self.stamp) * RATE_PER_S * agents)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def should_log(self) -> bool:
        if self.stamp - self.logged >= 1.0:  # one line a second per peer, not one per message
            self.logged = self.stamp
            return True
        return False


class _NameAuthenticator(ThreadAuthenticator):
    """Admits only allow-listed CURVE keys and names each connection after its key's owner."""

    def __init__(self, context: zmq.Context[Any], allowed: dict[bytes, str],
                 admins: dict[bytes, str] | None = None) -> None:
        super().__init__(context)
        self._names_by_key = allowed  # z85-encoded public key -> name, as certificates store them
        self._admins = admins or {}  # the same, for the admin socket's ZAP domain only
        self._refusals = RateLimitedLog(DROP_LOG_INTERVAL_S)
        self._address = "unknown"  # of the ZAP request being decided (one at a time, in order)
        self.start()
        self.configure_curve_callback("*", credentials_provider=self)  # the agents' sockets
        self.configure_curve_callback(ADMIN_DOMAIN, credentials_provider=self)  # `serve --admin`

    def handle_zap_message(self, msg: list[bytes]) -> Coroutine[Any, Any, None]:
        """Note the peer's address for the refusal log line, then decide as the base does."""
        self._address = msg[3].decode("utf-8", "replace")[:64] if len(msg) > 3 else "unknown"
        return super().handle_zap_message(msg)

    def callback(self, domain: str, z85_key: bytes) -> bool:
        allowed = z85_key in (self._admins if domain == ADMIN_DOMAIN else self._names_by_key)
        if not allowed:
            key = z85_key.decode("ascii", "replace")
            suppressed = self._refusals.allow(key, time.monotonic())
            if suppressed is not None:
                logger.bind(role="coordinator").warning(
                    "refused a connection from {} with key {} (not on the {} allow-list){}", self._address, key,
                    "admin" if domain == ADMIN_DOMAIN else "participant",
                    f"; {suppressed} more refusals since the last report" if suppressed else "")
        return allowed

    def curve_user_id(self, client_public_key: bytes) -> str:
        key = z85.encode(client_public_key)
        return self._names_by_key.get(key) or self._admins[key]
