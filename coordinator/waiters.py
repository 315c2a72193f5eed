"""Admin clients waiting for their meetings to be decided: an `add`, `move` or `retry` sent with
a wait is answered once its meetings leave the open phases (a move: once the move ends) and the
agents have been told, or when its wait runs out, whichever comes first.

Sans-IO like the desk that owns it: the desk says when something changed, the shell asks for
the replies due after it has performed the core's announcements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slotwise.coordinator.negotiation import OPEN, LiveNegotiation
from slotwise.shared.ids import MeetingId
from slotwise.shared.wire import admin

Reply = tuple[bytes, dict[str, Any]]  # (the client's identity, the message)
Entry = Callable[[MeetingId], dict[str, Any]]


@dataclass
class Waiter:
    client: bytes
    rid: int
    ids: tuple[MeetingId, ...]
    deadline: float
    move: MeetingId | None = None  # for a move: answered when the move ends


class Waiters:
    def __init__(self, core: LiveNegotiation, entry: Entry) -> None:
        self._core = core
        self._entry = entry
        self._waiting: list[Waiter] = []
        self._changed = False  # something was decided, moved or cancelled since they were checked
        self.answered = 0  # replies sent after a wait, for the desk's count of requests served

    def changed(self) -> None:
        self._changed = True

    def wait_or_answer(self, client: bytes, rid: int, ids: tuple[MeetingId, ...], wait: float, now: float,
                       move: MeetingId | None = None) -> dict[str, Any] | None:
        """The reply now (no wait, or already decided), or None: the client waits."""
        waiter = Waiter(client, rid, ids, now + wait, move)
        if wait <= 0 or self._settled(waiter):
            return admin.ok(rid, [self._entry(i) for i in ids])
        self._waiting.append(waiter)
        return None

    def _settled(self, w: Waiter) -> bool:
        if w.move is not None:
            return not self._core.moving(w.move)
        return all((view := self._core.meeting(i)) is not None and view.phase not in OPEN for i in w.ids)

    def next_deadline(self) -> float | None:
        return min((w.deadline for w in self._waiting), default=None)

    def __len__(self) -> int:
        return len(self._waiting)

    def due(self, now: float) -> list[Reply]:
        """Replies to requests whose meetings are decided (ask once the agents have been told)
        or whose wait has ended."""
        if not self._waiting or (not self._changed and all(now < w.deadline for w in self._waiting)):
            return []
        if self._core.announcing and all(now < w.deadline for w in self._waiting):
            return []  # the burst goes out within ANNOUNCE_EVERY_S; answer after it
        self._changed = False
        replies: list[Reply] = []
        still = []
        for w in self._waiting:
            if now >= w.deadline or self._settled(w):
                replies.append((w.client, admin.ok(w.rid, [self._entry(i) for i in w.ids])))
            else:
                still.append(w)
        self._waiting = still
        self.answered += len(replies)
        return replies
