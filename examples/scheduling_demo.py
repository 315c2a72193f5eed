"""Invitations and answers end to end: the three ways an invitation leaves slotwise.

    pip install -e '.[test]'        # slotwise, Xandikos (a CalDAV scheduling server), aiosmtpd
    python examples/scheduling_demo.py

It starts, each on a free loopback port in a temporary folder:

- Xandikos, a CalDAV server that does scheduling (RFC 6638), with accounts for the organizer
  (ops) and two attendees (ana, bo), over HTTPS with a certificate it makes for itself;
- an SMTP server (aiosmtpd) that keeps what it is sent;
- `slotwise serve`, with the organizer's calendar account, `--smtp` and `--ics-out`, and the
  agents of ana, bo and cem (cem has no address: the agents still negotiate for him).

Then it asks for a meeting, shows where the invitation went (ana's and bo's schedule inboxes,
the mails, the iTIP file), lets bo decline in "his client" (caldav's decline_invite, as a client
does), and shows the service going on without him. Everything it started is stopped.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import yaml

USERS = {"ops": "ops-secret", "ana": "ana-secret", "bo": "bo-secret"}
ADDRESS_SET = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
               '<D:set><D:prop><C:calendar-user-address-set><D:href>mailto:{user}@example.org</D:href>'
               '</C:calendar-user-address-set></D:prop></D:set></D:propertyupdate>')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], what: str, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.2)
    return found


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


SMTP_SERVER = """
import sys, threading, signal
from pathlib import Path
from aiosmtpd.controller import Controller
folder, port, count = Path(sys.argv[1]), int(sys.argv[2]), [0]
class Keep:
    async def handle_DATA(self, server, session, envelope):
        count[0] += 1
        (folder / f"{count[0]:04d}.eml").write_bytes(envelope.original_content or envelope.content)
        return "250 OK"
