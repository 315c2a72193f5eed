"""The coordinator's end of the agents' connections: one ROUTER socket, both ways.

Everything a byte from an agent meets before the core sees it lives here, in order: the frame
size (ZeroMQ's MAXMSGSIZE), the envelope count, the peer's token bucket (checked before
decoding), and the gate (decode, key, connection and session). Everything the core says leaves
through `publish`, queued per connection and sent by `flush` in batches. A peer's fault costs it
its message and one log line per interval, never more.

Not PUB/SUB: libzmq keeps every subscription a peer sends, with no limit on their number, so a
publisher's memory would be its peers' to spend; a ROUTER keeps nothing per peer but its
queues, and those are bounded here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import zmq
import zmq.asyncio
from loguru import logger

from slotwise.coordinator.outcome import RunStats
from slotwise.coordinator.zap import NameAuthenticator, make_curve_server
from slotwise.shared.endpoints import Endpoints
from slotwise.shared.errors import DecodeError, EndpointError, ProtocolError
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.keys import ServerKeys
from slotwise.shared.ratelog import RateLimitedLog
from slotwise.shared.wire.codec import MAX_FRAME_BYTES, Encoder
from slotwise.shared.wire.flow import COORDINATOR_DRAIN_SLICE_S, DRAIN_BATCH, MAX_BATCH, QUEUE_LIMIT
from slotwise.shared.wire.gate import Admitted, Gate
from slotwise.shared.wire.messages import Body, Heartbeat
from slotwise.shared.wire.routing import EVERYONE, recipients_frame

if TYPE_CHECKING:
    from loguru import Logger

DROP_LOG_INTERVAL_S = 5.0  # a misbehaving peer is reported at most this often
RATE_PER_S = 2000.0  # sustained messages per second per peer; an honest agent sends far fewer
RATE_BURST = 5000.0  # enough for an agent answering hundreds of requests at once
MAX_PEERS_TRACKED = 100_000
MAX_BACKLOG_S = 30.0  # judge silence at least this often, however far behind reading we are

Deliver = Callable[[Admitted], None]
"""Takes one admitted envelope to the core; may raise ProtocolError for the peer's fault."""


@dataclass
class _Queued:
    routing: bytes
    frame: bytes
    body: Body
    agents: Sequence[AgentId]
    quiet: bool  # a heartbeat: a failed send is not worth a log line


