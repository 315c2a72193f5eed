"""Where the coordinator listens for agents: one address, one socket.

Agents connect a DEALER to the coordinator's ROUTER and everything travels over that one
connection, both ways. There is no broadcast socket: a PUB socket keeps every subscription a
peer sends (libzmq offers no limit on their number), so a publisher's memory would be the
subscribers' to spend; a ROUTER holds nothing per peer beyond its bounded queues.

`tcp://host:7340` and `ipc:///run/slotwise` are used as written. The two-address form of
earlier versions (`BROADCAST,REPLY`, comma-separated) is still accepted, and its reply address
is the one used, so existing scripts keep working.

Several coordinators may share one store (one leads, the others stand by, see
coordinator/lease.py): an agent then connects to all of their addresses (`--connect A --connect
B`, or `"A B"`), and ZeroMQ sends only over connections that are up (ZMQ_IMMEDIATE), which is
the leader's: a standby binds nothing until it leads.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slotwise.shared.errors import EndpointError

DEFAULT_BIND = "tcp://127.0.0.1:7340"


@dataclass(frozen=True, slots=True)
class Endpoints:
    reply: str  # coordinator ROUTER, agents DEALER
    others: tuple[str, ...] = ()  # more coordinators' addresses: whichever leads answers

    @property
    def every(self) -> tuple[str, ...]:
        return (self.reply, *self.others)

    def __str__(self) -> str:
        return self.reply


def follow_the_leader(sock: Any) -> None:
    """For a socket connected to several instances of one service: send only over connections
    that are up, and drop one whose peer stops answering ZMTP heartbeats (a leader paused or cut
    off keeps its connection open, and would take its share of messages into the void)."""
    import zmq

    sock.setsockopt(zmq.IMMEDIATE, 1)
    sock.setsockopt(zmq.HEARTBEAT_IVL, 1000)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
    sock.setsockopt(zmq.HEARTBEAT_TTL, 3000)


def parse_many(specs: str | list[str]) -> Endpoints:
    """Every address given (repeated options, or several in one, separated by spaces)."""
    found = [parse_endpoints(one).reply for spec in ([specs] if isinstance(specs, str) else specs)
             for one in spec.split()]
    if not found:
        raise EndpointError("no address given")
    return Endpoints(found[0], tuple(dict.fromkeys(found[1:])))


def parse_endpoints(spec: str) -> Endpoints:
    """Raises EndpointError with a message fit for the command line."""
    spec = spec.strip()
    if "," in spec:  # the former BROADCAST,REPLY pair: the reply socket is the one socket now
        broadcast, reply = (part.strip() for part in spec.split(",", 1))
        for part in (broadcast, reply):
            _check(part)
        return Endpoints(reply)
    _check(spec)
    return Endpoints(spec)


def _check(part: str) -> None:
    if part.startswith("ipc://"):
        if len(part) <= len("ipc://"):
            raise EndpointError(f"{part!r}: an ipc address needs a path")
        return
    if not part.startswith("tcp://"):
        raise EndpointError(f"{part!r}: use tcp://HOST:PORT or ipc://PATH")
    head, sep, port = part.rpartition(":")
    if not sep or head == "tcp" or not (port == "*" or (port.isdigit() and 0 < int(port) < 65536)):
        raise EndpointError(f"{part!r}: needs a port, e.g. tcp://127.0.0.1:7340")


def is_loopback(endpoints: Endpoints) -> bool:
    """True when nothing off this machine can reach the socket (ipc, or a loopback address)."""
    return is_loopback_address(endpoints.reply)


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
