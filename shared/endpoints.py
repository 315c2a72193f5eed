"""Where the coordinator's two sockets live, written as one address for people.

`tcp://host:7340` means broadcasts on port 7340 and replies on 7341; `ipc:///run/slotwise`
means `ipc:///run/slotwise.pub` and `ipc:///run/slotwise.reply`. Two explicit addresses,
comma-separated, are accepted too (that is how ephemeral ports are handed to agents).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from slotwise.shared.errors import EndpointError

DEFAULT_BIND = "tcp://127.0.0.1:7340"


@dataclass(frozen=True, slots=True)
class Endpoints:
    publish: str  # coordinator PUB, agents SUB
    reply: str  # coordinator ROUTER, agents DEALER

    def __str__(self) -> str:
        return f"{self.publish},{self.reply}"


def parse_endpoints(spec: str) -> Endpoints:
    """Raises EndpointError with a message fit for the command line."""
    spec = spec.strip()
    if "," in spec:
        publish, reply = (part.strip() for part in spec.split(",", 1))
        for part in (publish, reply):
            _check(part)
        return Endpoints(publish, reply)
    _check(spec)
    if spec.startswith("ipc://"):
        return Endpoints(spec + ".pub", spec + ".reply")
    head, _, port = spec.rpartition(":")
    if port == "*":
        return Endpoints(spec, spec)
    return Endpoints(spec, f"{head}:{int(port) + 1}")


def _check(part: str) -> None:
    if part.startswith("ipc://"):
        if len(part) <= len("ipc://"):
            raise EndpointError(f"{part!r}: an ipc address needs a path")
        return
    if not part.startswith("tcp://"):
        raise EndpointError(f"{part!r}: use tcp://HOST:PORT or ipc://PATH")
    head, sep, port = part.rpartition(":")
    if not sep or head == "tcp" or not (port == "*" or (port.isdigit() and 0 < int(port) < 65535)):
        raise EndpointError(f"{part!r}: needs a port, e.g. tcp://127.0.0.1:7340")


def is_loopback(endpoints: Endpoints) -> bool:
    """True when nothing off this machine can reach the sockets (ipc, or a loopback address)."""
    return is_loopback_address(endpoints.publish) and is_loopback_address(endpoints.reply)


def is_loopback_address(part: str) -> bool:
    if part.startswith("ipc://"):
        return True
    host = urlsplit(part).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:  # a host or interface name: loopback only if every address it has is
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False
        return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def require_protection(endpoints: Endpoints, *, keys: bool, insecure: bool) -> None:
    """Refuse to expose unauthenticated sockets beyond this machine unless told to."""
    if keys or insecure or is_loopback(endpoints):
        return
    raise EndpointError(
        f"refusing to bind {endpoints} without encryption: anyone who can reach it could join as any "
        "participant. Pass --keys DIR (see 'slotwise keys generate'), bind a loopback address, or pass "
        "--insecure on a network you trust.")
