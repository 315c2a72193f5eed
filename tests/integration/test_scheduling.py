"""CalDAV scheduling (RFC 6638) against a real scheduling server (Xandikos, started here): the
service puts each meeting in the organizer's calendar, the server delivers the invitations to the
attendees' inboxes and calendars, the attendees answer with caldav's own accept/decline, and the
service reacts to each decline by the meeting's `on_decline`."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icalendar
import pytest

from tests.integration.conftest import Children, until
from tests.xandikos_server import Xandikos, xandikos

PEOPLE = ("ana", "bo", "cy", "di")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Xandikos]:
    with xandikos(tmp_path_factory.mktemp("xandikos")) as running:
        yield running


def _messages(server: Xandikos, user: str, meeting_id: str) -> list[tuple[str, int]]:
    """(METHOD, SEQUENCE) of each message about `meeting_id` in the user's inbox, by SEQUENCE."""
    out = []
    for item in server.inbox(user):
        cal = icalendar.Calendar.from_ical(item.data)
        events = [e for e in cal.walk("VEVENT") if str(e.get("X-SLOTWISE-MEETING", "")) == meeting_id]
        if events:
            out.append((str(cal.get("METHOD", "")), int(events[0].get("SEQUENCE", 0))))
    return sorted(out, key=lambda m: (m[1], m[0]))


def _invitation(server: Xandikos, user: str, meeting_id: str) -> Any:
    """The newest REQUEST for `meeting_id` in the user's inbox (what a client answers)."""
    found = []
    for item in server.inbox(user):
        cal = icalendar.Calendar.from_ical(item.data)
        for e in cal.walk("VEVENT"):
            if str(e.get("X-SLOTWISE-MEETING", "")) == meeting_id and str(cal.get("METHOD")) == "REQUEST":
                found.append((int(e.get("SEQUENCE", 0)), item))
    return max(found, key=lambda f: f[0])[1]


def _in_calendar(server: Xandikos, user: str, meeting_id: str) -> list[Any]:
    return [e for obj in server.calendar(user).events() for e in icalendar.Calendar.from_ical(obj.data).walk("VEVENT")
            if str(e.get("X-SLOTWISE-MEETING", "")) == meeting_id]


def one(client: Any, meeting_id: str) -> dict[str, Any]:
    [entry] = client.get(meeting_id)
    return entry


def _service(children: Children, server: Xandikos) -> Any:
    from tests.integration.test_serve import Service, scenario_file

    people = {p: {"email": f"{p}@example.org", "display_name": p.title()} for p in PEOPLE}
    organizer = {"name": "Ops", "email": "ops@example.org", "caldav": server.caldav_spec("ops")}
    svc = Service(children, scenario_file(children.workdir, participants=people, organizer=organizer,
                                          negotiation={"join_timeout_s": 10, "response_timeout_s": 1,
                                                       "hold_timeout_s": 1, "heartbeat_s": 0.25,
                                                       "conflict_quiet_s": 0}))
    svc.start()
    for who in PEOPLE:
        svc.agent(who)
    svc.wait_connected(len(PEOPLE))
    return svc


