"""Real calendars end to end: a CalDAV server, two people's calendars, one negotiated meeting.

    pip install -e '.[test]'        # slotwise, and Radicale (a real CalDAV server)
    python examples/caldav_demo.py

It starts Radicale on a free loopback port in a temporary folder, with users anna and ben, puts
a dentist appointment in anna's calendar, and runs `slotwise run` on a scenario whose two
participants read (and write) those calendars over CalDAV. The meeting avoids the dentist and
then appears in both calendars, which the script prints. Everything it started is stopped.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

USERS = {"anna": "anna-secret", "ben": "ben-secret"}


def main() -> int:
    import caldav

    with tempfile.TemporaryDirectory(prefix="slotwise-caldav-") as tmp:
        folder = Path(tmp)
        (folder / "users").write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", "", "--server-hosts", f"127.0.0.1:{port}",
             "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(folder / "users"),
             "--auth-htpasswd-encryption", "plain", "--storage-filesystem-folder", str(folder / "collections")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        print("Radicale did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.1)
            url = f"http://127.0.0.1:{port}/"
            day = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            calendars = {}
            for user, password in USERS.items():
                (folder / f"{user}.password").write_text(password)
                principal = caldav.DAVClient(url, username=user, password=password).principal()
                calendars[user] = principal.make_calendar(name="Work", cal_id="work")
            calendars["anna"].save_event(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//demo//EN\r\nBEGIN:VEVENT\r\nUID:dentist\r\n"
                f"DTSTAMP:{day:%Y%m%dT%H%M%SZ}\r\nDTSTART:{day:%Y%m%d}T090000Z\r\nDTEND:{day:%Y%m%d}T110000Z\r\n"
                "SUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
            scenario = folder / "caldav.yaml"
            scenario.write_text(yaml.safe_dump({
                "name": "caldav-demo", "timezone": "UTC", "slot_minutes": 30,
                "horizon": {"start": f"{day:%Y-%m-%d}T08:00:00Z", "end": f"{day:%Y-%m-%d}T17:00:00Z"},
                "participants": {user: {"caldav": {"url": url, "username": user, "write": True,
                                                   "password_file": f"{user}.password"}} for user in USERS},
                "meetings": [{"id": "kickoff", "name": "Kick-off", "duration_minutes": 60,
                              "invitees": list(USERS), "not_before": f"{day:%Y-%m-%d}T09:00:00Z"}],
            }))
            print(f"Radicale at {url}; anna has a dentist appointment 09:00-11:00 UTC tomorrow")
            done = subprocess.run([sys.executable, "-m", "slotwise", "run", str(scenario),
                                   "--ics-out", str(folder / "itip")])
            if done.returncode != 0:
                return done.returncode
            deadline = time.monotonic() + 15  # the agents write on a thread of their own
            for user, calendar in calendars.items():
                while True:
                    events = [e for e in calendar.events() if "X-SLOTWISE-MEETING:kickoff" in e.data]
                    if events or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                for event in calendar.events():
                    ev = event.icalendar_component
                    print(f"{user}'s calendar: {ev['SUMMARY']} {ev.decoded('DTSTART'):%H:%M}-{ev.decoded('DTEND'):%H:%M}")
            return 0
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
