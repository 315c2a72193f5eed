"""State, as data: the negotiation's phase and each meeting's, with the events that drive them.

As in h11's `_state.py`, the tables are the rules: code fires an event, the table says where it
leads, and an event the table does not list for the current state is our bug (an
AssertionError, which stops the core). Nothing else sets a phase.

    negotiation  JOINING --begin--> NEGOTIATING --finish--> DONE      (any --fail--> ERROR)

    meeting      PENDING --ask--> ASKING --all answered--> ANSWERED --hold--> HOLDING
                 PENDING --nothing to ask--> ANSWERED        HOLDING --hold failed--> ANSWERED
                 ANSWERED | HOLDING --decide--> DECIDED      PENDING --resume--> DECIDED
                 ANSWERED --ask late--> ASKING (an invitee joined after the meeting was asked)
                 ANSWERED --ask more--> ASKING (privacy: incremental or counts, the next candidates)
                 PENDING --defer--> ANSWERED (privacy: incremental or counts: asked when its turn comes)
                 anything but CANCELLED --cancel--> CANCELLED (the live service only)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum, auto

from slotwise.coordinator.negotiation.exchanges import Exchange, HoldRound
from slotwise.coordinator.placement.judge import Absence, SlotJudge
from slotwise.coordinator.placement.reasons import Attempt
from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId


class Phase(Enum):
    JOINING = auto()  # waiting for every agent's Ready (or the join deadline)
    NEGOTIATING = auto()
    DONE = auto()  # every meeting decided, Shutdown sent (a batch run only)
    ERROR = auto()  # a bug of ours: no further input is accepted


class PhaseEvent(Enum):
    BEGIN = auto()
    FINISH = auto()
    FAIL = auto()


PHASE_TRANSITIONS: dict[Phase, dict[PhaseEvent, Phase]] = {
    Phase.JOINING: {PhaseEvent.BEGIN: Phase.NEGOTIATING, PhaseEvent.FAIL: Phase.ERROR},
    Phase.NEGOTIATING: {PhaseEvent.FINISH: Phase.DONE, PhaseEvent.FAIL: Phase.ERROR},
    Phase.DONE: {PhaseEvent.FAIL: Phase.ERROR},
    Phase.ERROR: {},
}


def next_phase(phase: Phase, event: PhaseEvent) -> Phase:
    to = PHASE_TRANSITIONS[phase].get(event)
    if to is None:
        raise AssertionError(f"{event.name} is not allowed in {phase.name}")
    return to


class MeetingPhase(Enum):
    PENDING = auto()  # not asked yet (negotiation has not begun)
    ASKING = auto()  # an availability request is out
    ANSWERED = auto()  # answers in: waiting for its turn (or its proposal), or walking its candidates
    HOLDING = auto()  # holds are out for one candidate
    DECIDED = auto()  # scheduled or failed (a live service may still move or cancel it)
    CANCELLED = auto()  # by the live service; final


class MeetingEvent(Enum):
    ASK = auto()  # an availability request goes out
    ASK_LATE = auto()  # an invitee who joined late is asked: the meeting waits for its answer
    DEFER = auto()  # privacy: incremental or counts: nothing is asked until the meeting's turn
    ASK_MORE = auto()  # privacy: incremental: the candidates asked so far failed, the next are asked
    NOTHING_TO_ASK = auto()  # no candidates, or nobody present to ask
    ALL_ANSWERED = auto()  # every answer is in, or counted as silence
    HOLD = auto()  # holds go out for one candidate
    HOLD_FAILED = auto()  # the confirmations did not satisfy the rule: walk on
    DECIDE = auto()  # scheduled or failed
    RESUME = auto()  # decided before (a journal, the service's store): booked, never asked
    CANCEL = auto()  # the live service cancels it


_P, _E = MeetingPhase, MeetingEvent
MEETING_TRANSITIONS: dict[MeetingPhase, dict[MeetingEvent, MeetingPhase]] = {
    _P.PENDING: {_E.ASK: _P.ASKING, _E.NOTHING_TO_ASK: _P.ANSWERED, _E.DEFER: _P.ANSWERED, _E.RESUME: _P.DECIDED,
                 _E.CANCEL: _P.CANCELLED},
    _P.ASKING: {_E.ALL_ANSWERED: _P.ANSWERED, _E.CANCEL: _P.CANCELLED},
    _P.ANSWERED: {_E.HOLD: _P.HOLDING, _E.DECIDE: _P.DECIDED, _E.CANCEL: _P.CANCELLED, _E.ASK_LATE: _P.ASKING,
                  _E.ASK_MORE: _P.ASKING},
    _P.HOLDING: {_E.HOLD_FAILED: _P.ANSWERED, _E.DECIDE: _P.DECIDED, _E.CANCEL: _P.CANCELLED},
    _P.DECIDED: {_E.CANCEL: _P.CANCELLED},
    _P.CANCELLED: {},
}
OPEN = frozenset({_P.PENDING, _P.ASKING, _P.ANSWERED, _P.HOLDING})  # still being negotiated
UNANSWERED = frozenset({_P.PENDING, _P.ASKING})


@dataclass(eq=False)  # identity, not value: states are keys in the core's indexes
class MeetingState:
    """One meeting (occurrence) being negotiated, or decided."""

    spec: MeetingSpec
    judge: SlotJudge
    answers: dict[AgentId, list[bool]]
    absent: dict[AgentId, Absence]
    phase: MeetingPhase = MeetingPhase.PENDING
    asking: Exchange | None = None  # in ASKING
    hold: HoldRound | None = None  # in HOLDING
    walk_order: Sequence[int] | None = None  # candidate indices in slot-order preference
    proposal: tuple[int, tuple[AgentId, ...]] | None = None  # the placement's slot and attendees
    batch: int | None = None  # the placement batch it waits in (planned together once answered)
    cursor: int = 0  # position in walk_order
    # The candidate indices each invitee's last request named (all, or privacy: incremental's
    # asked so far), and how many of walk_order have been asked (incremental).
    asked_of: dict[AgentId, tuple[int, ...]] = field(default_factory=dict)
    asked_upto: int = 0
    chunk_size: int = 0  # incremental, counts: candidates the next round asks (0: `ask_at_once`)
    masked: dict[AgentId, bytes] = field(default_factory=dict)  # privacy: counts: this round's answers
    reruns: int = 0  # privacy: counts: rounds asked again (someone dropped out, the sum was not a count)
    note: str | None = None  # privacy: counts: why there are no counts, for the failure's reason
    attempts: list[Attempt] = field(default_factory=list)
    round_trips: int = 0
    decision: Decision | None = None  # in DECIDED (and CANCELLED: what it was)
    previous: Decision | None = None  # while being moved: where it stays if the move fails
    move_failure: str | None = None  # why the last move found no slot
    on_phase: Callable[[MeetingState, MeetingPhase], None] | None = field(default=None, repr=False)

    @property
    def id(self) -> MeetingId:
        return self.spec.id

    @property
    def current(self) -> Decision | None:
        """What stands now: the decision, or, mid-move, the one being moved."""
        return self.decision or self.previous

    @property
    def exchange(self) -> Exchange | None:
        """The request round outstanding for it, if any (availability or holds)."""
        return self.asking if self.asking is not None else self.hold.exchange if self.hold is not None else None

    def fire(self, event: MeetingEvent) -> None:
        to = MEETING_TRANSITIONS[self.phase].get(event)
        if to is None:
            raise AssertionError(f"{self.id}: {event.name} is not allowed in {self.phase.name}")
        was, self.phase = self.phase, to
        if self.on_phase is not None:
            self.on_phase(self, was)


@dataclass(frozen=True, slots=True)
class MeetingView:
    """A meeting as it stands, for the live service's clients: its spec, its phase, the
    decision that stands (mid-move: the one being moved), why its last move failed, and whether
    a move is under way."""

    spec: MeetingSpec
    phase: MeetingPhase
    decision: Decision | None
    move_failure: str | None
    moving: bool
