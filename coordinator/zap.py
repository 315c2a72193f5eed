"""Who may connect: CURVE on the coordinator's sockets and the ZAP handler that admits keys.

Both of the coordinator's sockets (the agents' ROUTER and `serve`'s admin socket) are CURVE
servers with the same key pair; they differ in the allow-list their ZAP domain consults. The
handler names each connection after its key's owner, so a message carries the name CURVE proved
("User-Id") and the gate can refuse one that speaks for somebody else.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from typing import Any

import zmq
from loguru import logger
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85

from slotwise.shared.keys import ServerKeys
from slotwise.shared.ratelog import RateLimitedLog
from slotwise.shared.wire.admin import ADMIN_DOMAIN

REFUSAL_LOG_INTERVAL_S = 5.0  # a refused key is reported at most this often


def make_curve_server(socket: zmq.Socket[Any], keys: ServerKeys, domain: str | None = None) -> None:
    """Before bind: a CURVE server with our keys; `domain` picks the ZAP allow-list (default: the
    participants')."""
    if domain is not None:
        socket.zap_domain = domain.encode()
    socket.curve_server = True
    socket.curve_secretkey = keys.secret
    socket.curve_publickey = keys.public


class NameAuthenticator(ThreadAuthenticator):
    """Admits only allow-listed CURVE keys and names each connection after its key's owner.
    Started before anything binds: until a ZAP handler runs, CURVE admits anyone."""

    def __init__(self, context: zmq.Context[Any], allowed: dict[bytes, str],
                 admins: dict[bytes, str] | None = None) -> None:
        super().__init__(context)
        self._names_by_key = allowed  # z85-encoded public key -> name, as certificates store them
        self._admins = admins or {}  # the same, for the admin socket's ZAP domain only
        self._refusals = RateLimitedLog(REFUSAL_LOG_INTERVAL_S)
        self._address = "unknown"  # of the ZAP request being decided (one at a time, in order)
        self.start()
        self.configure_curve_callback("*", credentials_provider=self)  # the agents' sockets
        self.configure_curve_callback(ADMIN_DOMAIN, credentials_provider=self)  # `serve --admin`

    def handle_zap_message(self, msg: list[bytes]) -> Coroutine[Any, Any, None]:
        """Note the peer's address for the refusal log line, then decide as the base does."""
        self._address = msg[3].decode("utf-8", "replace")[:64] if len(msg) > 3 else "unknown"
        return super().handle_zap_message(msg)

    def callback(self, domain: str, z85_key: bytes) -> bool:
        allowed = z85_key in (self._admins if domain == ADMIN_DOMAIN else self._names_by_key)
        if not allowed:
            key = z85_key.decode("ascii", "replace")
            suppressed = self._refusals.allow(key, time.monotonic())
            if suppressed is not None:
                logger.bind(role="coordinator").warning(
                    "refused a connection from {} with key {} (not on the {} allow-list){}", self._address, key,
                    "admin" if domain == ADMIN_DOMAIN else "participant",
                    f"; {suppressed} more refusals since the last report" if suppressed else "")
        return allowed

    def curve_user_id(self, client_public_key: bytes) -> str:
        key = z85.encode(client_public_key)
        return self._names_by_key.get(key) or self._admins[key]
