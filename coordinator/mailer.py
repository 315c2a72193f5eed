"""Invitations by mail (`--smtp URL`): a durable outbox and one sending thread.

Every letter (one change of one meeting for one attendee) is put in the outbox, a SQLite file
beside the iTIP files, *before* the iTIP file that records the change is written; the thread sends
what is not yet sent and notes each as sent once the server has accepted it. So:

- a restart sends nothing twice: a decision announced again changes no file and makes no letter,
  and a letter already in the outbox (same meeting, SEQUENCE, method, recipient) is not added again;
- a crash loses nothing: what was put in the outbox and not noted as sent is sent after the
  restart. Only a crash between the server's accept and the note can send one letter twice, and
  its Message-ID is the same both times (coordinator/imip.py).

A server that refuses or is down is logged once per failure spell and tried again with backoff
(1 s doubling to 5 min); the service's loop never waits for mail. Credentials come from a file
or an environment variable, never from the URL or the command line.
"""

from __future__ import annotations

import smtplib
import sqlite3
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from slotwise.coordinator.imip import Letter, message
from slotwise.shared.errors import InputError

if TYPE_CHECKING:
    from loguru import Logger

MAX_PENDING = 100_000  # letters not yet sent; beyond, new ones are dropped and logged
TIMEOUT_S = 30.0
BACKOFF_S = (1.0, 300.0)
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    scheme: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str, password: str | None) -> SmtpServer:
        """`smtp://[user@]host[:port]` (plain), `smtp+starttls://…`, `smtps://…` (TLS from the start)."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise InputError(f"--smtp {url!r}: expected smtp://HOST[:PORT], smtp+starttls://… or smtps://…")
        if parts.password is not None:
            raise InputError("--smtp: a password does not go in the URL (it would show in `ps` and in logs); "
                             "use --smtp-password-file or $SLOTWISE_SMTP_PASSWORD")
        return cls(parts.hostname, parts.port or SCHEMES[parts.scheme], parts.scheme,
                   unquote(parts.username) if parts.username else None, password)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.username + '@' if self.username else ''}{self.host}:{self.port}"

    def connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_S, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S)
            if self.scheme == "smtp+starttls":
                client.starttls(context=context)
        if self.username is not None:
            client.login(self.username, self.password or "")
        return client


class Mailer:
    def __init__(self, folder: Path, server: SmtpServer, sender: str, sender_name: str | None, domain: str,
                 log: Logger) -> None:
        self.server, self.sender, self.sender_name, self.domain, self.log = server, sender, sender_name, domain, log
        self.sent = 0
        self._db = sqlite3.connect(folder / ".outbox.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("""CREATE TABLE IF NOT EXISTS letters (
            key TEXT NOT NULL, sequence INTEGER NOT NULL, method TEXT NOT NULL, recipient TEXT NOT NULL,
            title TEXT NOT NULL, shown TEXT NOT NULL, body BLOB NOT NULL, sent INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (key, sequence, method, recipient))""")
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._work, name="mailer", daemon=True)
        self._thread.start()
        self._wake.set()  # what an earlier run left unsent

    def post(self, letters: list[Letter]) -> None:
        """Durably in the outbox (or already there) when this returns; sent later."""
        with self._lock:
            pending = self._db.execute("SELECT count(*) FROM letters WHERE sent = 0").fetchone()[0]
            if pending + len(letters) > MAX_PENDING:
                self.log.warning("{} letters wait to be sent; {} more not kept", pending, len(letters))
                return
            self._db.executemany(
                "INSERT OR IGNORE INTO letters (key, sequence, method, recipient, title, shown, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(x.key, x.sequence, x.method, x.recipient, x.title, x.when, x.body) for x in letters])
        self._idle.clear()
        self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM letters WHERE sent = 0").fetchone()[0])

    def drain(self, timeout_s: float) -> bool:
        """Wait (bounded) until the outbox is empty or the server fails; True if empty."""
        self._wake.set()
        self._idle.wait(timeout_s)
        return self.pending() == 0

    def close(self, timeout_s: float = 10.0) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout_s)
        with self._lock:
            self._db.close()

    def _unsent(self) -> list[Letter]:
        with self._lock:
            rows = self._db.execute("SELECT key, sequence, method, recipient, title, shown, body FROM letters "
                                    "WHERE sent = 0 ORDER BY rowid LIMIT 100").fetchall()
        return [Letter(k, s, m, r, t, w, bytes(b)) for k, s, m, r, t, w, b in rows]

    def _work(self) -> None:
        backoff = BACKOFF_S[0]
        failing = False
        while not self._stop:
            self._wake.wait(backoff if failing else None)
            self._wake.clear()
            if self._stop:
                return
            try:
                while (batch := self._unsent()) and not self._stop:
                    self._send(batch)
            except (OSError, smtplib.SMTPException) as exc:
                if not failing:
                    self.log.warning("mail to {} failed ({}: {}); trying again", self.server,
                                     type(exc).__name__, str(exc)[:200])
                failing, backoff = True, min(backoff * 2, BACKOFF_S[1]) if failing else BACKOFF_S[0]
                self._idle.set()
                continue
            if failing:
                self.log.info("mail to {} works again", self.server)
            failing, backoff = False, BACKOFF_S[0]
            self._idle.set()

    def _send(self, batch: list[Letter]) -> None:
        with self.server.connect() as client:
            for letter in batch:
                mail = message(letter, self.sender, self.sender_name, self.domain)
                try:
                    client.send_message(mail, from_addr=self.sender, to_addrs=[letter.recipient])
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                    code = getattr(exc, "smtp_code", 550)
                    if code < 500:
                        raise  # the server's trouble for now: the whole batch again later
                    self.log.warning("mail to {} refused for good ({}); {} is not sent", letter.recipient,
                                     str(exc)[:200], letter.key)  # one address's fault stops no other letter
                    self._note(letter, -1)
                    continue
                self._note(letter, 1)
                self.sent += 1

    def _note(self, letter: Letter, state: int) -> None:
        """1: sent; -1: refused for good (a mistyped address), never tried again."""
        with self._lock:
            self._db.execute("UPDATE letters SET sent = ? WHERE key = ? AND sequence = ? AND method = ? "
                             "AND recipient = ?", (state, letter.key, letter.sequence, letter.method, letter.recipient))
