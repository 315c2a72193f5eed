"""The participant's shell: one DEALER socket to the coordinator around one or many responder cores.

A process hosts any number of agents (`slotwise participant --name a --name b`, `run --hosts K`).
Each is still its own identity on the wire: its own Hello, its own session and sequence numbers,
its own private calendar, answering only for itself. What they share is the connection: the
coordinator sends a message meant for several of them once, with a routing frame naming them,
and the process wakes once per batch of frames, not once per agent.

Every frame is decoded at one door; anything that does not decode, or that a core refuses, is
logged and dropped, and the agents carry on.

The loop is a plain blocking `zmq.Poller`, not asyncio: per-wake-up cost is what a host pays
thousands of times per negotiation. Each agent's next deadline (Hello, heartbeat, patience) and
next reminder sit in a heap, so a wake-up costs nothing for the agents it does not concern.
SIGTERM and SIGINT raise out of `poll`, so a signal is acted on at once.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import json
import math
import signal
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import zmq
from loguru import logger
from zmq.utils.monitor import recv_monitor_message

from slotwise.participant.notify import Notifier
from slotwise.participant.reminders import ReminderClock
from slotwise.participant.responder import AgentAction, Booked, Exit, Responder, Unbooked
from slotwise.shared.endpoints import Endpoints, follow_the_leader
from slotwise.shared.errors import DecodeError, ProtocolError
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.keys import ClientKeys
from slotwise.shared.ratelog import RateLimitedLog
from slotwise.shared.wire.codec import MAX_FRAME_BYTES, Encoder, decode
from slotwise.shared.wire.flow import AGENT_DRAIN_SLICE_S as DRAIN_SLICE_S
from slotwise.shared.wire.flow import DRAIN_BATCH, MAX_BATCH, QUEUE_LIMIT
from slotwise.shared.wire.gate import AgentGate
from slotwise.shared.wire.routing import parse_recipients

if TYPE_CHECKING:
    from loguru import Logger

    from slotwise.participant.calendars.watch import CalendarWatch
    from slotwise.participant.calendars.writer import CalendarWriter

FORGET_EVERY_S = 3600.0  # how often a host looks for meetings long past
FORGOTTEN_AFTER = timedelta(days=1)  # past a meeting's end: the agent forgets it
GC_THRESHOLD = 50_000  # allocations between young collections (Python's default: 700)
HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


class _Stopped(BaseException):
    """Raised from the signal handler to leave a blocking poll at once. A BaseException, so no
    `except Exception` on the way up can swallow a SIGTERM."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signal.Signals(signum).name)