controller = Controller(Keep(), hostname="127.0.0.1", port=port)
controller.start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
controller.stop()
"""


def main() -> int:
    import caldav
    import icalendar

    from slotwise.client import Client

    with tempfile.TemporaryDirectory(prefix="slotwise-scheduling-") as tmp:
        folder = Path(tmp)
        (folder / "htpasswd").write_text("".join(
            f"{u}:{{SHA}}{base64.b64encode(hashlib.sha1(p.encode()).digest()).decode()}\n" for u, p in USERS.items()))
        dav_port, smtp_port = free_port(), free_port()
        (folder / "mail").mkdir()
        started: list[subprocess.Popen[bytes]] = []

        def start(argv: list[str], log: str) -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(argv, stdout=open(folder / log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                                    stdin=subprocess.DEVNULL)
            started.append(proc)
            return proc

        try:
            start([sys.executable, "-m", "xandikos", "multi-user", "-d", str(folder / "dav"), "-l", "localhost",
                   "-p", str(dav_port), "--defaults", "--htpasswd", str(folder / "htpasswd"), "--autocert",
                   "--state-dir", str(folder / "state"), "--no-detect-systemd"], "xandikos.log")
            start([sys.executable, "-c", SMTP_SERVER, str(folder / "mail"), str(smtp_port)], "smtp.log")
            wait_for(lambda: listening(dav_port) and listening(smtp_port), "the servers to listen")
            url, ca = f"https://localhost:{dav_port}/", str(folder / "state" / "certs" / "selfsigned.crt")

            def dav(user: str) -> Any:
                return caldav.DAVClient(url, username=user, password=USERS[user], ssl_verify_cert=ca)

            for user, password in USERS.items():  # each account gets its address
                client = dav(user)
                client.proppatch(str(client.principal().url), ADDRESS_SET.format(user=user))
                (folder / f"{user}.password").write_text(password)
            day = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            while day.weekday() >= 5:  # working hours are Monday to Friday
                day += timedelta(days=1)
            scenario = folder / "team.yaml"
            scenario.write_text(yaml.safe_dump({
                "name": "scheduling-demo", "timezone": "Europe/Berlin", "uid_domain": "demo.example.org",
                "slot_minutes": 30, "reminders": ["15m"],
                "horizon": {"start": f"{day:%Y-%m-%d}T00:00:00", "end": f"{day + timedelta(days=2):%Y-%m-%d}T00:00:00"},
                "organizer": {"name": "Ops", "email": "ops@example.org",
                              "caldav": {"url": url, "username": "ops", "password_file": "ops.password",
                                         "ca_file": ca, "poll_s": 1}},
                "participants": {"ana": {"email": "ana@example.org", "display_name": "Ana Lima",
                                         "working_hours": {"start": "09:00", "end": "17:00"}},
                                 "bo": {"email": "bo@example.org", "working_hours": {"start": "09:00", "end": "17:00"}},
                                 "cem": {"working_hours": {"start": "09:00", "end": "17:00"}}},
                "policies": {"constraints": ["working-hours"]},
            }))
            admin, agents = f"ipc://{folder}/admin", f"ipc://{folder}/agents"
            start([sys.executable, "-m", "slotwise", "serve", str(scenario), "--bind", agents, "--admin", admin,
                   "--store", str(folder / "state.db"), "--ics-out", str(folder / "itip"),
                   "--smtp", f"smtp://127.0.0.1:{smtp_port}"], "serve.log")
            for who in ("ana", "bo", "cem"):
                start([sys.executable, "-m", "slotwise", "participant", "--connect", agents, "--name", who,
                       "--scenario", str(scenario)], f"{who}.log")
            with Client(admin, timeout=30) as c:
                wait_for(lambda: len(c.status()["participants"]["connected"]) == 3, "the agents to join")
                [placed] = c.add([{"id": "kickoff", "name": "Kick-off", "duration_minutes": 60,
                                   "invitees": ["ana", "bo", "cem"], "min_participants": 2,
                                   "on_decline": "drop-attendee"}], wait=30)
                if not placed["scheduled"]:
                    raise SystemExit(f"not placed: {placed['reason']}")
                print(f"placed: Kick-off at {placed['start']} with {', '.join(placed['participants'])}")

                def inbox(user: str) -> list[str]:
                    found = []
                    for item in dav(user).principal().schedule_inbox().get_items():
                        item.load()
                        cal = icalendar.Calendar.from_ical(item.data)
                        ev = cal.walk("VEVENT")[0]
                        found.append(f"{cal['METHOD']} {ev['SUMMARY']} (SEQUENCE {ev.get('SEQUENCE', 0)})")
                    return sorted(found)

                for user in ("ana", "bo"):
                    print(f"{user}'s schedule inbox: {wait_for(lambda u=user: inbox(u), f'{user} invited')}")
                mails = wait_for(lambda: sorted((folder / "mail").glob("*.eml")) if len(
                    list((folder / "mail").glob("*.eml"))) >= 2 else None, "the mails")
                for path in mails:
                    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
                    print(f"mail to {mail['To']}: {mail['Subject']}")
                print(f"iTIP file: {folder / 'itip' / 'kickoff.ics'} "
                      f"({(folder / 'itip' / 'kickoff.ics').read_text().splitlines()[3]})")

                item = next(i for i in dav("bo").principal().schedule_inbox().get_items())
                item.load()
                item.decline_invite()  # what bo's calendar client does when he declines
                print("bo declines in his client")

                def without_bo() -> dict[str, Any] | None:
                    [entry] = c.get("kickoff")
                    return entry if "bo" not in entry["participants"] else None

                entry = wait_for(without_bo, "the service to take bo's answer")
                print(f"the service goes on without him: {', '.join(entry['participants'])}; "
                      f"answers: {entry['answers']}")
                told = wait_for(lambda: inbox("bo") if any("CANCEL" in m for m in inbox("bo")) else None, "bo told")
                print(f"bo's schedule inbox: {told}")
            return 0
        finally:
            for proc in reversed(started):
                proc.terminate()
            for proc in started:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    sys.exit(main())
