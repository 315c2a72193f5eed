"""Whose turn it is: which open meetings may walk now, found without rescanning all of them.

Meetings are placed in one order (the priority policy's), and a meeting may walk early only if
no open meeting ahead of it shares an invitee: the outcome is then exactly that of placing them
one by one. Put another way, a meeting's turn has come when it heads the queue of every one of
its invitees. Keeping one queue per person turns "rescan every meeting on every event" (O(M) per
event, O(M^2) per run) into looking at the few meetings whose turn an event can have changed:
the meeting itself, and, when it closes, the new heads of its invitees' queues.

Generic over the meeting type, so it knows nothing of phases but "is it still open".
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class Turns(Generic[T]):
    def __init__(self, is_open: Callable[[T], bool], people: Callable[[T], Sequence[str]]) -> None:
        self._is_open = is_open
        self._people = people
        self._rank: dict[T, int] = {}
        self._lanes: dict[str, deque[T]] = {}
        self._next_rank = itertools.count()
        self._dirty: list[tuple[int, int, T]] = []  # (rank, tiebreak, meeting) to look at
        self._tiebreak = itertools.count()

    def reset(self, items: Iterable[T]) -> None:
        """The order from scratch (sorted at last, or re-planned): every open meeting is looked at."""
        self._rank.clear()
        self._lanes.clear()
        self._dirty.clear()
        for item in items:
            if self._is_open(item):
                self.append(item)

    def append(self, item: T) -> None:
        """Last in the order (a live service's new request or move)."""
        rank = next(self._next_rank)
        self._rank[item] = rank
        for who in self._people(item):
            self._lanes.setdefault(who, deque()).append(item)
        self.touch(item)

    def touch(self, item: T) -> None:
        """`item` changed: if open, its turn may have come; if closed, its invitees' next may.
        Every meeting that closes must be touched (that is how it leaves the order)."""
        if self._is_open(item):
            if item in self._rank:
                heapq.heappush(self._dirty, (self._rank[item], next(self._tiebreak), item))
            return
        self._rank.pop(item, None)
        for who in self._people(item):
            head = self._head(who)
            if head is not None:
                heapq.heappush(self._dirty, (self._rank[head], next(self._tiebreak), head))

    def ready(self) -> Iterator[T]:
        """Meetings whose turn has come, in order, each once per touch. The caller may walk each
        (and touch it or others) before asking for the next."""
        while self._dirty:
            _, _, item = heapq.heappop(self._dirty)
            if item in self._rank and all(self._head(who) is item for who in self._people(item)):
                yield item

    def _head(self, who: str) -> T | None:
        lane = self._lanes.get(who)
        while lane and lane[0] not in self._rank:
            lane.popleft()  # closed meetings (touched when they closed) leave lazily, from the front
        if lane is None or not lane:
            self._lanes.pop(who, None)
            return None
        return lane[0]

    def position(self, item: T) -> int:
        """Its rank in the order (smaller goes first); only open items have one."""
        return self._rank[item]

    def __len__(self) -> int:
        """Open meetings in the order (closed ones leave when touched)."""
        return len(self._rank)

    def ordered(self) -> list[T]:
        """The open meetings in order."""
        return sorted((item for item in self._rank if self._is_open(item)), key=self._rank.__getitem__)
