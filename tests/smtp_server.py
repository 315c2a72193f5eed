"""A real SMTP server for tests: aiosmtpd on a loopback port, in its own process, stopped by pid.

Each accepted mail is one file in `folder/mail/` (in order of arrival); with a user and password it
requires AUTH (over plain SMTP on loopback: the test has no certificate). Run as a script by
`smtp_server()`, which waits until it accepts connections."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any


class Smtp:
    def __init__(self, folder: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.folder, self.port, self.proc = folder, port, proc
        self.url = f"smtp://127.0.0.1:{port}"

    def mails(self) -> list[EmailMessage]:
        return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
                for p in sorted((self.folder / "mail").glob("*.eml"))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(folder: Path, user: str | None = None, password: str | None = None,
                timeout_s: float = 30.0) -> Iterator[Smtp]:
    (folder / "mail").mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = open(folder / "smtp.log", "wb")  # noqa: SIM115 - closed when the server stops
    env = {**os.environ, "SMTP_USER": user or "", "SMTP_PASSWORD": password or ""}
    proc = subprocess.Popen([sys.executable, __file__, str(folder / "mail"), str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"SMTP server did not start: {(folder / 'smtp.log').read_text()[-2000:]}") from None
                time.sleep(0.05)  # ok-sleep: waiting for another process to listen, under a deadline
        yield Smtp(folder, port, proc)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _serve(folder: Path, port: int) -> None:
    import threading

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    user, password = os.environ.get("SMTP_USER", ""), os.environ.get("SMTP_PASSWORD", "")
    count = [0]

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            count[0] += 1
            tmp = folder / f".{count[0]:06d}.tmp"
            tmp.write_bytes(envelope.original_content or envelope.content)
            tmp.rename(folder / f"{count[0]:06d}.eml")  # whole or not at all
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
        return AuthResult(success=ok)

    kwargs: dict[str, Any] = {}
    if user:
        kwargs = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), int(sys.argv[2]))
