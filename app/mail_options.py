"""How invitations leave a run or the service: `--smtp URL` (mail, with the password from a file
or the environment, SLOTWISE_SMTP_PASSWORD, never the command line), and the scenario's
`organizer.caldav` (a scheduling server)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from slotwise.shared.errors import InputError

if TYPE_CHECKING:
    from slotwise.coordinator.mailer import Mailer
    from slotwise.coordinator.organizer_calendar import OrganizerCalendar
    from slotwise.shared.scenario import Scenario

PASSWORD_ENV = "SLOTWISE_SMTP_PASSWORD"


def add_smtp_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--smtp", metavar="URL",
                   help="mail each invitation and cancellation to attendees with an address (iMIP): "
                        "smtp://[USER@]HOST[:PORT], smtp+starttls://… or smtps://…")
    p.add_argument("--smtp-password-file", type=Path, metavar="FILE",
                   help=f"the SMTP password (or ${PASSWORD_ENV}); never on the command line")


def open_mailer(args: argparse.Namespace, scenario: Scenario, folder: Path) -> Mailer | None:
    """The mailer for `--smtp`, its outbox in `folder` (the iTIP files'); InputError for a
    setting that cannot work, before anything is negotiated."""
    if getattr(args, "smtp", None) is None:
        if getattr(args, "smtp_password_file", None) is not None:
            raise InputError("--smtp-password-file without --smtp")
        return None
    from loguru import logger

    from slotwise.coordinator.mailer import Mailer, SmtpServer

    if scenario.organizer is None:
        raise InputError("--smtp needs the scenario's `organizer: {name, email}`: invitations come from them")
    password = os.environ.get(PASSWORD_ENV)
    if args.smtp_password_file is not None:
        try:
            password = args.smtp_password_file.read_text().strip()
        except OSError as exc:
            raise InputError(f"--smtp-password-file {args.smtp_password_file}: {exc.strerror or exc}") from None
    server = SmtpServer.parse(args.smtp, password)
    if server.username is not None and password is None:
        raise InputError(f"--smtp names user {server.username!r}: give the password in --smtp-password-file "
                         f"or ${PASSWORD_ENV}")
    folder.mkdir(parents=True, exist_ok=True)
    return Mailer(folder, server, scenario.organizer.email, scenario.organizer.name, scenario.event_domain,
                  logger.bind(role="mailer"))


def open_organizer(scenario: Scenario) -> OrganizerCalendar | None:
    """The organizer's calendar, logged into now (CalendarError, exit 2, for a bad address or
    password), or None without `organizer.caldav`."""
    if scenario.organizer is None or scenario.organizer.caldav is None:
        return None
    from loguru import logger

    from slotwise.coordinator.organizer_calendar import OrganizerCalendar

    return OrganizerCalendar(scenario.organizer.caldav, logger.bind(role="organizer")).open()


@dataclass
class Outlets:
    """Where invitations go beside the iTIP files: mail, and the organizer's scheduling server."""

    mailer: Mailer | None = None
    organizer: OrganizerCalendar | None = None

    def finish(self, wait_s: float) -> list[str]:
        """Let what is queued go out (bounded), then stop; what a person should know."""
        notes = []
        if self.mailer is not None:
            if not self.mailer.drain(wait_s):
                notes.append(f"{self.mailer.pending()} invitations not mailed yet (the mail server did not take "
                             "them); the next run with this --ics-out sends them")
            self.mailer.close()
        if self.organizer is not None:
            self.organizer.close(wait_s)
            if self.organizer.failed:
                notes.append(f"{self.organizer.failed} changes could not be put in the organizer's calendar "
                             "(see the log); the next run with this --ics-out tries again")
        return notes


def open_outlets(args: argparse.Namespace, scenario: Scenario, folder: Path) -> Outlets:
    return Outlets(open_mailer(args, scenario, folder), open_organizer(scenario))
