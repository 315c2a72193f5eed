"""Every meeting the core knows, indexed the ways the rules ask: by id, by phase (so "is anything
still unanswered?" is O(1)), by person (each person's meetings in order, to tell a rejoining
agent what it holds), and whose turn it is (coordinator/turns.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from slotwise.coordinator.negotiation.state import OPEN, UNANSWERED, MeetingPhase, MeetingState
from slotwise.coordinator.turns import Turns
from slotwise.shared.ids import AgentId, MeetingId


class Agenda:
    def __init__(self) -> None:
        self._by_id: dict[MeetingId, MeetingState] = {}
        self._phases: Counter[MeetingPhase] = Counter()
        self._invited: dict[AgentId, dict[MeetingId, None]] = {}  # each person's meetings, in order
        self.turns: Turns[MeetingState] = Turns(lambda st: st.phase in OPEN, lambda st: st.spec.invitees)

    def track(self, st: MeetingState) -> None:
        """Count a new state by its phase, and follow its every change."""
        self._phases[st.phase] += 1
        for who in st.spec.invitees:
            self._invited.setdefault(who, {})[st.id] = None
        st.on_phase = self._changed

    def _changed(self, st: MeetingState, was: MeetingPhase) -> None:
        self._phases[was] -= 1
        self._phases[st.phase] += 1
        if st.phase is MeetingPhase.ANSWERED or st.phase not in OPEN:
            self.turns.touch(st)  # its turn may have come, or, closed, the next one's

    def put(self, st: MeetingState) -> None:
        """The meeting's state from now on (a move replaces the decided one under the same id)."""
        self._by_id[st.id] = st

    def forget(self, st: MeetingState) -> None:
        """A closed meeting leaves (the live service archives what has ended)."""
        if self._by_id.get(st.id) is not st:
            return
        del self._by_id[st.id]
        self._phases[st.phase] -= 1
        for who in st.spec.invitees:
            mine = self._invited.get(who)
            if mine is not None:
                mine.pop(st.id, None)
                if not mine:
                    del self._invited[who]

    def get(self, meeting_id: MeetingId) -> MeetingState | None:
        return self._by_id.get(meeting_id)

    def __contains__(self, meeting_id: object) -> bool:
        return meeting_id in self._by_id

    def __iter__(self) -> Iterator[MeetingState]:
        return iter(self._by_id.values())

    def open(self) -> list[MeetingState]:
        return [st for st in self._by_id.values() if st.phase in OPEN]

    def invited(self, who: AgentId) -> Iterable[MeetingId]:
        return self._invited.get(who, {})

    @property
    def unanswered(self) -> int:
        return sum(self._phases[p] for p in UNANSWERED)

    @property
    def open_count(self) -> int:
        """Meetings still being negotiated (moves included)."""
        return sum(self._phases[p] for p in OPEN)

    def describe(self) -> str:
        phases: dict[str, list[str]] = {}
        for st in self._by_id.values():
            phases.setdefault(st.phase.name, []).append(st.id)
        return "; ".join(f"{name} {len(ids)} ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})"
                         for name, ids in phases.items())
