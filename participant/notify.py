"""Where a fired reminder goes: a log line, or a command of the operator's with it as JSON on stdin.

The command runs beside the agent, never in its way: it is started and given its JSON (a few
hundred bytes, well within a pipe's buffer, so the write cannot block), then reaped on later
wake-ups. Each runs in its own process group, so the kill of one that outlives
COMMAND_TIMEOUT_S reaches whatever it started too. At most MAX_RUNNING run at once; reminders
beyond wait their turn in a queue of MAX_QUEUED (one past that is dropped, with a log line).
What a command prints goes to a file of its own, not the agent's output, and its first
OUTPUT_LOGGED bytes are logged. It gets a minimal environment (PATH, HOME, locale, time zone)
plus the variables the operator names (`--notify-env NAME`): never the agent's secrets
(`password_env`) unless asked for.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING

from slotwise.participant.reminders import Fired, format_offset

if TYPE_CHECKING:
    from loguru import Logger

COMMAND_TIMEOUT_S = 30.0
MAX_RUNNING = 16
MAX_QUEUED = 256
OUTPUT_LOGGED = 1024
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "TMPDIR")


class _Running:
    def __init__(self, proc: subprocess.Popen[bytes], output: IO[bytes]) -> None:
        self.proc = proc
        self.output = output
        self.started = time.monotonic()


class Notifier:
    """One per process: a host's agents share its bound on running commands."""

    def __init__(self, command: str | None, log: Logger, env: Sequence[str] = ()) -> None:
        self.argv = shlex.split(command) if command else None
        self.log = log
        self.env = {k: v for k, v in os.environ.items() if k in PASSED_ON or k in env}
        self._running: list[_Running] = []
        self._queued: deque[bytes] = deque()
        self.sent = 0

    def notify(self, participant: str, fired: Fired, now: datetime) -> None:
        self.sent += 1
        late = " (late: its time passed while this agent was not running)" if fired.late else ""
        self.log.bind(agent=participant).info("reminder for {}: {} starts at {} ({} before){}", participant,
                                              fired.title, fired.start.isoformat(), format_offset(fired.offset_s), late)
        if self.argv is None:
            return
        if len(self._queued) >= MAX_QUEUED:
            self.log.warning("reminder for {} not passed to the notify command: {} running, {} waiting",
                             fired.meeting_id, len(self._running), len(self._queued))
            return
        self._queued.append(json.dumps(fired.as_json(participant, now)).encode())
        self.reap()

    def _start(self, payload: bytes) -> None:
        assert self.argv is not None
        output = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the command is reaped
        try:
            proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT,
                                    env=self.env, start_new_session=True)
            assert proc.stdin is not None
            proc.stdin.write(payload + b"\n")
            proc.stdin.close()
        except OSError as exc:
            output.close()
            self.log.warning("notify command {} failed: {}", self.argv[0], exc)
            return
        self._running.append(_Running(proc, output))

    def reap(self) -> None:
        """Collect finished commands, kill overdue ones (and what they started), start waiting ones."""
        now = time.monotonic()
        still: list[_Running] = []
        for run in self._running:
            code = run.proc.poll()
            if code is None and now - run.started > COMMAND_TIMEOUT_S:
                _kill_group(run.proc)
                self.log.warning("notify command ran over {}s and was killed, with what it started", COMMAND_TIMEOUT_S)
                self._said(run)
            elif code is None:
                still.append(run)
            else:
                if code != 0:
                    self.log.warning("notify command exited {}", code)
                _kill_group(run.proc)  # whatever it left running behind it
                self._said(run)
        self._running = still
        while self._queued and len(self._running) < MAX_RUNNING:
            self._start(self._queued.popleft())

    def _said(self, run: _Running) -> None:
        """Log the beginning of what the command printed, and let its file go."""
        size = run.output.tell()
        run.output.seek(0)
        head = run.output.read(OUTPUT_LOGGED).decode("utf-8", "replace").strip()
        run.output.close()
        if head:
            more = f" (+{size - OUTPUT_LOGGED:,} bytes more)" if size > OUTPUT_LOGGED else ""
            self.log.info("notify command said: {}{}", head.replace("\n", " | ")[:OUTPUT_LOGGED], more)

    @property
    def waiting(self) -> int:
        return len(self._queued)

    def close(self, wait_s: float = 2.0) -> None:
        """Give running commands a moment to finish, then stop them: never leave one behind."""
        deadline = time.monotonic() + wait_s
        for run in self._running:
            try:
                run.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill_group(run.proc)
            self._said(run)
        self._running = []
        if self._queued:
            self.log.warning("{} reminders were still waiting for the notify command", len(self._queued))
            self._queued.clear()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """The command and everything it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
