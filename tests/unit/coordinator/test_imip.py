"""Mail for an iTIP message (RFC 6047), and the outbox that sends each letter once."""

from __future__ import annotations

import smtplib
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from slotwise.coordinator.imip import Letter, message, recipients
from slotwise.coordinator.mailer import Mailer, SmtpServer
from slotwise.shared.errors import InputError

BODY = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def _letter(who: str = "ana@example.org", sequence: int = 0, method: str = "REQUEST") -> Letter:
    return Letter("sync", sequence, method, who, "Sync", "Mon 21 Oct 2024 10:00-11:00 (Europe/Berlin)", BODY)


def test_only_real_addresses_are_mailed_and_never_the_organizer() -> None:
    found = recipients(["mailto:ana@example.org", "MAILTO:bo@x.org", "mailto:cem@slotwise.invalid",
                        "mailto:ops@example.org", "mailto:ana@example.org", "urn:uuid:1"], "ops@example.org")
    assert found == ["ana@example.org", "bo@x.org"]


def test_the_calendar_part_says_its_method_and_the_message_id_is_the_changes() -> None:
    mail = message(_letter(sequence=2), "ops@example.org", "Ops", "team.example.org")
    [text, part] = list(mail.iter_parts())
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
    assert part.get_payload(decode=True) == BODY and "Sync" in text.get_content()
    assert str(mail["Subject"]) == "Updated invitation: Sync" and str(mail["From"]) == "Ops <ops@example.org>"
    again = message(_letter(sequence=2), "ops@example.org", "Ops", "team.example.org")
    assert mail["Message-ID"] == again["Message-ID"] != message(_letter(sequence=3), "o@x", None, "d")["Message-ID"]
    assert str(message(_letter(method="CANCEL"), "o@x", None, "d")["Subject"]) == "Cancelled: Sync"


def test_a_password_in_the_url_is_refused_and_schemes_have_their_ports() -> None:
    with pytest.raises(InputError, match="does not go in the URL"):
        SmtpServer.parse("smtp://me:secret@mail.example.org", None)
    with pytest.raises(InputError, match="expected smtp://"):
        SmtpServer.parse("http://mail.example.org", None)
    assert SmtpServer.parse("smtps://mail.example.org", None).port == 465
    assert SmtpServer.parse("smtp+starttls://me@mail.example.org", "pw").username == "me"


class _Server(SmtpServer):
    """A mail server that refuses one address for good, or is down."""

    down = False
    sent: list[str] = []

    def connect(self) -> Any:
        if _Server.down:
            raise ConnectionRefusedError("connection refused")
        return _Client()


class _Client:
    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def send_message(self, mail: Any, from_addr: str, to_addrs: list[str]) -> None:
        if to_addrs == ["typo@example.org"]:
            raise smtplib.SMTPRecipientsRefused({"typo@example.org": (550, b"no such user")})
        _Server.sent.append(to_addrs[0])


def test_the_outbox_keeps_what_the_server_did_not_take_and_sends_each_letter_once(tmp_path: Path) -> None:
    _Server.sent, _Server.down = [], True
    server = _Server("localhost", 25, "smtp")
    mailer = Mailer(tmp_path, server, "ops@example.org", None, "d", logger)
    mailer.post([_letter("ana@example.org"), _letter("typo@example.org"), _letter("bo@example.org")])
    assert not mailer.drain(5) and mailer.pending() == 3  # the server is down: kept
    mailer.close()
    _Server.down = False
    again = Mailer(tmp_path, server, "ops@example.org", None, "d", logger)  # after a restart
    again.post([_letter("ana@example.org")])  # the same letter posted again: kept once
    assert again.drain(5)
    again.close()
    assert sorted(_Server.sent) == ["ana@example.org", "bo@example.org"]  # the refused address skipped, for good
    third = Mailer(tmp_path, server, "ops@example.org", None, "d", logger)
    assert third.drain(5) and third.pending() == 0
    third.close()
    assert len(_Server.sent) == 2
