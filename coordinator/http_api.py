"""`serve --http HOST:PORT`: the admin operations as JSON over HTTP, with an OpenAPI document,
Prometheus metrics, health checks and a page to look at (coordinator/page.py, at `/`), for the
teams who integrate over HTTP (a form, a chat bot, a calendar add-on) and the platforms that
watch services.

Why aiohttp: it serves on the asyncio loop `serve` already runs (no second loop or thread to
hand requests across), it is well kept and widely deployed, and it bounds a request's body
before reading it (`client_max_size`), which the limits here rely on.

Each HTTP request becomes one admin request, sent over an in-process ZeroMQ socket to the same
admin socket the command line uses: one desk decides every request whichever door it came
through, in one order, with one set of limits. This layer only translates (paths and status
codes) and authenticates: bearer tokens read from files (`--http-tokens DIR`, one NAME.token
per admin), compared in constant time, or client certificates (`--http-client-ca`, mutual
TLS). Without either only a loopback address is accepted, as for the admin socket. The page,
/healthz, /readyz and /openapi.json need no token (the page asks the API with the viewer's);
/metrics does when tokens are set (Prometheus sends one: `authorization: {credentials_file}`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
from aiohttp import web
from loguru import logger

from slotwise.coordinator.metrics import Metrics
from slotwise.coordinator.openapi import document
from slotwise.coordinator.page import page
from slotwise.shared.errors import EndpointError, InputError
from slotwise.shared.ids import is_valid_name
from slotwise.shared.wire import admin

HTTP_ID = b"slotwise-http"  # the HTTP side's identity on the admin socket
MIN_TOKEN = 32  # characters: `openssl rand -hex 32` gives 64
EXTRA_WAIT_S = 30.0  # beyond a request's own wait, before the HTTP side gives up on the desk
STATUS = {"invalid": 422, "unknown": 404, "conflict": 409, "refused": 403, "busy": 503}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Tokens:
    """Admins' bearer tokens, by the digest of each (so a comparison leaks no timing)."""

    by_digest: dict[bytes, str]

    @classmethod
    def load(cls, directory: Path) -> Tokens:
        found: dict[bytes, str] = {}
        try:
            paths = sorted(directory.glob("*.token"))
        except OSError as exc:
            raise InputError(f"--http-tokens {directory}: {exc.strerror or exc}") from None
        for path in paths:
            name = path.name.removesuffix(".token")
            if not is_valid_name(name):
                raise InputError(f"{path}: not a valid admin name")
            token = path.read_text().strip()
            if len(token) < MIN_TOKEN:
                raise InputError(f"{path}: a token needs at least {MIN_TOKEN} characters "
                                 "(make one with: openssl rand -hex 32)")
            found[_digest(token)] = name
        if not found:
            raise InputError(f"--http-tokens {directory}: no NAME.token files in it")
        return cls(found)

    def admin_of(self, header: str | None) -> str | None:
        """The admin a request's `Authorization: Bearer ...` belongs to, or None."""
        if header is None or not header.startswith("Bearer "):
            return None
        digest = _digest(header.removeprefix("Bearer ").strip())
        return next((name for known, name in self.by_digest.items() if hmac.compare_digest(known, digest)), None)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise EndpointError(f"--http {address}: expected HOST:PORT (say 127.0.0.1:8080)")
    return host.strip("[]"), int(port)