def test_invitations_reach_inboxes_answers_come_back_and_declines_are_answered_by_policy(
        children: Children, server: Xandikos) -> None:
    from tests.integration.test_serve import meeting

    svc = _service(children, server)
    with svc.client() as c:
        [drop] = c.add([meeting("drop", "ana", "bo", "cy", min_participants=2, on_decline="drop-attendee")], wait=30)
        [move] = c.add([meeting("move", "ana", "bo", on_decline="move")], wait=30)
        [keep] = c.add([meeting("keep", "ana", "bo", on_decline="keep")], wait=30)
    for mid, who in (("drop", ("ana", "bo", "cy")), ("move", ("ana", "bo")), ("keep", ("ana", "bo"))):
        for user in who:
            until(lambda u=user, m=mid: _messages(server, u, m) == [("REQUEST", _messages(server, u, m)[0][1])],
                  f"{user}'s inbox has the invitation to {mid}")
            [copy] = _in_calendar(server, user, mid)  # and the server put it in their calendar
            assert str(copy["UID"]).startswith(f"{mid}@")
    assert _messages(server, "di", "drop") == []  # not invited, told nothing

    # ana declines `drop` in her client: the service goes on without her (the rule holds with 2)
    _invitation(server, "ana", "drop").decline_invite()
    with svc.client() as c:
        until(lambda: one(c, "drop")["participants"] == ["bo", "cy"], "drop goes on without ana")
        assert one(c, "drop")["answers"]["ana"] == "declined"
    until(lambda: _messages(server, "ana", "drop")[-1][0] == "CANCEL", "ana told she is no longer expected")

    # bo declines `move`: it moves, and the new time reaches both inboxes as a newer REQUEST
    first = _messages(server, "ana", "move")[-1][1]
    _invitation(server, "bo", "move").decline_invite()
    with svc.client() as c:
        until(lambda: one(c, "move")["start"] != move["start"], "move moved")
        assert "answers" not in one(c, "move") or one(c, "move")["answers"].get("bo") != "declined"
    for user in ("ana", "bo"):
        until(lambda u=user: _messages(server, u, "move")[-1] == ("REQUEST", _messages(server, u, "move")[-1][1])
              and _messages(server, u, "move")[-1][1] > first, f"{user} has the new time")

    # bo declines `keep`: it stays as it is, and the answer shows
    _invitation(server, "bo", "keep").tentatively_accept_invite()
    _invitation(server, "ana", "keep").decline_invite()
    with svc.client() as c:
        until(lambda: one(c, "keep").get("answers") == {"ana": "declined", "bo": "tentative"}, "keep's answers shown")
        assert one(c, "keep")["start"] == keep["start"] and one(c, "keep")["participants"] == ["ana", "bo"]
        assert c.status()["answers"]["declined"] >= 2

        c.cancel("keep")
    for user in ("ana", "bo"):
        until(lambda u=user: _messages(server, u, "keep")[-1][0] == "CANCEL", f"{user} told keep is cancelled")

    _invitation(server, "bo", "drop").accept_invite()
    with svc.client() as c:
        until(lambda: one(c, "drop").get("answers", {}).get("bo") == "accepted", "bo's acceptance shown")

    # SIGKILL and restart: the service learns the answers again and sends nothing twice
    before = {u: sum(len(_messages(server, u, m)) for m in ("drop", "move", "keep")) for u in PEOPLE}
    assert svc.proc is not None
    os.kill(svc.proc.pid, signal.SIGKILL)
    svc.proc.wait(timeout=10)
    svc.start()
    svc.wait_connected(len(PEOPLE))
    with svc.client() as c:
        until(lambda: one(c, "drop").get("answers", {}).get("bo") == "accepted", "answers learned again")
        [late] = c.add([meeting("late", "ana", "di")], wait=30)  # something new, after the restart
    until(lambda: len(_messages(server, "di", "late")) == 1, "the new invitation delivered")
    after = {u: sum(len(_messages(server, u, m)) for m in ("drop", "move", "keep")) for u in PEOPLE}
    assert after == before
    assert late["scheduled"]


def test_a_wrong_organizer_password_stops_the_start_in_one_line(children: Children, server: Xandikos,
                                                                tmp_path: Path) -> None:
    import yaml

    from tests.integration.conftest import run_cli
    from tests.integration.test_serve import scenario_file

    wrong = tmp_path / "wrong.password"
    wrong.write_text("not it\n")
    spec = server.caldav_spec("ops") | {"password_file": str(wrong)}
    path = scenario_file(tmp_path, organizer={"email": "ops@example.org", "caldav": spec})
    assert yaml.safe_load(path.read_text())["organizer"]["caldav"]["username"] == "ops"
    done = run_cli("serve", str(path), "--bind", f"ipc://{tmp_path}/a", "--admin", f"ipc://{tmp_path}/b",
                   "--store", str(tmp_path / "s.db"), timeout=60)
    assert done.returncode == 2 and "refused the login" in done.stderr and "Traceback" not in done.stderr


def test_the_documented_scheduling_demo_runs() -> None:
    """examples/scheduling_demo.py, as the README tells a new user to run it."""
    import subprocess
    import sys

    from tests.helpers import REPO

    done = subprocess.run([sys.executable, str(REPO / "examples" / "scheduling_demo.py")], capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr + done.stdout
    for line in ("ana's schedule inbox: ['REQUEST Kick-off (SEQUENCE 0)']", "mail to bo@example.org: Invitation: Kick-off",
                 "the service goes on without him: ana, cem", "'bo': 'declined'", "CANCEL Kick-off"):
        assert line in done.stdout, done.stdout
