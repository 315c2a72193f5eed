"""A real CalDAV scheduling server for tests: Xandikos (RFC 6638 implicit scheduling) in multi-user
mode on a loopback port, HTTPS with its own self-signed certificate (it takes passwords only over
TLS), htpasswd users, each with the calendar address `mailto:USER@example.org`. Started as its
own process and stopped by pid."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.servers import free_port, listening

USERS = ("ops", "ana", "bo", "cy", "di")
ADDRESS_SET = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
               '<D:set><D:prop><C:calendar-user-address-set><D:href>mailto:{user}@example.org</D:href>'
               '</C:calendar-user-address-set></D:prop></D:set></D:propertyupdate>')


def password(user: str) -> str:
    return f"{user}-secret"


class Xandikos:
    def __init__(self, folder: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.folder, self.port, self.proc = folder, port, proc
        self.url = f"https://localhost:{port}/"
        self.ca_file = folder / "state" / "certs" / "selfsigned.crt"

    def password_file(self, user: str) -> Path:
        path = self.folder / f"{user}.password"
        path.write_text(password(user) + "\n")
        path.chmod(0o600)
        return path

    def client(self, user: str) -> Any:
        import caldav

        return caldav.DAVClient(self.url, username=user, password=password(user), ssl_verify_cert=str(self.ca_file))

    def calendar(self, user: str) -> Any:
        return self.client(user).principal().calendars()[0]

    def inbox(self, user: str) -> list[Any]:
        """The user's schedule inbox: the iTIP messages the server delivered, each loaded."""
        items = list(self.client(user).principal().schedule_inbox().get_items())
        for item in items:
            item.load()
        return items

    def caldav_spec(self, user: str) -> dict[str, Any]:
        return {"url": self.url, "username": user, "password_file": str(self.password_file(user)),
                "ca_file": str(self.ca_file), "poll_s": 1}


@contextmanager
def xandikos(folder: Path, users: tuple[str, ...] = USERS, timeout_s: float = 60.0) -> Iterator[Xandikos]:
    folder.mkdir(parents=True, exist_ok=True)
    htpasswd = folder / "htpasswd"
    htpasswd.write_text("".join(f"{u}:{{SHA}}{base64.b64encode(hashlib.sha1(password(u).encode()).digest()).decode()}\n"
                                for u in users))
    port = free_port()
    argv = [sys.executable, "-m", "xandikos", "multi-user", "-d", str(folder / "data"), "-l", "localhost",
            "-p", str(port), "--defaults", "--htpasswd", str(htpasswd), "--autocert", "--state-dir",
            str(folder / "state"), "--no-detect-systemd"]
    with listening(argv, folder, port, "xandikos", timeout_s=timeout_s) as proc:
        server = Xandikos(folder, port, proc)
        for user in users:  # each principal made (first request), then given its address
            client = server.client(user)
            principal = client.principal()
            answer = client.proppatch(str(principal.url), ADDRESS_SET.format(user=user))
            assert answer.status == 207, f"{user}: PROPPATCH calendar-user-address-set: {answer.status}"
        yield server