class HttpApi:
    def __init__(self, address: str, admin_inproc: str, context: zmq.asyncio.Context, metrics: Metrics, *,
                 tokens: Tokens | None, ready: Callable[[], bool], title: str = "slotwise",
                 tls: ssl.SSLContext | None = None) -> None:
        """`tls`: serve HTTPS; a context that requires client certificates (mutual TLS) admits
        only clients whose certificate its CA signed, which is authentication enough."""
        from slotwise.shared.endpoints import is_loopback_address

        self.host, self.port = parse_address(address)
        mutual = tls is not None and tls.verify_mode == ssl.CERT_REQUIRED
        if tokens is None and not mutual and not is_loopback_address(f"tcp://{address}"):
            raise EndpointError(f"refusing to serve HTTP on {address} without --http-tokens or --http-client-ca: "
                                "anyone who reaches it could cancel every meeting. Use a loopback address, pass "
                                "--http-tokens DIR with NAME.token files in it, or require client certificates.")
        self.tls = tls
        self.tokens, self.metrics, self._ready = tokens, metrics, ready
        self._page = page(title).encode()
        self._dealer = context.socket(zmq.DEALER)
        self._dealer.setsockopt(zmq.LINGER, 0)
        self._dealer.setsockopt(zmq.ROUTING_ID, HTTP_ID)
        self._dealer.connect(admin_inproc)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self._reader: asyncio.Task[None] | None = None
        self.url: str | None = None
        self.log = logger.bind(role="coordinator", agent="")

    # --- life -----------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=admin.MAX_ADMIN_FRAME, middlewares=[self._guard])
        app.add_routes([
            web.get("/", self._index), web.get("/healthz", self._healthz), web.get("/readyz", self._readyz),
            web.get("/openapi.json", self._openapi), web.get("/metrics", self._metrics),
            web.get("/v1/status", self._status),
            web.get("/v1/meetings", self._list), web.post("/v1/meetings", self._add),
            web.get("/v1/meetings/{id}", self._get), web.delete("/v1/meetings/{id}", self._cancel),
            web.post("/v1/meetings/{id}/move", self._move), web.post("/v1/meetings/{id}/retry", self._retry),
        ])
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.tls)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise EndpointError(f"cannot serve HTTP on {self.host}:{self.port}: {exc.strerror or exc}") from None
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"{'https' if self.tls is not None else 'http'}://{host}:{port}"
        self._reader = asyncio.ensure_future(self._read_replies())
        return self.url

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        for future in self._pending.values():
            future.cancel()
        self._dealer.close()

    async def _read_replies(self) -> None:
        while True:
            frame = await self._dealer.recv()
            reply = admin.decode(frame)
            future = self._pending.pop(reply.get("id"), None)  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(reply)

    # --- the one way to the desk ----------------------------------------------------------------

    async def _ask(self, op: str, fields: dict[str, Any], patience_s: float) -> dict[str, Any]:
        """The desk's reply to one request; TimeoutError past `patience_s`."""
        rid = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        await self._dealer.send(admin.encode({"v": admin.ADMIN_VERSION, "id": rid, "op": op, **fields}))
        try:
            return await asyncio.wait_for(future, patience_s)
        finally:
            self._pending.pop(rid, None)

    async def _answer(self, op: str, shape: Callable[[dict[str, Any]], Any], **fields: Any) -> web.Response:
        wait = fields.get("wait")
        began = time.perf_counter()
        try:
            waits = float(wait) if isinstance(wait, int | float) and 0 <= wait <= admin.MAX_WAIT_S else 0.0
            reply = await self._ask(op, fields, waits + EXTRA_WAIT_S)
        except TimeoutError:
            return _error(504, "unavailable", "the service did not answer in time")
        finally:
            self.metrics.admin_latency.labels(door="http", op=op).observe(time.perf_counter() - began)
        if not reply.get("ok"):
            return _error(STATUS.get(str(reply.get("kind")), 400), str(reply.get("kind")), str(reply.get("error")),
                          reply.get("problems") or [])
        return web.json_response(shape(reply), dumps=_dumps)

    # --- middleware: who may ask, and what a malformed request gets ------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        open_paths = ("/", "/healthz", "/readyz", "/openapi.json")  # the page holds no data: it asks the API
        if self.tokens is not None and request.path not in open_paths:
            who = self.tokens.admin_of(request.headers.get("Authorization"))
            if who is None:
                response = _error(401, "unauthorized", "a bearer token of an admin is needed")
                response.headers["WWW-Authenticate"] = 'Bearer realm="slotwise"'
                return response
        try:
            return await handler(request)
        except _BadRequest as exc:
            return _error(400, "invalid", str(exc))
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "invalid", f"a request is at most {admin.MAX_ADMIN_FRAME:,} bytes")

    # --- routes ---------------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=self._page, content_type="text/html", charset="utf-8",
                            headers={"Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
                                                                "style-src 'unsafe-inline'"})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})  # answered on the service's own loop: it turns

    async def _readyz(self, request: web.Request) -> web.Response:
        if not self._ready():
            return web.json_response({"status": "starting"}, status=503)
        try:
            await self._ask("status", {}, 5.0)
        except TimeoutError:
            return web.json_response({"status": "not answering"}, status=503)
        return web.json_response({"status": "ready"})

    async def _openapi(self, request: web.Request) -> web.Response:
        return web.json_response(document(), dumps=_dumps)

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def _status(self, request: web.Request) -> web.Response:
        return await self._answer("status", lambda r: r["result"])

    async def _list(self, request: web.Request) -> web.Response:
        q = request.query
        fields: dict[str, Any] = {}
        if "limit" in q:
            fields["limit"] = _integer(q["limit"], "limit")
        if "after" in q:
            fields["after"] = q["after"]
        if q.get("archived") == "true":
            fields["archived"] = True
        keep = _filter(q.get("person"), q.getall("status", []))
        return await self._answer("list", lambda r: {"meetings": [e for e in r["result"] if keep(e)],
                                                     "next": r.get("next")}, **fields)

    async def _add(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        unknown = set(body) - {"meetings", "wait"}
        if unknown:
            raise _BadRequest(f"unknown field {sorted(unknown)[0]!r}; a request has meetings and wait")
        return await self._answer("add", _meetings, meetings=body.get("meetings"), wait=body.get("wait", 0))

    async def _get(self, request: web.Request) -> web.Response:
        return await self._answer("get", _meetings, meeting_id=request.match_info["id"])

    async def _cancel(self, request: web.Request) -> web.Response:
        return await self._answer("cancel", _meetings, meeting_id=request.match_info["id"])

    async def _move(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        unknown = set(body) - {"not_before", "not_after", "wait"}
        if unknown:
            raise _BadRequest(f"unknown field {sorted(unknown)[0]!r}; a move has not_before, not_after and wait")
        return await self._answer("move", _meetings, meeting_id=request.match_info["id"],
                                  not_before=body.get("not_before"), not_after=body.get("not_after"),
                                  wait=body.get("wait", 0))

    async def _retry(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        unknown = set(body) - {"wait"}
        if unknown:
            raise _BadRequest(f"unknown field {sorted(unknown)[0]!r}; a retry has wait")
        return await self._answer("retry", _meetings, meeting_id=request.match_info["id"], wait=body.get("wait", 0))


class _BadRequest(ValueError):
    """A request HTTP itself refuses: not JSON, not an object, a query value of the wrong kind."""


def _meetings(reply: dict[str, Any]) -> dict[str, Any]:
    return {"meetings": reply["result"]}


async def _json_object(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _BadRequest(f"not JSON: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise _BadRequest("the body is a JSON object")
    return value


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer") from None


def _filter(person: str | None, statuses: list[str]) -> Callable[[dict[str, Any]], bool]:
    def keep(entry: dict[str, Any]) -> bool:
        if statuses and entry["status"] not in statuses:
            return False
        return person is None or person in {*(entry.get("participants") or ()), *(entry.get("invitees") or ())}
    return keep


def _error(status: int, kind: str, message: str, problems: list[Any] | None = None) -> web.Response:
    return web.json_response({"kind": kind, "error": message, "problems": problems or []}, status=status)


def _dumps(value: Any) -> str:
    return admin.encode(value).decode()
