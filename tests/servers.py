"""Servers the tests start (Radicale, Xandikos, an SMTP server): a process of its own on a
loopback port, ready once it accepts a connection (under a deadline), stopped by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def listening(argv: list[str], folder: Path, port: int, name: str, *, timeout_s: float = 30.0,
              env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start `argv` (its output in `folder/NAME.log`), wait until 127.0.0.1:`port` accepts, and
    stop it by pid (SIGTERM, then SIGKILL) when done."""
    log_path = folder / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed when the server stops
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start: {log_path.read_text()[-2000:]}") from None
                time.sleep(0.05)  # ok-sleep: waiting for another process to listen, under a deadline
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
