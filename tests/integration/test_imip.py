"""Invitations by mail (iMIP, RFC 6047) to a real SMTP server (aiosmtpd, started here): one mail
per attendee with an address per change, its text/calendar part's `method` equal to the
iCalendar METHOD, and nothing sent twice across runs or a SIGKILLed service."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest

from tests.helpers import REPO
from tests.integration.conftest import Children, run_cli, until
from tests.smtp_server import Smtp, smtp_server

GOLDEN = REPO / "tests" / "data" / "golden" / "berlin.yaml"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Smtp]:
    with smtp_server(tmp_path / "smtp", user="slotwise", password="mail-secret") as running:
        yield running


def _invitation(mail: EmailMessage) -> tuple[str, str, icalendar.Calendar]:
    """(recipient, the part's method parameter, the iCalendar body), checking the part's shape."""
    assert mail.get_content_type() == "multipart/alternative"
    [text] = [p for p in mail.iter_parts() if p.get_content_type() == "text/plain"]
    [part] = [p for p in mail.iter_parts() if p.get_content_type() == "text/calendar"]
    assert text.get_content().strip()
    body = part.get_payload(decode=True)
    assert isinstance(body, bytes)
    cal = icalendar.Calendar.from_ical(body)
    assert part.get_param("method") == str(cal["METHOD"])  # RFC 6047 2.4
    return str(mail["To"]), str(part.get_param("method")), cal


def test_a_run_mails_each_attendee_with_an_address_once(smtp: Smtp, tmp_path: Path) -> None:
    password = tmp_path / "smtp.password"
    password.write_text("mail-secret\n")
    ics = tmp_path / "itip"
    argv = ["run", str(GOLDEN), "--ics-out", str(ics), "--smtp", f"smtp://slotwise@127.0.0.1:{smtp.port}",
            "--smtp-password-file", str(password), "-q"]
    done = run_cli(*argv)
    assert done.returncode == 0, done.stderr
    mails = [_invitation(m) for m in smtp.mails()]
    # kickoff: ana and bo (cem has no address); the weekly sync, one series: ana and bo
    assert sorted((to, method, str(c.walk("VEVENT")[0]["UID"])) for to, method, c in mails) == [
        ("ana@example.org", "REQUEST", "kickoff@team.example.org"),
        ("ana@example.org", "REQUEST", "team-sync@team.example.org"),
        ("bo@example.org", "REQUEST", "kickoff@team.example.org"),
        ("bo@example.org", "REQUEST", "team-sync@team.example.org")]
    assert all(str(m["From"]) == "Ops Team <ops@example.org>" for m in smtp.mails())
    assert len({str(m["Message-ID"]) for m in smtp.mails()}) == 4
    again = run_cli(*argv)  # nothing changed: nothing is sent
    assert again.returncode == 0, again.stderr
    assert len(smtp.mails()) == 4


def test_a_password_on_the_command_line_or_a_wrong_one_is_refused_plainly(smtp: Smtp, tmp_path: Path) -> None:
    ics = tmp_path / "itip"
    done = run_cli("run", str(GOLDEN), "--ics-out", str(ics), "--smtp", f"smtp://slotwise:mail-secret@127.0.0.1:{smtp.port}")
    assert done.returncode == 2 and "does not go in the URL" in done.stderr and "Traceback" not in done.stderr
    assert "mail-secret" not in done.stderr
    no_folder = run_cli("run", str(GOLDEN), "--smtp", smtp.url)
    assert no_folder.returncode == 2 and "--ics-out" in no_folder.stderr
    wrong = run_cli("run", str(GOLDEN), "--ics-out", str(ics), "--smtp", f"smtp://slotwise@127.0.0.1:{smtp.port}",
                    "-q", timeout=120)
    assert wrong.returncode == 2 and "SLOTWISE_SMTP_PASSWORD" in wrong.stderr  # a user without a password


def test_a_service_mails_every_change_once_and_nothing_twice_after_a_sigkill(children: Children, smtp: Smtp) -> None:
    from tests.integration.test_serve import PEOPLE, Service, at, meeting, scenario_file

    people = {p: {"email": f"{p}@example.org"} if p != "di" else {} for p in PEOPLE}
    svc = Service(children, scenario_file(children.workdir, participants=people,
                                          organizer={"name": "Ops", "email": "ops@example.org"}))
    os.environ["SLOTWISE_SMTP_PASSWORD"] = "mail-secret"  # the children inherit it; never on a command line
    try:
        svc.extra = ["--smtp", f"smtp://slotwise@127.0.0.1:{smtp.port}"]
        svc.start()
    finally:
        del os.environ["SLOTWISE_SMTP_PASSWORD"]
    for who in PEOPLE:
        svc.agent(who)
    svc.wait_connected(len(PEOPLE))

    def sent(meeting_id: str = "plan") -> Counter[tuple[str, str, int]]:
        return Counter((to, method, int(cal.walk("VEVENT")[0]["SEQUENCE"]))
                       for to, method, cal in (_invitation(m) for m in smtp.mails())
                       if str(cal.walk("VEVENT")[0]["X-SLOTWISE-MEETING"]) == meeting_id)

    with svc.client() as c:
        c.add([meeting("plan", "ana", "bo", "di")], wait=30)
        until(lambda: len(sent()) == 2, "the invitations mailed")
        c.move("plan", not_before=at(30))
        until(lambda: len(sent()) == 4, "the update mailed")
        c.cancel("plan")
        until(lambda: len(sent()) == 6, "the cancellation mailed")
    assert sent() == Counter({(to, m, s): 1 for to in ("ana@example.org", "bo@example.org")
                              for m, s in (("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2))})  # di has no address
    assert svc.proc is not None
    os.kill(svc.proc.pid, signal.SIGKILL)
    svc.proc.wait(timeout=10)
    os.environ["SLOTWISE_SMTP_PASSWORD"] = "mail-secret"
    try:
        svc.start()
    finally:
        del os.environ["SLOTWISE_SMTP_PASSWORD"]
    svc.wait_connected(len(PEOPLE))
    with svc.client() as c:
        c.add([meeting("next", "ana", "bo")], wait=30)  # something new after the restart
    until(lambda: len(smtp.mails()) == 8, "the new meeting's invitations mailed")
    assert sum(sent().values()) == 6 and max(sent().values()) == 1  # the restart re-sent nothing
    assert sent("next") == Counter({("ana@example.org", "REQUEST", 0): 1, ("bo@example.org", "REQUEST", 0): 1})