class _Wakeups:
    """When each agent next needs the loop, in one heap; an agent's later entries replace earlier
    ones lazily (a stale entry is skipped when it surfaces), so there is one live entry per agent."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, AgentId]] = []
        self._at: dict[AgentId, float] = {}
        self._tiebreak = itertools.count()

    def set(self, who: AgentId, when: float) -> None:
        if when < self._at.get(who, math.inf):
            self._at[who] = when
            heapq.heappush(self._heap, (when, next(self._tiebreak), who))

    def next(self) -> float:
        while self._heap and self._at.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else math.inf

    def due(self, now: float) -> list[AgentId]:
        """Agents whose time has come; each must be `set` again by the caller."""
        out = []
        while self.next() <= now:
            _, _, who = heapq.heappop(self._heap)
            del self._at[who]
            out.append(who)
        return out


@dataclass
class Hosted:
    """One agent in this process: its core and what acts for it here."""

    responder: Responder
    codec: Encoder
    gate: AgentGate
    reminders: ReminderClock
    log: Logger
    writer: CalendarWriter | None = None
    watch: CalendarWatch | None = None
    exit: Exit | None = None

    @property
    def name(self) -> AgentId:
        return self.responder.name


class AgentService:
    def __init__(self, responders: Responder | Sequence[Responder], endpoints: Endpoints,
                 context: zmq.Context[zmq.Socket[bytes]] | None = None,
                 keys: ClientKeys | None = None, reply_delay_s: float = 0.0,
                 mute_until: datetime | None = None, notify_command: str | None = None,
                 notify_env: Sequence[str] = (),
                 writers: Mapping[str, CalendarWriter] | None = None,
                 watches: Mapping[str, CalendarWatch] | None = None, host: str | None = None) -> None:
        responders = [responders] if isinstance(responders, Responder) else list(responders)
        if not responders:
            raise ValueError("a host needs at least one agent")
        self.host = host or responders[0].name
        self.log: Logger = logger.bind(role="participant", agent=self.host)
        writers, watches = writers or {}, watches or {}
        self.agents: dict[AgentId, Hosted] = {}
        for r in responders:
            self.agents[r.name] = Hosted(r, Encoder(r.name), AgentGate(r.name), ReminderClock(mute_until=mute_until),
                                         logger.bind(role="participant", agent=r.name),
                                         writers.get(r.name), watches.get(r.name))
        # One agent's heartbeats keep the whole connection alive: the coordinator counts
        # liveness per connection, and a thousand heartbeats a second would be pure cost.
        for r in responders[1:]:
            r.heartbeats = False
        # Fault injection for tests and drills: hold every reply this long (a slow link).
        self.reply_delay_s = reply_delay_s
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._ctx = context or zmq.Context.instance()
        self._dealer = self._ctx.socket(zmq.DEALER)
        self._dealer.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
        self._dealer.setsockopt(zmq.RCVHWM, QUEUE_LIMIT)
        self._dealer.setsockopt(zmq.SNDHWM, QUEUE_LIMIT)  # a host answers thousands of requests at once
        self._dealer.setsockopt(zmq.LINGER, 500)
        if keys is not None:  # CURVE: only the holder of the coordinator's secret key can talk to us
            keys.apply(self._dealer)
        # Watch the connection's handshakes: a refused key or a security mismatch ends the agents
        # with the reason (they would never be heard), and a new connection after the first (the
        # coordinator or the network came back) must be named by fresh Hellos.
        self._monitor = self._dealer.get_monitor_socket(HANDSHAKE_EVENTS)
        self._monitor.setsockopt(zmq.LINGER, 0)  # an exit before `run` must not wait on it forever
        self._handshakes = 0
        self.secure = keys is not None
        if endpoints.others:  # instances of one service: send only where a connection is up (the leader)
            follow_the_leader(self._dealer)
        for address in endpoints.every:
            self._dealer.connect(address)
        self._addresses = endpoints.every
        self.dropped = 0
        self._drops = RateLimitedLog(5.0)
        self.notifier = Notifier(notify_command, self.log, notify_env)
        self._wake = _Wakeups()  # monotonic: each agent's next deadline
        self._forget_due = time.monotonic() + FORGET_EVERY_S
        self._remind = _Wakeups()  # wall clock (meetings are at wall-clock times), as a timestamp
        self._live = len(self.agents)
        self._pending: list[bytes] = []

    @property
    def responder(self) -> Responder:
        """The first (for a single agent, the only) agent's core."""
        return next(iter(self.agents.values())).responder

    def run(self) -> dict[AgentId, Exit]:
        """Until every hosted agent has exited; returns why each did."""
        previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
        # Said only now: from here on a signal stops the agents cleanly (records written, exit 0).
        names = list(self.agents)
        self.log.debug("connecting to {} as {}", ", ".join(self._addresses),
                       ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""))
        poller = zmq.Poller()
        poller.register(self._dealer, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)
        watched = [h for h in self.agents.values() if h.watch is not None]
        try:
            # The agents' calendars live as long as the process: out of the cyclic collector's
            # sight, and collections made rarer, a host of thousands stops rescanning them.
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
            now = time.monotonic()
            for h in self.agents.values():
                self._perform(h, h.responder.start(now))
                self._wake.set(h.name, h.responder.next_deadline())
            while self._live:
                due = min(self._wake.next(), self._outbox[0][0] if self._outbox else math.inf,
                          min((h.watch.due() for h in watched if h.watch is not None), default=math.inf),
                          time.monotonic() + (self._remind.next() - time.time()))
                wait_ms = max(0, int((due - time.monotonic()) * 1000) + 1) if due < math.inf else 60_000
                for sock, _ in poller.poll(min(wait_ms, 60_000)):
                    if sock is self._monitor:
                        self._watch_connection()
                    else:
                        self._drain()
                now = time.monotonic()
                for name in self._wake.due(now):
                    h = self.agents[name]
                    if h.exit is None:
                        self._perform(h, h.responder.tick(now))
                        self._wake.set(name, h.responder.next_deadline())
                for h in watched:
                    if h.exit is None and h.watch is not None and now >= h.watch.due() and h.watch.check():
                        h.log.info("the calendar changed: checking accepted meetings")
                        self._perform(h, h.responder.calendar_changed())
                        if h.writer is not None:  # the owner may have answered on the events written
                            self._perform(h, h.responder.answers_read(h.writer.owner_answers()))
                self._fire_reminders()
                self._forget_ended()
                while self._outbox and self._outbox[0][0] <= time.monotonic():
                    self._send(self._outbox.popleft()[1])
                self._flush()
            return self.exits()
        except _Stopped as stop:
            self._settle()
            self._flush()
            for h in self.agents.values():
                h.exit = h.exit or Exit(f"stopped by {stop}")
            return self.exits()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._dealer.disable_monitor()
            self._monitor.close(linger=0)
            self._dealer.close()
            self.notifier.close()
            for h in self.agents.values():
                if h.writer is not None:
                    h.writer.close()

    def exits(self) -> dict[AgentId, Exit]:
        return {name: h.exit or Exit("still running") for name, h in self.agents.items()}

    def _settle(self) -> None:
        """On a stop: take in what has already arrived (a decision announced a moment ago), so
        the records written next are as current as these agents can know them."""
        try:
            self._drain()
        except _Stopped:
            pass  # a second signal: stop now

    def _fire_reminders(self) -> None:
        now_ts = time.time()
        for name in self._remind.due(now_ts):
            h = self.agents[name]
            now = datetime.now(UTC)
            for fired in h.reminders.due(now):
                self.notifier.notify(name, fired, now)
            self._schedule_reminder(h)
        self.notifier.reap()

    def _forget_ended(self) -> None:
        """Hourly: meetings a day past their end leave every hosted agent (Responder.forget_ended)."""
        if time.monotonic() < self._forget_due:
            return
        self._forget_due = time.monotonic() + FORGET_EVERY_S
        before = datetime.now(UTC) - FORGOTTEN_AFTER
        for h in self.agents.values():
            if h.exit is None and (gone := h.responder.forget_ended(before)):
                h.log.info("forgot {} meetings that ended before {}", gone, before.isoformat(timespec="minutes"))

    def _schedule_reminder(self, h: Hosted) -> None:
        at = h.reminders.next_at()
        if at is not None:
            self._remind.set(h.name, at.timestamp())

    def _end(self, h: Hosted, exit_: Exit) -> None:
        if h.exit is None:
            h.exit = exit_
            self._live -= 1
            (h.log.info if exit_.clean else h.log.error)("exiting: {}", exit_.reason)

    def _end_all(self, reason: str) -> None:
        for h in self.agents.values():
            self._end(h, Exit(reason, clean=False))

    def _watch_connection(self) -> None:
        """Act on the connection's handshake events (one connection for every hosted agent)."""
        while self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            kind, value = event["event"], event["value"]
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._handshakes += 1
                if self._handshakes > 1:
                    self.log.info("connection re-established: saying Hello again")
                    now = time.monotonic()
                    for h in self.agents.values():
                        h.responder.reconnected(now)
                        self._wake.set(h.name, now)
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self._end_all(f"the coordinator refused this {'host' if len(self.agents) > 1 else 'agent'}'s "
                              f"key (status {value}): is {self.host}.key on its allow-list?")
            elif kind in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
                hint = ("this agent uses CURVE keys; does the coordinator?" if self.secure
                        else "the coordinator may require CURVE keys: pass --keys DIR")
                self._end_all(f"handshake with the coordinator failed ({hex(value)}): {hint}")

    def _send(self, frame: bytes) -> None:
        """Queued until the end of this wake-up, then sent together (see _flush)."""
        self._pending.append(frame)

    def _flush(self) -> None:
        """What this wake-up's agents said, as few ZeroMQ messages as possible: one message of
        up to MAX_BATCH frames, each frame one agent's envelope. Never blocks: with no
        connection (yet), it is dropped; Hello and the coordinator's re-asking cover the loss."""
        pending, self._pending = self._pending, []
        for at in range(0, len(pending), MAX_BATCH):
            try:
                self._dealer.send_multipart(pending[at:at + MAX_BATCH], zmq.NOBLOCK)
            except zmq.Again:
                self.log.debug("no connection to the coordinator: {} message(s) not sent",
                               len(pending[at:at + MAX_BATCH]))

    def _drain(self) -> None:
        """Read until nothing is waiting, but for at most DRAIN_SLICE_S: then deadlines and the
        replies so far go out, so a host working through a backlog is heard (and its heartbeats
        sent) all along, not once at the end."""
        until = time.monotonic() + DRAIN_SLICE_S
        for _ in range(DRAIN_BATCH):
            try:
                frames = self._dealer.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._handle(frames)
            if time.monotonic() >= until:
                return

    def _handle(self, frames: list[bytes]) -> None:
        """[recipients, message] pairs: each message decoded once, given to each named agent."""
        if not frames or len(frames) % 2 or len(frames) > 2 * MAX_BATCH:
            self._drop("undecodable", f"{len(frames)} frames (expected pairs of routing and message)")
            return
        until = time.monotonic() + DRAIN_SLICE_S
        for at in range(0, len(frames), 2):
            self._deliver(frames[at], frames[at + 1])
            if time.monotonic() >= until:  # a long batch: what is answered so far goes out now
                self._flush()
                until = time.monotonic() + DRAIN_SLICE_S

    def _deliver(self, routing: bytes, frame: bytes) -> None:
        try:
            names = parse_recipients(routing, self.agents)
            env = decode(frame)
        except DecodeError as exc:
            self._drop("undecodable", str(exc))
            return
        now = time.monotonic()
        for name in names:
            h = self.agents[name]
            if h.exit is not None:
                continue
            try:
                admitted = h.gate.check(env)
                if admitted is None:
                    continue  # not for this agent yet (before its Welcome)
                actions = h.responder.receive(admitted, now)
            except ProtocolError as exc:
                self._drop("refused", f"{name}: {exc}")
                continue
            # Anything else is our bug: it propagates, and the process stops with exit 1.
            self._perform(h, actions)
            self._wake.set(name, h.responder.next_deadline())

    def _drop(self, kind: str, why: str) -> None:
        """Logged once per kind per interval: one peer's garbage cannot hide another's forgery."""
        self.dropped += 1
        suppressed = self._drops.allow(kind, time.monotonic())
        if suppressed is not None:
            self.log.warning("dropped message: {}{}", why,
                             f" ({suppressed} more since the last report)" if suppressed else "")

    def _perform(self, h: Hosted, actions: list[AgentAction]) -> None:
        for action in actions:
            if isinstance(action, Exit):
                self._end(h, action)
                return
            if isinstance(action, Booked):
                m = action.meeting
                h.reminders.schedule(MeetingId(m.meeting_id), m.name, m.start, m.end, m.remind,
                                     datetime.now(UTC))
                self._schedule_reminder(h)
                if h.writer is not None:
                    h.writer.scheduled(m)
                continue
            if isinstance(action, Unbooked):
                h.reminders.drop(action.meeting_id)
                if h.writer is not None:
                    h.writer.dropped(action.meeting_id)
                continue
            frame = h.codec.encode(action.body)
            if self.reply_delay_s > 0:
                self._outbox.append((time.monotonic() + self.reply_delay_s, frame))
            else:
                self._send(frame)


def write_record(path: Path, responder: Responder, exit_: Exit) -> None:
    """What this agent agreed to, for the operator or a test harness to compare with the coordinator."""
    cal = responder.calendar
    accepted = sorted(responder.decisions.values(), key=lambda d: (d.start, d.id))
    record = {
        "name": responder.name,
        "exit": exit_.reason,
        "accepted": [d.model_dump(mode="json") for d in accepted],  # Decision records
        "holds": sorted(cal.holds),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(path)

