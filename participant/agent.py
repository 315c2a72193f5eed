"""The participant's shell: one DEALER socket to the coordinator around the responder core.

Everything the coordinator says and everything the agent answers travels over that one
connection. Every frame is decoded at one door; anything that does not decode, or that the core
refuses, is logged and dropped, and the agent carries on.

The loop is a plain blocking `zmq.Poller`, not asyncio: an agent has exactly one thing to wait
for, and its per-wake-up cost is what a 50-agent machine pays thousands of times per negotiation
(asyncio's futures made it several times dearer). SIGTERM and SIGINT raise out of `poll`, so a
signal is acted on at once.
"""

from __future__ import annotations

import json
import signal
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import zmq
from loguru import logger
from zmq.utils.monitor import recv_monitor_message

from slotwise.participant.notify import Notifier
from slotwise.participant.reminders import ReminderClock
from slotwise.participant.responder import AgentAction, Booked, Exit, Responder, Unbooked
from slotwise.shared.codec import MAX_FRAME_BYTES, Encoder, decode
from slotwise.shared.endpoints import Endpoints
from slotwise.shared.errors import DecodeError, ProtocolError
from slotwise.shared.ids import MeetingId
from slotwise.shared.keys import ClientKeys
from slotwise.shared.ratelog import RateLimitedLog

if TYPE_CHECKING:
    from loguru import Logger

    from slotwise.participant.calendar_writer import CalendarWriter
    from slotwise.participant.watch import CalendarWatch

DRAIN_BATCH = 1000  # frames read per wake-up before deadlines are checked again
HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


