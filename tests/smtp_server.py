"""A real SMTP server for tests: aiosmtpd on a loopback port, in its own process, stopped by pid.

Each accepted mail is one file in `folder/mail/` (in order of arrival); with a user and password it
requires AUTH (over plain SMTP on loopback: the test has no certificate). Run as a script by
`smtp_server()`, which waits until it accepts connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


@contextmanager
def smtp_server(folder: Path, user: str | None = None, password: str | None = None,
                timeout_s: float = 30.0) -> Iterator[Smtp]:
    from tests.servers import free_port, listening  # here: this file also runs as the server's script

    (folder / "mail").mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "SMTP_USER": user or "", "SMTP_PASSWORD": password or ""}
    with listening([sys.executable, __file__, str(folder / "mail"), str(port)], folder, port, "smtp",
                   timeout_s=timeout_s, env=env) as proc:
        yield Smtp(folder, port, proc)


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
