"""The participant process on its own: how it ends when nobody talks to it, or it is told to stop."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.conftest import SLOTWISE, Children, run_cli

pytestmark = pytest.mark.integration


def _wait_for(path: Path, text: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)  # ok-sleep: polling a log file under a deadline
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_gives_up_when_the_coordinator_stays_silent(workdir: Path, children: Children) -> None:
    started = time.monotonic()
    proc = children.participant(f"ipc://{workdir}/nobody", "alice", timeout_s=1.0)
    assert proc.wait(timeout=20) == 1
    assert time.monotonic() - started < 15
    assert "coordinator silent for 1s; giving up" in children.log("alice")
    assert children.record("alice")["accepted"] == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_exits_cleanly_on_signal(sig: signal.Signals, workdir: Path, children: Children) -> None:
    proc = children.start([*SLOTWISE, "participant", "--connect", f"ipc://{workdir}/nobody",
                           "--name", "bob", "--record", str(children.record_path("bob")),
                           "--log-level", "DEBUG"], "bob")
    _wait_for(workdir / "bob.log", "connecting")
    os.kill(proc.pid, sig)
    assert proc.wait(timeout=10) == 0
    assert children.record("bob")["exit"] == f"stopped by {sig.name}"


def test_bad_arguments_are_bad_input(workdir: Path) -> None:
    bad_name = run_cli("participant", "--connect", "tcp://127.0.0.1:1", "--name", "no spaces")
    assert bad_name.returncode == 2 and "invalid --name" in bad_name.stderr
    bad_addr = run_cli("participant", "--connect", "udp://x", "--name", "a")
    assert bad_addr.returncode == 2 and "use tcp://HOST:PORT or ipc://PATH" in bad_addr.stderr
    avail = workdir / "a.yaml"
    avail.write_text("available: [[2024-07-22T09:00:00Z]]\n")
    bad_file = run_cli("participant", "--connect", "tcp://127.0.0.1:1", "--name", "a",
                       "--availability", str(avail))
    assert bad_file.returncode == 2 and f"{avail}:1: available[0]: a window is [start, end]" in bad_file.stderr
    assert "Traceback" not in bad_file.stderr
