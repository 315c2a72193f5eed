"""`slotwise.Client`: a live service's admin operations from Python, synchronous, with timeouts.

    with slotwise.Client("ipc:///run/slotwise/admin") as client:
        [entry] = client.add([{"id": "1on1", "duration_minutes": 30, "invitees": ["ana", "bo"]}])
        client.move("1on1", not_before="2026-12-01T09:00:00+00:00")
        client.cancel("1on1")

Each call sends one request and waits for its reply (`timeout` seconds beyond any `wait` the
call asks the service to spend). A reply that arrives after its call gave up is recognised by
its id and discarded. Entries are dicts in the results file's meeting shape plus "status".
"""

from __future__ import annotations

import builtins
import itertools
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from slotwise.shared.endpoints import follow_the_leader
from slotwise.shared.errors import AdminError, Problem, ScenarioError
from slotwise.shared.keys import ClientKeys
from slotwise.shared.wire import admin

_FAILED = zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
# Asked again by themselves when the instance asked went away (a leader gone: its successor
# answers): the same add is one meeting, a cancel or a read is the same twice. A move is not
# (it would move again), so its caller hears of the loss instead.
_SAFE_AGAIN = frozenset({"add", "cancel", "get", "list", "status", "explain"})


class Client:
    def __init__(self, address: str | builtins.list[str], keys: str | Path | None = None, *,
                 admin_name: str | None = None,
                 timeout: float = 30.0, context: zmq.Context[zmq.Socket[bytes]] | None = None) -> None:
        # Several addresses (a list, or one string with spaces): the instances of one service, one
        # leading; requests go only where a connection is up, the leader's (ZMQ_IMMEDIATE).
        addresses = address.split() if isinstance(address, str) else list(address)
        self.address = " ".join(addresses)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._ctx = context or zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.MAXMSGSIZE, 64 * admin.MAX_ADMIN_FRAME)  # a long `list`
        if keys is not None:
            ClientKeys.load_admin(Path(keys), admin_name).apply(self._sock)
        self._several = len(addresses) > 1
        # With several instances, a connection lost (the leader gone) or made (a new one leads) is
        # a reason to ask again: a request may have gone with the one, or come before the other.
        changes = zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED if self._several else 0
        self._monitor = self._sock.get_monitor_socket(_FAILED | changes)
        if len(addresses) > 1:
            follow_the_leader(self._sock)
        for one in addresses:
            self._sock.connect(one)

    def close(self) -> None:
        self._sock.disable_monitor()
        self._monitor.close(linger=0)
        self._sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # --- operations -----------------------------------------------------------------------------

    def add(self, meetings: list[dict[str, Any]], *, wait: float = 60.0) -> list[dict[str, Any]]:
        """Submit meetings written as in a scenario's `meetings:` list; returns one entry per
        meeting (per occurrence), decided or, when `wait` runs out, "pending". Raises
        ScenarioError, naming each problem by field path, if any meeting is invalid (then none is kept)."""
        result: list[dict[str, Any]] = self.call("add", meetings=meetings, wait=wait)
        return result

    def cancel(self, meeting_id: str) -> list[dict[str, Any]]:
        """Cancel a meeting (a recurring meeting's id cancels every occurrence)."""
        result: list[dict[str, Any]] = self.call("cancel", meeting_id=meeting_id)
        return result

    def move(self, meeting_id: str, *, not_before: datetime | str | None = None,
             not_after: datetime | str | None = None, wait: float = 60.0) -> dict[str, Any]:
        """Re-negotiate one meeting (or occurrence) within a new window, at another time than now;
        it stays where it was until a new slot is confirmed, and stays there if none is found."""
        [entry] = self.call("move", meeting_id=meeting_id, not_before=_iso(not_before),
                            not_after=_iso(not_after), wait=wait)
        return dict(entry)

    def retry(self, meeting_id: str, *, wait: float = 60.0) -> list[dict[str, Any]]:
        """Negotiate a failed meeting (every failed occurrence of a recurring one) again now."""
        result: list[dict[str, Any]] = self.call("retry", meeting_id=meeting_id, wait=wait)
        return result

    def get(self, meeting_id: str) -> list[dict[str, Any]]:
        """One meeting as it stands (a recurring meeting's id: each occurrence)."""
        result: list[dict[str, Any]] = self.call("get", meeting_id=meeting_id)
        return result

    def list(self, *, archived: bool = False) -> list[dict[str, Any]]:
        """Every meeting the service holds, in id order (page after page); `archived`: those
        whose time has passed instead, kept in its store."""
        entries: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page, after = self.page(after=after, archived=archived)
            entries += page
            if after is None:
                return entries

    def page(self, *, limit: int = admin.MAX_PAGE, after: str | None = None,
             archived: bool = False) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """Up to `limit` meetings after the id `after`, in id order, and the `after` of the
        next page (None on the last)."""
        fields: dict[str, Any] = {"limit": limit}
        if after is not None:
            fields["after"] = after
        if archived:
            fields["archived"] = True
        reply = self._exchange("list", **fields)
        result: builtins.list[dict[str, Any]] = self._result(reply)
        following = reply.get("next")
        return result, following if isinstance(following, str) else None

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("status")
        return result

    # --- the exchange ---------------------------------------------------------------------------

    def call(self, op: str, **fields: Any) -> Any:
        return self._result(self._exchange(op, **fields))

    def _exchange(self, op: str, **fields: Any) -> dict[str, Any]:
        """One request and its reply, whole."""
        rid = next(self._ids)
        limit = self.timeout + float(fields.get("wait") or 0)
        frame = admin.encode({"v": admin.ADMIN_VERSION, "id": rid, "op": op, **fields})
        if len(frame) > admin.MAX_ADMIN_FRAME:  # said here, before sending what would be refused
            raise AdminError("invalid", f"the request is {len(frame):,} bytes; a service takes at most "
                                        f"{admin.MAX_ADMIN_FRAME:,} (send its meetings in several adds)")
        deadline = time.monotonic() + limit
        self._send(frame, deadline, limit)
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)
        while (left := deadline - time.monotonic()) > 0:
            for sock, _ in poller.poll(int(min(left, 0.2) * 1000) + 1):
                if sock is self._monitor:
                    event = recv_monitor_message(self._monitor)
                    if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                        if op in _SAFE_AGAIN:
                            self._send(frame, deadline, limit)  # a new leader may not have heard it
                        continue
                    if event["event"] == zmq.EVENT_DISCONNECTED:
                        if op not in _SAFE_AGAIN:
                            raise AdminError("timeout", f"the instance asked went away during {op}; "
                                             "ask the service how the meeting stands before asking again")
                        self._send(frame, deadline, limit)  # to whichever instance leads now
                        continue
                    raise AdminError("handshake", f"{self.address} refused this admin key, or speaks "
                                     f"another security mechanism (event {event['event']})")
                reply = admin.decode(self._sock.recv())
                # One request at a time: a refusal the service could not read an id from
                # ("too large", "not one frame") answers this one.
                if reply.get("id") == rid or (reply.get("id") is None and reply.get("ok") is False):
                    return reply
        raise AdminError("timeout", f"no answer from {self.address} within {limit:g}s")

    def _send(self, frame: bytes, deadline: float, limit: float) -> None:
        """Queued by ZeroMQ until the connection is up; with several addresses, until one is
        (the leader's: a standby binds nothing)."""
        while True:
            try:
                self._sock.send(frame, zmq.NOBLOCK)
                return
            except zmq.Again:
                if time.monotonic() >= deadline:
                    raise AdminError("timeout", f"no service leads at {self.address} within {limit:g}s") from None
                self._sock.poll(100, zmq.POLLOUT)

    @staticmethod
    def _result(reply: dict[str, Any]) -> Any:
        if reply.get("ok"):
            return reply.get("result")
        kind, message = str(reply.get("kind")), str(reply.get("error"))
        if kind == "invalid" and reply.get("problems"):
            raise ScenarioError("request", [Problem(str(p.get("path", "")), str(p.get("message", "")))
                                            for p in reply["problems"]])
        raise AdminError(kind, message)


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value
