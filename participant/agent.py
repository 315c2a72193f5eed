"""The participant's shell: a SUB and a DEALER socket around the responder core.

Broadcasts arrive on SUB (the agent's own topic and the everyone-topic); direct messages (holds,
releases) arrive on DEALER. Every frame is decoded at one door; anything that does not decode,
or that the core refuses, is logged and dropped, and the agent carries on.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import zmq
import zmq.asyncio
from loguru import logger

from participant.responder import AgentAction, Exit, Responder, Send
from shared.codec import MAX_FRAME_BYTES, Encoder, decode
from shared.endpoints import Endpoints
from shared.errors import DecodeError, ProtocolError
from shared.topics import BROADCAST_TOPIC, topic_for

if TYPE_CHECKING:
    from loguru import Logger


class AgentService:
    def __init__(self, responder: Responder, endpoints: Endpoints,
                 context: zmq.asyncio.Context | None = None) -> None:
        self.responder = responder
        self._ctx = context or zmq.asyncio.Context.instance()
        self._codec = Encoder(responder.name)
        self._sub = self._ctx.socket(zmq.SUB)
        self._dealer = self._ctx.socket(zmq.DEALER)
        for sock in (self._sub, self._dealer):
            sock.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
            sock.setsockopt(zmq.RCVHWM, 100_000)
            sock.setsockopt(zmq.LINGER, 500)
        self._sub.setsockopt(zmq.SUBSCRIBE, BROADCAST_TOPIC)
        self._sub.setsockopt(zmq.SUBSCRIBE, topic_for(responder.name))
        self._sub.connect(endpoints.publish)
        self._dealer.connect(endpoints.reply)
        self._stop = asyncio.Event()
        self.dropped = 0
        self.log: Logger = logger.bind(role="participant", agent=responder.name)

    async def run(self) -> Exit:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        poller = zmq.asyncio.Poller()
        poller.register(self._sub, zmq.POLLIN)
        poller.register(self._dealer, zmq.POLLIN)
        try:
            outcome = self._perform(self.responder.start(time.monotonic()))
            while outcome is None:
                if self._stop.is_set():
                    return Exit("stopped by signal")
                wait_ms = max(0, int((self.responder.next_deadline() - time.monotonic()) * 1000) + 1)
                poll = asyncio.ensure_future(poller.poll(min(wait_ms, 1000)))
                stop = asyncio.ensure_future(self._stop.wait())
                done, _ = await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                if poll not in done:
                    poll.cancel()
                    continue
                for sock, _ in poll.result():
                    outcome = outcome or await self._drain(sock)
                outcome = outcome or self._perform(self.responder.tick(time.monotonic()))
            return outcome
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            self._sub.close()
            self._dealer.close()

    async def _drain(self, sock: zmq.asyncio.Socket) -> Exit | None:
        for _ in range(1000):
            try:
                frames = await sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return None
            exit_ = self._handle(frames, routed=sock is self._sub)
            if exit_ is not None:
                return exit_
        return None

    def _handle(self, frames: list[bytes], routed: bool) -> Exit | None:
        expected = 2 if routed else 1
        if len(frames) != expected:
            return self._drop(f"{len(frames)} frames (expected {expected})")
        try:
            env = decode(frames[-1])
            actions = self.responder.receive(env, time.monotonic())
        except (DecodeError, ProtocolError) as exc:
            return self._drop(str(exc))
        except Exception:  # a bug of ours; keep answering the honest messages
            self.log.exception("internal error while handling a message")
            return None
        return self._perform(actions)

    def _drop(self, why: str) -> None:
        self.dropped += 1
        self.log.warning("dropped message: {}", why)

    def _perform(self, actions: list[AgentAction]) -> Exit | None:
        for action in actions:
            if isinstance(action, Exit):
                return action
            _, frame = self._codec.encode(action.body, action.parent)
            self._dealer.send(frame, copy=False)
        return None


def write_record(path: Path, responder: Responder, exit_: Exit) -> None:
    """What this agent agreed to, for the operator or a test harness to compare with the coordinator."""
    cal = responder.calendar
    record = {
        "name": responder.name,
        "exit": exit_.reason,
        "accepted": [
            {"id": c.meeting_id, "start": c.when.start.isoformat(), "end": c.when.end.isoformat()}
            for c in sorted(cal.accepted.values(), key=lambda c: c.when)
        ],
        "holds": sorted(cal.holds),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(path)
