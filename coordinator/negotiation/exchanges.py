"""Request rounds and their deadlines.

An exchange is one request round: who was asked, who has answered, when to give up. Round ids
are unique per coordinator incarnation, so a reply carrying any other round is stale, and a
re-sent request (the same round) is idempotent. Exchanges are numbered as they go out too
(`sent`): an agent that has answered something sent after an exchange has seen that exchange,
in order, on its one connection.

Deadlines sit in one heap; an entry whose exchange has moved on (answered, re-armed, replaced)
is skipped when it surfaces, so arming is O(log n) and nothing is ever searched.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from slotwise.shared.ids import AgentId


@dataclass
class Exchange:
    round: int
    asked: set[AgentId]
    deadline: float
    tries: int = 1
    replied: set[AgentId] = field(default_factory=set)
    sent: int = 0  # when it went out, in the core's count of exchanges sent
    waited: int = 0  # deadlines passed while the silent were busy answering earlier requests

    @property
    def waiting(self) -> set[AgentId]:
        return self.asked - self.replied

    def retry(self, now: float, timeout_s: float, retries: int) -> bool:
        """Arm one more attempt if any are left; the caller re-sends to `waiting`."""
        if self.tries > retries:
            return False
        self.tries += 1
        self.deadline = now + timeout_s
        return True


@dataclass
class HoldRound:
    """Holds out for one candidate."""

    exchange: Exchange
    slot_index: int  # index into the meeting's candidate list
    confirmed: list[AgentId] = field(default_factory=list)
    refused: dict[AgentId, str] = field(default_factory=dict)


@dataclass
class Stats:
    rounds: int = 0
    resends: int = 0


class Rounds:
    """Round ids and the order exchanges went out in."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self._next = itertools.count(1)
        self._sent = itertools.count(1)

    def open(self, asked: set[AgentId], deadline: float) -> Exchange:
        self.stats.rounds += 1
        return Exchange(next(self._next), asked, deadline, sent=next(self._sent))

    def sent_again(self, ex: Exchange) -> None:
        """The exchange goes out again: in order behind everything sent before it."""
        ex.sent = next(self._sent)


Owner = TypeVar("Owner")


class Deadlines(Generic[Owner]):
    """Outstanding exchanges by deadline, each with its owner; `live(owner, ex)` says whether an
    entry still counts (the owner may have moved on to another exchange)."""

    def __init__(self, live: Callable[[Owner, Exchange], bool]) -> None:
        self._live = live
        self._heap: list[tuple[float, int, Owner, Exchange]] = []
        self._tiebreak = itertools.count()

    def arm(self, owner: Owner, ex: Exchange) -> None:
        heapq.heappush(self._heap, (ex.deadline, next(self._tiebreak), owner, ex))

    def next(self) -> float | None:
        """The earliest live deadline, dropping entries for exchanges that moved on."""
        while self._heap:
            deadline, _, owner, ex = self._heap[0]
            if ex.deadline == deadline and self._live(owner, ex):
                return deadline
            heapq.heappop(self._heap)
        return None

    def pop_due(self, now: float) -> tuple[Owner, Exchange] | None:
        """The next exchange whose deadline has passed by `now`, if any."""
        due = self.next()
        if due is None or now < due:
            return None
        _, _, owner, ex = heapq.heappop(self._heap)
        return owner, ex