class AgentTransport:
    """The ROUTER with CURVE and its ZAP handler, buckets, the gate, drain, publish and flush."""

    def __init__(self, endpoints: Endpoints, participants: Collection[AgentId], *, keys: ServerKeys | None = None,
                 context: zmq.asyncio.Context | None = None) -> None:
        self.keys = keys
        self._requested = endpoints
        self.context = context or zmq.asyncio.Context.instance()
        self._codec = Encoder(COORDINATOR)
        # A connection speaks for the agents that said Hello over it (one, or a host's many),
        # and for no one its key does not.
        self.gate = Gate(participants, keys.speaks_for if keys is not None else None)
        self.stats = RunStats()
        self._buckets: dict[bytes, _Bucket] = {}
        self._drops = RateLimitedLog(DROP_LOG_INTERVAL_S)
        self._unsent = RateLimitedLog(DROP_LOG_INTERVAL_S)  # an agent gone away: one line per interval
        self._backlog_since: float | None = None
        self._outgoing: dict[bytes, list[_Queued]] = {}
        self.log: Logger = logger.bind(role="coordinator")
        self.router = self.context.socket(zmq.ROUTER)
        # Sends go through a blocking-API shadow of the socket with NOBLOCK: an error
        # (EHOSTUNREACH, EAGAIN) is raised here and handled, not left in a Future nobody awaits.
        self._sync: zmq.Socket[bytes] = zmq.Socket.shadow(self.router.underlying)
        self.router.setsockopt(zmq.RCVHWM, QUEUE_LIMIT)
        self.router.setsockopt(zmq.SNDHWM, QUEUE_LIMIT)
        self.router.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)  # unknown peer: an error, not silence
        self.router.setsockopt(zmq.LINGER, 2000)  # let the final Shutdown reach the agents
        self._auth: NameAuthenticator | None = None
        if keys is not None:
            self._auth = NameAuthenticator(self.context, keys.allowed, keys.admins)
            make_curve_server(self.router, keys)
            for name, speaks, refused in keys.contested:
                self.log.warning("host key {} lists {}, whom {} speaks for already: {} may not speak for {}",
                                 refused, name, speaks, refused, name)
        self.endpoints: Endpoints | None = None

    def bind(self) -> Endpoints:
        """Bind; returns the actual address (an ephemeral port resolved). An address that cannot
        be bound (in use, no such interface) is an EndpointError saying which."""
        try:
            self.router.bind(self._requested.reply)
        except zmq.ZMQError as exc:
            raise EndpointError(f"cannot bind {self._requested.reply}: {exc.strerror}") from None
        self.endpoints = Endpoints(self.router.getsockopt_string(zmq.LAST_ENDPOINT))
        return self.endpoints

    def close(self) -> None:
        self.flush()
        self.router.close()
        if self._auth is not None:
            self._auth.stop()

    # --- in ----------------------------------------------------------------------------------

    def drain(self, deliver: Deliver) -> bool:
        """Deliver what has arrived, at most DRAIN_BATCH frames (deadlines come next) or
        COORDINATOR_DRAIN_SLICE_S of work, so what the core decided goes out while the rest
        waits. True if more may be waiting: the core must not yet judge anyone silent."""
        until = time.monotonic() + COORDINATOR_DRAIN_SLICE_S
        for _ in range(DRAIN_BATCH):
            try:
                frames = self._sync.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return False
            self._handle(frames, deliver)
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

    def _handle(self, frames: list[zmq.Frame], deliver: Deliver) -> None:
        """[identity, envelope, envelope, ...]: a host sends what its agents said in one message."""
        identity = frames[0].bytes
        if not 2 <= len(frames) <= MAX_BATCH + 1:
            self.stats.received += 1
            self._drop(identity, f"{len(frames) - 1} payload frames (expected 1 to {MAX_BATCH})")
            return
        peer = identity.hex()
        for payload in frames[1:]:
            self._handle_one(identity, peer, payload, deliver)

    def _handle_one(self, identity: bytes, peer: str, payload: zmq.Frame, deliver: Deliver) -> None:
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
                self.log.warning("peer {} exceeds {} messages/s: dropping its excess", identity.hex()[:16], RATE_PER_S)
            return
        user_id = payload.get("User-Id") if self.keys is not None else None  # the name CURVE proved
        owner = user_id if isinstance(user_id, str) else None
        try:
            deliver(self.gate.admit(payload.bytes, peer, owner))
        except (DecodeError, ProtocolError) as exc:
            self._drop(identity, str(exc), owner)

    def _drop(self, identity: bytes, why: str, owner: str | None = None) -> None:
        self.stats.dropped += 1
        peer = owner or identity.hex()[:16]
        suppressed = self._drops.allow(peer, time.monotonic())
        if suppressed is not None:
            more = f" ({suppressed} more since the last report)" if suppressed else ""
            self.log.warning("dropped message from peer {}: {}{}", peer, why, more)

    # --- out ---------------------------------------------------------------------------------

    def publish(self, body: Body, to: tuple[AgentId, ...] | None) -> None:
        """To the named agents, or to every agent that has said Hello: encoded once, and queued
        once per connection with the names it is for (a host's agents share one). An agent
        without a connection misses it; deadlines and rejoining cover that."""
        frame = self._codec.encode(body)
        quiet = isinstance(body, Heartbeat)
        if to is None:
            for conn, names in list(self.gate.connections().items()):
                self._queue(bytes.fromhex(conn), _Queued(EVERYONE, frame, body, tuple(names), quiet))
            return
        by_connection: dict[str, list[AgentId]] = {}
        for agent in to:
            connection = self.gate.connection_of(agent)
            if connection is None:
                self._not_sent(agent, body, "no connection", quiet)
            else:
                by_connection.setdefault(connection, []).append(agent)
        for connection, agents in by_connection.items():
            self._queue(bytes.fromhex(connection), _Queued(recipients_frame(agents), frame, body, agents, quiet))

    def _queue(self, identity: bytes, queued: _Queued) -> None:
        """Held per connection until `flush`: a host gets one ZeroMQ message per wake-up of
        ours, not one per envelope (each send costs a system call and a wake-up at each end)."""
        self._outgoing.setdefault(identity, []).append(queued)
        self.stats.sent += 1
        self.stats.bytes_sent += len(queued.frame) + len(queued.routing)

    def flush(self) -> None:
        """Send what is queued, per connection in order, at most MAX_BATCH envelopes per message."""
        outgoing, self._outgoing = self._outgoing, {}
        for identity, queued in outgoing.items():
            for at in range(0, len(queued), MAX_BATCH):
                chunk = queued[at:at + MAX_BATCH]
                parts = [identity]
                for q in chunk:
                    parts += (q.routing, q.frame)
                try:
                    self._sync.send_multipart(parts, zmq.NOBLOCK)
                except zmq.ZMQError as exc:  # EHOSTUNREACH: the host disconnected; EAGAIN: its queue is full
                    for q in chunk:
                        self.stats.sent -= 1
                        self.stats.bytes_sent -= len(q.frame) + len(q.routing)
                        for agent in q.agents:
                            self._not_sent(agent, q.body, exc.strerror, q.quiet)

    def _not_sent(self, agent: AgentId, body: Body, why: str, quiet: bool) -> None:
        """An agent that went away is reported once per interval, not once per message."""
        if quiet:
            return
        held = self._unsent.allow(agent, time.monotonic())
        if held is not None:
            self.log.warning("{} to {} not sent: {}{}", type(body).__name__, agent, why,
                             f" ({held} more not sent since the last report)" if held else "")


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
