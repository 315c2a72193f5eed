"""The one door for bytes: `encode` builds frames, `decode` turns untrusted frames into an
`Envelope` or raises `DecodeError`, nothing else.

Wire format: one msgpack map per ZeroMQ frame (after the ROUTER identity, which is routing and
never part of the message):

    {"v": 4, "type": "hold", "sender": "alice", "session": "<hex>", "seq": 7, "body": {...}}

`session` names a process incarnation: a restarted agent gets a new one, so its peer can tell a
restart from a replay; `seq` numbers its messages, so the guard can drop a repeat. Replies name
what they answer in their body (meeting and round), so the envelope carries nothing else. Checks
run cheapest first (size, then msgpack, then header and claimed sender, then a bounded look at
the body's long lists, then pydantic) so garbage costs as little as possible.
"""

from __future__ import annotations

import itertools
import re
import reprlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgpack
from pydantic import ValidationError

from slotwise.shared.errors import DecodeError
from slotwise.shared.ids import NAME_PATTERN, AgentId
from slotwise.shared.wire.messages import (
    MAX_CANDIDATES,
    MAX_MASKED_WORDS,
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    Body,
    Message,
)

MAX_FRAME_BYTES = 1 << 20  # also set as zmq.MAXMSGSIZE, so ZeroMQ drops bigger frames first


_HEADER_KEYS = frozenset({"v", "type", "sender", "session", "seq", "body"})
_NAME = re.compile(NAME_PATTERN)


def _header(kind: str, raw: dict[Any, Any]) -> tuple[str, str, int]:
    """sender, session, seq: checked by hand (the envelope is six plain fields, and this runs for
    every message a coordinator of ten thousand agents reads; pydantic checks the body)."""
    if raw.keys() != _HEADER_KEYS:
        extra = sorted(map(str, raw.keys() - _HEADER_KEYS)) or sorted(_HEADER_KEYS - raw.keys())
        raise DecodeError(f"invalid {kind}: envelope fields: {_short(extra)} unexpected or missing")
    sender, session, seq = raw["sender"], raw["session"], raw["seq"]
    if type(sender) is not str or _NAME.match(sender) is None:
        raise DecodeError(f"invalid {kind}: sender: {_short(sender)} is not a participant name")
    if type(session) is not str or not 1 <= len(session) <= 64:
        raise DecodeError(f"invalid {kind}: session: {_short(session)} is not 1 to 64 characters")
    if type(seq) is not int or seq < 0:
        raise DecodeError(f"invalid {kind}: seq: {_short(seq)} is not a whole number >= 0")
    return sender, session, seq


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: AgentId
    session: str
    seq: int
    body: Message

    @property
    def msg_id(self) -> str:
        """A short name for this message in log lines."""
        return f"{self.session[:12]}:{self.seq}"


def new_session() -> str:
    return uuid.uuid4().hex


class Encoder:
    """Stamps outgoing bodies with this process's identity and a per-process sequence number."""

    def __init__(self, sender: AgentId, session: str | None = None) -> None:
        self.sender = sender
        self.session = session or new_session()
        self._seq = itertools.count(1)

    def encode(self, body: Body) -> bytes:
        """One frame, stamped with this process's identity and its next sequence number."""
        frame: bytes = msgpack.packb(
            {
                "v": PROTOCOL_VERSION,
                "type": body.type,  # type: ignore[attr-defined]
                "sender": self.sender,
                "session": self.session,
                "seq": next(self._seq),
                "body": body.model_dump(exclude={"type"}),
            },
            datetime=True,
        )
        return frame


# What msgpack may build from one frame, checked while it unpacks: every message is an envelope
# map holding a body map, with at most a few lists of scalars. A frame of 100,000 tiny maps or
# ext values is refused at the first one past these counts, not after building all of them.
MAX_MAPS, MAX_ARRAYS, MAX_MAP_LEN = 4, 8, 16
MAX_BIN_BYTES = 4 * MAX_MASKED_WORDS  # masked counts (MaskedAvailability.sums)
MAX_STR_BYTES = 16_384  # the longest text field (a 4,000-character reason) in UTF-8


