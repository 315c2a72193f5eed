"""Where a fired reminder goes: a log line, or a command of the operator's with it as JSON on stdin.

The command runs beside the agent, never in its way: it is started and given its JSON (a few
hundred bytes, well within a pipe's buffer, so the write cannot block), then reaped on later
wake-ups. One that outlives COMMAND_TIMEOUT_S is killed, and no more than MAX_RUNNING run at
once, so a hung notifier cannot pile up processes.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from datetime import datetime
from typing import TYPE_CHECKING

from slotwise.participant.reminders import Fired, format_offset

if TYPE_CHECKING:
    from loguru import Logger

COMMAND_TIMEOUT_S = 30.0
MAX_RUNNING = 16


class Notifier:
    """One per process: a host's agents share its bound on running commands."""

    def __init__(self, command: str | None, log: Logger) -> None:
        self.argv = shlex.split(command) if command else None
        self.log = log
        self._running: list[tuple[float, subprocess.Popen[bytes]]] = []
        self.sent = 0

    def notify(self, participant: str, fired: Fired, now: datetime) -> None:
        self.sent += 1
        late = " (late: its time passed while this agent was not running)" if fired.late else ""
        self.log.bind(agent=participant).info("reminder for {}: {} starts at {} ({} before){}", participant,
                                              fired.title, fired.start.isoformat(), format_offset(fired.offset_s), late)
        if self.argv is None:
            return
        self.reap()
        if len(self._running) >= MAX_RUNNING:
            self.log.warning("reminder for {} not passed to the notify command: {} still running",
                             fired.meeting_id, len(self._running))
            return
        payload = json.dumps(fired.as_json(participant, now)).encode()
        try:
            proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE)
            assert proc.stdin is not None
            proc.stdin.write(payload + b"\n")
            proc.stdin.close()
        except OSError as exc:
            self.log.warning("notify command {} failed: {}", self.argv[0], exc)
            return
        self._running.append((time.monotonic(), proc))

    def reap(self) -> None:
        now = time.monotonic()
        still: list[tuple[float, subprocess.Popen[bytes]]] = []
        for started, proc in self._running:
            code = proc.poll()
            if code is None and now - started > COMMAND_TIMEOUT_S:
                proc.kill()
                proc.wait()
                self.log.warning("notify command ran over {}s and was killed", COMMAND_TIMEOUT_S)
            elif code is None:
                still.append((started, proc))
            elif code != 0:
                self.log.warning("notify command exited {}", code)
        self._running = still

    def close(self, wait_s: float = 2.0) -> None:
        """Give running commands a moment to finish, then stop them: never leave one behind."""
        deadline = time.monotonic() + wait_s
        for _, proc in self._running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._running = []
