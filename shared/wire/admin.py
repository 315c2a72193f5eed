"""The admin protocol: how `slotwise meetings …`, `slotwise status` and `slotwise.Client` talk to
a running `slotwise serve`.

One JSON object per ZeroMQ frame, request and reply matched by `id`. JSON rather than msgpack
because these are few, small, and read by people debugging a service; the agents' hot path
stays msgpack. A frame is bounded by the socket (MAXMSGSIZE) before it is parsed, and nesting
by the parser's own recursion guard, which we turn into a refusal.

    request  {"v": 1, "id": 7, "op": "add", "meetings": [...], "wait": 30}
             {"v": 1, "id": 8, "op": "cancel", "meeting_id": "standup"}
             {"v": 1, "id": 9, "op": "move", "meeting_id": "review", "not_before": "...", "not_after": null, "wait": 30}
             {"v": 1, "id": 10, "op": "list", "limit": 500, "after": "review"}    {"v": 1, "id": 11, "op": "status"}
             {"v": 1, "id": 12, "op": "get", "meeting_id": "review"}
             {"v": 1, "id": 13, "op": "retry", "meeting_id": "review", "wait": 30}
    reply    {"id": 7, "ok": true, "result": [...entries...]}
             {"id": 10, "ok": true, "result": [...entries...], "next": "sync"}
             {"id": 7, "ok": false, "kind": "invalid", "error": "...", "problems": [{"path": ..., "message": ...}]}

An entry is a meeting in the results file's shape plus "status" (scheduled, failed, waiting:
failed and to be tried again when something changes, cancelled, pending); a move adds
"move": {"status": moved|failed|pending, "reason": ...}.

`list` is paged, so no request costs the service more than one page of work: meetings in id
order, at most `limit` (default and most MAX_PAGE) after the id `after`; "next" is the `after`
of the following page, null on the last. `Client.list()` and `slotwise meetings list` follow it
to the end.
"""

from __future__ import annotations

import json
from typing import Any, Literal

ADMIN_VERSION = 1
ADMIN_DOMAIN = "slotwise-admin"  # the ZAP domain: only admin keys are admitted on it
MAX_ADMIN_FRAME = 4 << 20  # a request of 1,000 meetings is well under 1 MiB
MAX_ADMIN_READ = 4 * MAX_ADMIN_FRAME  # read this much, to answer "too large" up to it
MAX_WAIT_S = 3600.0
OPS = ("add", "cancel", "move", "list", "status", "get", "retry")
MAX_PAGE = 1000  # meetings per `list` reply

ErrorKind = Literal["invalid", "unknown", "conflict", "refused", "busy"]


class AdminProtocolError(ValueError):
    """A frame that is not an admin request; the reply says why."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=_iso).encode()


def _iso(value: Any) -> str:
    iso = getattr(value, "isoformat", None)
    if iso is None:
        raise TypeError(f"{type(value).__name__} is not JSON")
    return str(iso())


def decode(frame: bytes) -> dict[str, Any]:
    try:
        value = json.loads(frame)
    except (ValueError, RecursionError) as exc:
        raise AdminProtocolError(f"not a JSON request: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise AdminProtocolError("a request is a JSON object")
    return value


def request_fields(req: dict[str, Any]) -> tuple[int, str]:
    """The request's id and op, checked; raises AdminProtocolError."""
    if req.get("v") != ADMIN_VERSION:
        raise AdminProtocolError(f"admin protocol version {str(req.get('v'))[:20]} (this side speaks {ADMIN_VERSION})")
    rid, op = req.get("id"), req.get("op")
    if not isinstance(rid, int) or isinstance(rid, bool):
        raise AdminProtocolError("'id' must be an integer")
    if op not in OPS:
        raise AdminProtocolError(f"unknown op {str(op)[:40]!r}; one of {', '.join(OPS)}")
    return rid, op


def wait_of(req: dict[str, Any], default: float = 0.0) -> float:
    wait = req.get("wait", default)
    if not isinstance(wait, (int, float)) or isinstance(wait, bool) or not 0 <= wait <= MAX_WAIT_S:
        raise AdminProtocolError(f"'wait' must be a number of seconds from 0 to {MAX_WAIT_S:g}")
    return float(wait)


def page_of(req: dict[str, Any]) -> tuple[int, str | None]:
    """A `list` request's page: (limit, after), checked; raises AdminProtocolError."""
    limit, after = req.get("limit", MAX_PAGE), req.get("after")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise AdminProtocolError(f"'limit' must be an integer from 1 to {MAX_PAGE}")
    if after is not None and (not isinstance(after, str) or len(after) > 1024):
        raise AdminProtocolError("'after' must be a meeting id (a string)")
    return limit, after


def error(rid: int | None, kind: ErrorKind, message: str,
          problems: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": rid, "ok": False, "kind": kind, "error": message, "problems": problems or []}


def ok(rid: int, result: Any) -> dict[str, Any]:
    return {"id": rid, "ok": True, "result": result}