class _Stopped(BaseException):
    """Raised from the signal handler to leave a blocking poll at once. A BaseException, so no
    `except Exception` on the way up can swallow a SIGTERM."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signal.Signals(signum).name)


class AgentService:
    def __init__(self, responder: Responder, endpoints: Endpoints,
                 context: zmq.Context[zmq.Socket[bytes]] | None = None,
                 keys: ClientKeys | None = None, reply_delay_s: float = 0.0,
                 reminders: ReminderClock | None = None, notify_command: str | None = None,
                 writer: CalendarWriter | None = None, watch: CalendarWatch | None = None) -> None:
        self.responder = responder
        # Fault injection for tests and drills: hold every reply this long (a slow link).
        self.reply_delay_s = reply_delay_s
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._ctx = context or zmq.Context.instance()
        self._codec = Encoder(responder.name)
        self._dealer = self._ctx.socket(zmq.DEALER)
        self._dealer.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
        self._dealer.setsockopt(zmq.RCVHWM, 100_000)
        self._dealer.setsockopt(zmq.LINGER, 500)
        if keys is not None:  # CURVE: only the holder of the coordinator's secret key can talk to us
            keys.apply(self._dealer)
        # Watch the connection's handshakes: a refused key or a security mismatch ends the agent
        # with the reason (it would never be heard), and a new connection after the first (the
        # coordinator or the network came back) must be named by a fresh Hello.
        self._monitor = self._dealer.get_monitor_socket(HANDSHAKE_EVENTS)
        self._handshakes = 0
        self.secure = keys is not None
        self._dealer.connect(endpoints.reply)
        self.dropped = 0
        self._drops = RateLimitedLog(5.0)
        self.log: Logger = logger.bind(role="participant", agent=responder.name)
        # Reminders run on the wall clock (meetings are at wall-clock times); everything else
        # on the monotonic one. The poll below waits for whichever is due first.
        self.reminders = reminders or ReminderClock()
        self.notifier = Notifier(responder.name, notify_command, self.log)
        self.writer = writer  # agreed meetings into the owner's CalDAV calendar, if asked
        self.watch = watch  # the owner's calendars, read again to notice changes

    def run(self) -> Exit:
        previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
        poller = zmq.Poller()
        poller.register(self._dealer, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)
        try:
            outcome = self._perform(self.responder.start(time.monotonic()))
            while outcome is None:
                due = self.responder.next_deadline()
                if self._outbox:
                    due = min(due, self._outbox[0][0])
                if self.watch is not None:
                    due = min(due, self.watch.due())
                remind_at = self.reminders.next_at()
                if remind_at is not None:
                    due = min(due, time.monotonic() + (remind_at - datetime.now(UTC)).total_seconds())
                wait_ms = max(0, int((due - time.monotonic()) * 1000) + 1)
                for sock, _ in poller.poll(wait_ms):
                    outcome = outcome or (self._watch() if sock is self._monitor else self._drain())
                outcome = outcome or self._perform(self.responder.tick(time.monotonic()))
                if self.watch is not None and time.monotonic() >= self.watch.due() and self.watch.check():
                    self.log.info("the calendar changed: checking accepted meetings")
                    outcome = outcome or self._perform(self.responder.calendar_changed())
                self._remind()
                while self._outbox and self._outbox[0][0] <= time.monotonic():
                    self._send(self._outbox.popleft()[1])
            return outcome
        except _Stopped as stop:
            self._settle()
            return Exit(f"stopped by {stop}")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._dealer.disable_monitor()
            self._monitor.close(linger=0)
            self._dealer.close()
            self.notifier.close()
            if self.writer is not None:
                self.writer.close()

    def _settle(self) -> None:
        """On a stop: take in what has already arrived (a decision announced a moment ago), so
        the record written next is as current as this agent can know it."""
        try:
            self._drain()
        except _Stopped:
            pass  # a second signal: stop now

    def _remind(self) -> None:
        now = datetime.now(UTC)
        for fired in self.reminders.due(now):
            self.notifier.notify(fired, now)
        self.notifier.reap()

    def _watch(self) -> Exit | None:
        """Act on the reply connection's handshake events."""
        while self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            kind, value = event["event"], event["value"]
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._handshakes += 1
                if self._handshakes > 1:
                    self.log.info("reply connection re-established: saying Hello again")
                    self.responder.reconnected(time.monotonic())
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                return Exit(f"the coordinator refused this agent's key (status {value}): is "
                            f"{self.responder.name}.key on its allow-list?", clean=False)
            elif kind in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
                hint = ("this agent uses CURVE keys; does the coordinator?" if self.secure
                        else "the coordinator may require CURVE keys: pass --keys DIR")
                return Exit(f"handshake with the coordinator failed ({hex(value)}): {hint}", clean=False)
        return None

    def _send(self, frame: bytes) -> None:
        """Never block: with no connection (yet), the message is dropped; Hello and the
        coordinator's re-asking cover the loss, and the deadlines keep running."""
        try:
            self._dealer.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            self.log.debug("no connection to the coordinator: a message was not sent")

    def _drain(self) -> Exit | None:
        for _ in range(DRAIN_BATCH):
            try:
                frames = self._dealer.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return None
            exit_ = self._handle(frames)
            if exit_ is not None:
                return exit_
        return None

    def _handle(self, frames: list[bytes]) -> Exit | None:
        if len(frames) != 1:
            self._drop("undecodable", f"{len(frames)} frames (expected 1)")
            return None
        try:
            env = decode(frames[0])
            actions = self.responder.receive(env, time.monotonic())
        except DecodeError as exc:
            self._drop("undecodable", str(exc))
            return None
        except ProtocolError as exc:
            self._drop("refused", str(exc))
            return None
        # Anything else is our bug: it propagates, and the agent stops with exit 1.
        return self._perform(actions)

    def _drop(self, kind: str, why: str) -> None:
        """Logged once per kind per interval: one peer's garbage cannot hide another's forgery."""
        self.dropped += 1
        suppressed = self._drops.allow(kind, time.monotonic())
        if suppressed is not None:
            self.log.warning("dropped message: {}{}", why,
                             f" ({suppressed} more since the last report)" if suppressed else "")

    def _perform(self, actions: list[AgentAction]) -> Exit | None:
        for action in actions:
            if isinstance(action, Exit):
                return action
            if isinstance(action, Booked):
                m = action.meeting
                self.reminders.schedule(MeetingId(m.meeting_id), m.name, m.start, m.end, m.remind,
                                        datetime.now(UTC))
                if self.writer is not None:
                    self.writer.scheduled(m)
                continue
            if isinstance(action, Unbooked):
                self.reminders.drop(action.meeting_id)
                if self.writer is not None:
                    self.writer.dropped(action.meeting_id)
                continue
            frame = self._codec.encode(action.body)
            if self.reply_delay_s > 0:
                self._outbox.append((time.monotonic() + self.reply_delay_s, frame))
            else:
                self._send(frame)
        return None


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
