"""The notify command, with real processes: its kill reaches what it started, reminders past the
running bound wait instead of being dropped, its output stays out of the agent's, and it gets a
minimal environment (no `password_env` secret unless named)."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from loguru import logger

from slotwise.participant import notify
from slotwise.participant.notify import Notifier
from slotwise.participant.reminders import Fired
from slotwise.shared.ids import MeetingId

START = datetime(2024, 7, 22, 9, tzinfo=UTC)


def _fired(n: int = 0) -> Fired:
    return Fired(MeetingId(f"m{n}"), "Sync", START, START + timedelta(hours=1), 900, START - timedelta(minutes=15), False)


def _until(check: Callable[[], bool], notifier: Notifier, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the deadline"
        notifier.reap()
        time.sleep(0.02)  # ok-sleep: polling other processes' effects, under a deadline


def _python(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def test_an_overdue_command_is_killed_with_what_it_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "COMMAND_TIMEOUT_S", 0.5)
    pid_file = tmp_path / "grandchild.pid"
    notifier = Notifier(f"sh -c 'sleep 150 & echo $! > {pid_file}; wait'", logger)
    notifier.notify("ana", _fired(), START)
    _until(pid_file.exists, notifier)
    _until(lambda: pid_file.read_text().strip() != "", notifier)
    grandchild = int(pid_file.read_text())
    assert _alive(grandchild)
    _until(lambda: not notifier._running, notifier)  # over its 0.5 s: killed, with its group
    _until(lambda: not _alive(grandchild), notifier, within=5)


def test_reminders_past_the_running_bound_wait_their_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "MAX_RUNNING", 1)
    out = tmp_path / "got"
    notifier = Notifier(_python(f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read())"), logger)
    for n in range(5):
        notifier.notify("ana", _fired(n), START)
    assert notifier.waiting == 4  # one running, four queued: none dropped
    _until(lambda: out.exists() and out.read_text().count("\n") == 5, notifier)
    assert [f'"m{n}"' in out.read_text() for n in range(5)] == [True] * 5


def test_output_stays_out_of_the_agents_own_and_is_logged_in_brief(capfd: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO")
    try:
        notifier = Notifier(_python("import sys; sys.stdout.write('hello\\n' + 'x' * 5_000_000)"), logger)
        notifier.notify("ana", _fired(), START)
        _until(lambda: not notifier._running, notifier)
    finally:
        logger.remove(sink)
    captured = capfd.readouterr()  # at most the log line itself, never the command's 5 MB
    assert len(captured.out) + len(captured.err) < 10_000
    said = [line for line in lines if "notify command said: hello" in line]
    assert len(said) == 1 and "bytes more" in said[0] and len(said[0]) < 2000


def test_the_command_gets_a_minimal_environment_plus_what_is_named(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALDAV_PASSWORD", "s3cret")
    monkeypatch.setenv("NOTIFY_TOKEN", "t0ken")
    dump = _python("import os, sys; sys.stdin.read(); open(sys.argv[1], 'w').write(repr(dict(os.environ)))")
    for names, expect_token in (((), False), (("NOTIFY_TOKEN",), True)):
        out = tmp_path / f"env-{expect_token}"
        notifier = Notifier(f"{dump} {out}", logger, names)
        notifier.notify("ana", _fired(), START)
        _until(out.exists, notifier)
        _until(lambda n=notifier: not n._running, notifier)  # type: ignore[misc]
        env = out.read_text()
        assert "s3cret" not in env and ("t0ken" in env) is expect_token and "PATH" in env
    assert os.environ["CALDAV_PASSWORD"] == "s3cret"  # the agent's own environment is untouched