class _Budget:
    """Counts containers as msgpack builds them (its hooks run once per map and per array)."""

    def __init__(self) -> None:
        self.maps = self.arrays = 0

    def map(self, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
        self.maps += 1
        if self.maps > MAX_MAPS:
            raise ValueError(f"more than {MAX_MAPS} maps")
        return dict(pairs)

    def array(self, items: tuple[Any, ...]) -> tuple[Any, ...]:
        self.arrays += 1
        if self.arrays > MAX_ARRAYS:
            raise ValueError(f"more than {MAX_ARRAYS} arrays")
        return items


def _no_ext(code: int, data: bytes) -> object:
    raise ValueError(f"extension type {code} is not part of the protocol")


def _unpack(frame: bytes) -> object:
    budget = _Budget()
    return msgpack.unpackb(
        frame, raw=False, use_list=False, timestamp=3, strict_map_key=True,
        object_pairs_hook=budget.map, list_hook=budget.array, ext_hook=_no_ext,
        max_map_len=MAX_MAP_LEN, max_array_len=MAX_CANDIDATES, max_str_len=MAX_STR_BYTES,
        max_bin_len=MAX_BIN_BYTES, max_ext_len=16)


# The long sequences a body may carry, and what each item must be. Checked before pydantic sees
# the body, so a frame packed with a million wrong items costs one pass, not a million errors.
_SEQUENCES: dict[str, type] = {"slots": int, "available": bool, "attendees": str, "accepted": str,
                               "peers": str, "keys": str, "groups": int}


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 60, 60


def _short(value: object) -> str:
    """A peer's value for an error message: bounded in length and depth, never a full repr."""
    return _REPR.repr(value)


def _precheck(kind: str, body: object) -> None:
    if not isinstance(body, dict):
        raise DecodeError(f"invalid {kind}: body is not a map")
    for key, item_type in _SEQUENCES.items():
        items = body.get(key)
        if not isinstance(items, (list, tuple)):
            continue
        if len(items) > MAX_CANDIDATES:
            raise DecodeError(f"invalid {kind}: {key} has {len(items)} items (at most {MAX_CANDIDATES})")
        if not set(map(type, items)) <= {item_type}:  # exact types, checked at C speed
            raise DecodeError(f"invalid {kind}: {key} holds items that are not {item_type.__name__}")


def decode(frame: bytes, max_bytes: int = MAX_FRAME_BYTES, sender: str | None = None,
           speaks_for: Collection[str] = ()) -> Envelope:
    """Untrusted bytes become an Envelope or a DecodeError whose text says what was wrong.

    With `sender` (the name CURVE authenticated the connection as), a frame claiming anyone
    else (but the agents a host key `speaks_for`) is refused after the header is read and
    before the body is validated: an allow-listed key cannot make us do the expensive work on
    someone else's behalf."""
    try:
        return _decode(frame, max_bytes, sender, speaks_for)
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("nested too deeply") from None


def _decode(frame: bytes, max_bytes: int, sender: str | None, speaks_for: Collection[str]) -> Envelope:
    if len(frame) > max_bytes:
        raise DecodeError(f"frame of {len(frame)} bytes exceeds the {max_bytes}-byte limit")
    try:
        raw = _unpack(frame)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise DecodeError(f"not msgpack: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(raw, dict):
        raise DecodeError(f"envelope is a {type(raw).__name__}, not a map")
    if raw.get("v") != PROTOCOL_VERSION:
        raise DecodeError(f"protocol version {_short(raw.get('v'))} (this side speaks {PROTOCOL_VERSION})")
    kind = raw.get("type")
    model = MESSAGE_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise DecodeError(f"unknown message type {_short(kind)}")
    claimed = raw.get("sender")
    if sender is not None and claimed != sender and not (isinstance(claimed, str) and claimed in speaks_for):
        raise DecodeError(f"claims to be {_short(claimed)} but its key belongs to {sender!r}")
    _precheck(model.model_fields["type"].default, raw.get("body"))
    sender_, session, seq = _header(model.model_fields["type"].default, raw)
    try:
        body = model.model_validate(raw["body"])
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DecodeError(f"invalid {kind}: {where}: {first['msg']} ({exc.error_count()} error(s))") from None
    return Envelope(
        sender=AgentId(sender_),
        session=session,
        seq=seq,
        body=body,  # type: ignore[arg-type]
    )
