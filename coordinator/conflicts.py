"""Calendar conflicts in the live service: which reports to answer, and when.

A calendar that conflicts with every slot it is given (a misconfigured sync, an autoresponder
booking over meetings) must not spin the service moving one meeting forever, so answers are
damped. Sans-IO: the desk passes `now`, and carries out what `answerable` hands back (a move, or
going on without the attendee)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from slotwise.shared.ids import AgentId, MeetingId

DAY_S = 86_400.0  # the window of `conflict_moves_per_day`

if TYPE_CHECKING:
    from loguru import Logger

Key = tuple[MeetingId, AgentId]
Reported = tuple[MeetingId, AgentId, str | None]  # a policy: a decline's (`on_decline`); None: a conflict's


class Damping:
    """A meeting moved for an attendee's conflict is not moved again for them within `quiet_s`,
    nor for conflicts more than `per_day` times in any 24 hours; a conflict reported meanwhile
    waits here until it may be answered."""

    def __init__(self, quiet_s: float, per_day: int) -> None:
        self.quiet_s = quiet_s
        self.per_day = per_day
        self._moved: dict[Key, float] = {}  # when each (meeting, attendee) conflict last moved it
        self._day: dict[MeetingId, deque[float]] = {}  # each meeting's conflict moves in the last day
        self._deferred: dict[Key, float] = {}  # held back, until when

    def due(self, now: float) -> list[Key]:
        """Held-back conflicts that may be answered now (no longer held)."""
        ready = [key for key, until in self._deferred.items() if now >= until]
        for key in ready:
            del self._deferred[key]
        return ready

    def waiting(self, key: Key) -> bool:
        return key in self._deferred

    def hold(self, key: Key, now: float) -> float | None:
        """Until when this conflict must wait (it is held back till then), or None: it may
        move its meeting now, and that move is counted."""
        day = self._day.setdefault(key[0], deque())
        while day and now - day[0] >= DAY_S:
            day.popleft()
        waits = []
        last = self._moved.get(key)
        if last is not None and now - last < self.quiet_s:
            waits.append(last + self.quiet_s)
        if len(day) >= self.per_day:
            waits.append(day[0] + DAY_S)
        if waits:
            self._deferred[key] = max(waits)
            return self._deferred[key]
        self._moved[key] = now
        day.append(now)
        return None

    def next_deadline(self) -> float | None:
        return min(self._deferred.values(), default=None)


class Conflicts:
    """Reports waiting to be answered by their meeting's `on_conflict`: repeated ones count once,
    `keep` is only logged, and one that moved its meeting lately waits (Damping)."""

    def __init__(self, quiet_s: float, per_day: int, log: Logger) -> None:
        self._damping = Damping(quiet_s, per_day)
        self._declined: dict[Key, str] = {}  # held back declines, with their policy
        self._reported: list[Reported] = []
        self._log = log

    def next_deadline(self) -> float | None:
        """When a held-back conflict may be answered."""
        return self._damping.next_deadline()

    def report(self, meeting_id: MeetingId, agent: AgentId, policy: str | None = None) -> None:
        """`policy`: the report is an attendee's decline, answered by it (the meeting's
        `on_decline`); None: a calendar conflict, answered by `on_conflict`."""
        self._reported.append((meeting_id, agent, policy))

    def answerable(self, now: float, policy_of: Callable[[MeetingId], str | None],
                   still_theirs: Callable[[MeetingId, AgentId], bool]) -> list[tuple[MeetingId, AgentId, str]]:
        """The conflicts to act on now, with their policy (`move` or `drop-attendee`).
        `policy_of` is None for a meeting no longer held; `still_theirs` is false once it was
        cancelled, is being moved, or no longer has the attendee."""
        due = [(m, a, self._declined.pop((m, a), None)) for m, a in self._damping.due(now)]
        reported, self._reported = self._reported + due, []
        seen: set[Key] = set()
        chosen: list[tuple[MeetingId, AgentId, str]] = []
        for meeting_id, agent, declined in reported:
            key = (meeting_id, agent)
            policy = declined or policy_of(meeting_id)
            if key in seen or self._damping.waiting(key) or policy is None or not still_theirs(meeting_id, agent):
                continue
            seen.add(key)
            why = f"{agent} declined {meeting_id}" if declined else f"{agent}'s calendar no longer leaves room for {meeting_id}"
            if policy == "keep":
                self._log.info("{}: {}", why, policy)
                continue
            until = self._damping.hold(key, now)
            if until is not None:
                if declined:
                    self._declined[key] = declined
                self._log.info("{} again: it moved lately, so it waits {:.0f}s", why, until - now)
                continue
            self._log.info("{}: {}", why, policy)
            chosen.append((meeting_id, agent, policy))
        return chosen
