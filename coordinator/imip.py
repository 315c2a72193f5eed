"""iMIP (RFC 6047): an iTIP message as the mail a calendar client recognises as an invitation.

One mail per attendee with an address (never the reserved `.invalid` ones, never the organizer),
multipart/alternative: a short text for people, and the iTIP body as `text/calendar` whose
`method` parameter equals the iCalendar METHOD (RFC 6047 2.4), which is what Outlook, Gmail,
Thunderbird and Apple Mail look for. The Message-ID is derived from the meeting, the SEQUENCE,
the method and the recipient, so the same change sent twice (a crash between the server's
accept and our note of it) is recognisably one message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

SUBJECTS = {"REQUEST": "Invitation", "CANCEL": "Cancelled"}


@dataclass(frozen=True, slots=True)
class Letter:
    """One change of one meeting for one attendee, as the outbox keeps it."""

    key: str  # the meeting's (or series') id
    sequence: int
    method: str  # REQUEST or CANCEL
    recipient: str  # a mail address
    title: str
    when: str  # for people: "Tue 22 Oct 2024 10:00-11:00 Europe/Berlin"
    body: bytes  # the iTIP message


def recipients(addresses: list[str], organizer: str | None) -> list[str]:
    """The mail addresses among calendar addresses: `.invalid` ones are not mail (RFC 2606)."""
    out = []
    for address in addresses:
        mail = address.removeprefix("mailto:").removeprefix("MAILTO:")
        if "@" in mail and not mail.lower().endswith(".invalid") and mail != organizer and mail not in out:
            out.append(mail)
    return out


def message(letter: Letter, sender: str, sender_name: str | None, domain: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr((sender_name or "", sender))
    mail["To"] = letter.recipient
    updated = letter.method == "REQUEST" and letter.sequence > 0
    mail["Subject"] = f"{'Updated invitation' if updated else SUBJECTS.get(letter.method, letter.method)}: {letter.title}"
    mail["Date"] = format_datetime(datetime.now(UTC))
    digest = hashlib.sha256(f"{letter.key}\0{letter.sequence}\0{letter.method}\0{letter.recipient}".encode()).hexdigest()
    mail["Message-ID"] = f"<{digest[:32]}@{domain}>"
    words = {"REQUEST": "You are invited to", "CANCEL": "This meeting is cancelled:"}[letter.method] \
        if letter.method in SUBJECTS else letter.method
    mail.set_content(f"{words} {letter.title}\n{letter.when}\n")
    mail.add_alternative(letter.body, maintype="text", subtype="calendar",
                         params={"method": letter.method, "charset": "utf-8"}, cte="base64")
    return mail
