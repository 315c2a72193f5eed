"""A real CalDAV server for tests: Radicale on a loopback port, htpasswd users, a private folder.

Started as its own process and stopped by pid; `upload` puts an .ics file's events on it the way
a calendar program would (one resource per UID, overrides with their master)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import icalendar

from tests.servers import free_port, listening

USERS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret", "dave": "dave-secret"}


class Radicale:
    def __init__(self, folder: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.folder, self.port, self.proc = folder, port, proc
        self.url = f"http://127.0.0.1:{port}/"

    def password_file(self, user: str) -> Path:
        path = self.folder / f"{user}.password"
        path.write_text(USERS[user] + "\n")
        path.chmod(0o600)
        return path

    def client(self, user: str):  # type: ignore[no-untyped-def]
        import caldav

        return caldav.DAVClient(self.url, username=user, password=USERS[user])

    def calendar(self, user: str, cal_id: str = "work"):  # type: ignore[no-untyped-def]
        """The user's calendar `cal_id`, made if it does not exist."""
        principal = self.client(user).principal()
        for cal in principal.calendars():
            if str(cal.url).rstrip("/").endswith(f"/{cal_id}"):
                return cal
        return principal.make_calendar(name=cal_id, cal_id=cal_id)

    def upload(self, user: str, ics: Path, cal_id: str = "work") -> int:
        cal = self.calendar(user, cal_id)
        parsed = icalendar.Calendar.from_ical(ics.read_bytes())
        zones = [c for c in parsed.subcomponents if c.name == "VTIMEZONE"]
        by_uid: dict[str, list[icalendar.cal.Component]] = {}
        for c in parsed.subcomponents:
            if c.name in ("VEVENT", "VFREEBUSY"):
                by_uid.setdefault(str(c.get("UID", f"{ics.stem}-{len(by_uid)}")), []).append(c)
        for parts in by_uid.values():
            one = icalendar.Calendar()
            for key in ("VERSION", "PRODID", "X-WR-TIMEZONE"):
                if key in parsed:
                    one.add(key, parsed[key])
            for c in zones + parts:
                one.add_component(c)
            cal.save_event(one.to_ical().decode())
        return len(by_uid)


@contextmanager
def radicale(folder: Path, timeout_s: float = 30.0) -> Iterator[Radicale]:
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / "users"
    users.write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()))
    port = free_port()
    argv = [sys.executable, "-m", "radicale", "--config", "", "--server-hosts", f"127.0.0.1:{port}",
            "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(users),
            "--auth-htpasswd-encryption", "plain", "--storage-filesystem-folder", str(folder / "collections"),
            "--logging-level", "warning"]
    with listening(argv, folder, port, "radicale", timeout_s=timeout_s) as proc:
        yield Radicale(folder, port, proc)
