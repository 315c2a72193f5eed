"""The negotiation core: answers in, decisions out. No sockets, no clock, no asyncio.

Rules (everything that decides what is placed where lives in this file; *what counts* as
acceptable lives in the policies, see coordinator/policies):

1. Joining. An expected agent says Hello; we send it a Welcome until it answers Ready, which
   proves it hears us. Negotiation starts when everyone is Ready, or at the join deadline with
   whoever is (the rest are reported as never joined).
2. Asking. Every meeting's invitees get ONE AvailabilityRequest naming all candidate slots
   that the meeting-level constraints allow, all meetings at once: answers for later meetings
   arrive while earlier ones are being placed. A request unanswered by its deadline is re-sent
   (requests are idempotent per round) as often as the silence policy says, then the silent
   invitee counts as unavailable for that meeting.
3. Placing. Meetings are placed in the priority policy's order (by default higher `priority`
   first, then as listed). A meeting may be placed early only if it shares nobody with any
   meeting ahead of it that is still open, so the outcome is exactly that of placing them one
   by one, just faster. Decisions resumed from a journal are booked first and never re-asked.
4. Walking. For a meeting, candidates are tried in the slot order's preference; at each, the
   invitees who said yes, are not booked in our own ledger and pass the attendee constraints
   are offered to the rule, which picks whom to hold. If it is satisfied, a Hold goes to every
   one of them. When all have replied (or the hold deadline passes), confirmations the rule
   accepts schedule the meeting with everyone who confirmed; otherwise the holds are released,
   the refusers count as "no" for that slot (or give fresh answers), and the walk goes on.
5. Announcing. MeetingScheduled / MeetingFailed go to the meeting's invitees (the only agents
   holding anything for it), batched (ANNOUNCE_EVERY_S), and all are out before Shutdown. A
   rejoining agent is told the meetings it holds.
6. Ending. Every wait has a deadline and every walk is finite (each failed hold turns at least
   one "yes" into "no", and holds are capped per meeting), so every meeting ends scheduled or
   failed with a reason. An agent silent past its liveness timeout counts as "no" everywhere.

Round ids are unique per coordinator incarnation; a reply carrying any other round is stale.

The live service (open_ended) never ends: meetings arrive with `submit`, leave with `cancel`, and
`move` re-negotiates one with the same invitees while its old slot stays booked (a meeting never
conflicts with itself), so a failed move leaves it where it was. Meetings are taken first come,
first served, each request's own meetings in priority order; a confirmed meeting is never
disturbed by a new one.

State, as data (h11 keeps its state table in one file; so do we). The negotiation moves
JOINING -> NEGOTIATING -> DONE; each meeting moves through MeetingPhase along MEETING_MOVES
below, and any other move is our bug. Every message first passes the SessionGuard (who may
speak, which incarnation, nothing twice). A ProtocolError is the peer's fault: the message is
dropped and nothing changed. Any other exception is ours: the core moves to ERROR, keeps its state
for the log, and refuses further input (CoreError), so the shell stops instead of feeding a
half-changed core.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum, auto
from typing import ParamSpec, TypeVar

from slotwise.coordinator.liveness import Liveness
from slotwise.coordinator.placement.judge import Absence, SlotJudge
from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.placement.problem import gap_minutes, wanted_for
from slotwise.coordinator.placement.reasons import Attempt, CandidateRow, candidate_rows, explain_failure
from slotwise.coordinator.placement.repair import greedy_with_repair
from slotwise.coordinator.placement.solver import optimize, warm_up
from slotwise.coordinator.plan import Plan
from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.coordinator.policies.slot_orders import Earliest
from slotwise.coordinator.turns import Turns
from slotwise.shared.decision import Decision
from slotwise.shared.errors import CoreError, ProtocolError, UsageError
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval
from slotwise.shared.wire.codec import Envelope
from slotwise.shared.wire.guard import SessionGuard
from slotwise.shared.wire.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Body,
    Conflict,
    Heartbeat,
    Hello,
    Hold,
    HoldReply,
    MeetingCancelled,
    Ready,
    Release,
    Shutdown,
    Welcome,
)

# A deadline passed, but the silent agent's connection is still answering what was sent before
# this request (it is working through a backlog, in order): wait again, up to this many times,
# before re-sending or counting it absent. Slow is not dead.
PATIENCE = 8
# An unconfirmed Welcome is sent again after WELCOME_RESEND_S, then twice as long each time, up
# to WELCOME_RESEND_MAX_S. The connection is reliable and in order, so this only covers a
# Welcome lost with a dropped connection (the agent's own Hello resends cover that too); sent
# more often, ten thousand joining agents would be re-welcomed faster than they can answer.
WELCOME_RESEND_S = 1.0
WELCOME_RESEND_MAX_S = 8.0
HELLO_ANSWERED_S = 1.0  # a Hello repeated this soon after our Welcome, same connection: no second one
LIVENESS_FACTOR = 4  # an agent is lost after this many heartbeat intervals of silence
# Decisions go to everyone in bursts, at most this long after they are made. Each broadcast wakes
# every agent; a burst wakes each once. An attendee's hold blocks the slot until then, and our
# ledger is authoritative, so the delay costs nothing in safety.
ANNOUNCE_EVERY_S = 0.02


# --- state, as data ---------------------------------------------------------------------------

class Phase(Enum):
    JOINING = auto()  # waiting for every agent's Ready (or the join deadline)
    NEGOTIATING = auto()
    DONE = auto()  # every meeting decided, Shutdown sent
    ERROR = auto()  # a bug of ours: no further input is accepted


PHASE_MOVES: dict[Phase, frozenset[Phase]] = {
    Phase.JOINING: frozenset({Phase.NEGOTIATING, Phase.ERROR}),
    Phase.NEGOTIATING: frozenset({Phase.DONE, Phase.ERROR}),
    Phase.DONE: frozenset({Phase.ERROR}),
    Phase.ERROR: frozenset(),
}


class MeetingPhase(Enum):
    PENDING = auto()  # not asked yet (negotiation has not begun)
    ASKING = auto()  # an availability request is out
    ANSWERED = auto()  # answers in: waiting for its turn, or walking its candidates
    HOLDING = auto()  # holds are out for one candidate
    DECIDED = auto()  # scheduled or failed (a live service may still move or cancel it)
    CANCELLED = auto()  # by the live service; final


_CANCELLED = frozenset({MeetingPhase.CANCELLED})
MEETING_MOVES: dict[MeetingPhase, frozenset[MeetingPhase]] = {
    # Nothing to ask (no candidates, nobody present) goes straight to ANSWERED; a decision
    # resumed from a journal goes straight to DECIDED. Only the live service cancels.
    MeetingPhase.PENDING: frozenset({MeetingPhase.ASKING, MeetingPhase.ANSWERED, MeetingPhase.DECIDED}) | _CANCELLED,
    MeetingPhase.ASKING: frozenset({MeetingPhase.ANSWERED}) | _CANCELLED,
    MeetingPhase.ANSWERED: frozenset({MeetingPhase.HOLDING, MeetingPhase.DECIDED}) | _CANCELLED,
    MeetingPhase.HOLDING: frozenset({MeetingPhase.ANSWERED, MeetingPhase.DECIDED}) | _CANCELLED,
    MeetingPhase.DECIDED: _CANCELLED,
    MeetingPhase.CANCELLED: frozenset(),
}
_OPEN = frozenset({MeetingPhase.PENDING, MeetingPhase.ASKING, MeetingPhase.ANSWERED, MeetingPhase.HOLDING})


# --- actions the shell performs ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Publish:
    """Send to the named agents, or (to=None) to every agent that has said Hello; the shell
    encodes it once."""

    body: Body
    to: tuple[AgentId, ...] | None = None


@dataclass(frozen=True, slots=True)
class SendTo:
    """Send directly to one agent (ROUTER)."""

    agent: AgentId
    body: Body


@dataclass(frozen=True, slots=True)
class Decided:
    """A meeting's decision is final: journal it before it is announced."""

    decision: Decision


@dataclass(frozen=True, slots=True)
class Explained:
    """Candidate-by-candidate reasoning for a meeting someone asked about, at decision time."""

    meeting_id: MeetingId
    rows: tuple[CandidateRow, ...]


@dataclass(frozen=True, slots=True)
class Started:
    """Joining is over; negotiation begins with `joined`, without `missing`."""

    joined: tuple[AgentId, ...]
    missing: tuple[AgentId, ...]


@dataclass(frozen=True, slots=True)
class Joined:
    """An agent proved it hears us while joining; `ready` have so far."""

    agent: AgentId
    ready: int


@dataclass(frozen=True, slots=True)
class Lost:
    """An agent fell silent past its liveness timeout."""

    agent: AgentId


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The live service cancelled a meeting; its attendees' slots are free again."""

    meeting_id: MeetingId
    previous: Decision | None  # what it was before (None: it was still being negotiated)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something an operator should read in the log (a fallback taken, a plan made)."""

    text: str
    warning: bool = False


@dataclass(frozen=True, slots=True)
class ConflictReported:
    """An attendee's calendar no longer leaves room for a confirmed meeting; the live service
    answers by the meeting's `on_conflict` policy."""

    meeting_id: MeetingId
    agent: AgentId


@dataclass(frozen=True, slots=True)
class MoveFailed:
    """A move found no new slot: the meeting stays as `decision` says."""

    decision: Decision
    reason: str


Action = (Publish | SendTo | Decided | Explained | Started | Joined | Lost | Cancelled | MoveFailed
          | ConflictReported | Notice)


@dataclass
class _Exchange:
    """One request round: who was asked, who has answered, when to give up."""

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
class _Hold:
    exchange: _Exchange
    slot_index: int  # index into the meeting's candidate list
    confirmed: list[AgentId] = field(default_factory=list)
    refused: dict[AgentId, str] = field(default_factory=dict)


@dataclass(eq=False)  # identity, not value: states are keys in the core's indexes
class _MeetingState:
    spec: MeetingSpec
    judge: SlotJudge
    answers: dict[AgentId, list[bool]]
    absent: dict[AgentId, Absence]
    phase: MeetingPhase = MeetingPhase.PENDING
    asking: _Exchange | None = None  # in ASKING
    hold: _Hold | None = None  # in HOLDING
    walk_order: Sequence[int] | None = None  # candidate indices in slot-order preference
    planned: tuple[int, tuple[AgentId, ...]] | None = None  # placement: optimize's slot and attendees
    batch: int | None = None  # live service: the request it came in, planned together once answered
    cursor: int = 0  # position in walk_order
    attempts: list[Attempt] = field(default_factory=list)
    round_trips: int = 0
    decision: Decision | None = None  # in DECIDED (and CANCELLED: what it was)
    previous: Decision | None = None  # while being moved: where it stays if the move fails
    move_failure: str | None = None  # why the last move found no slot
    moved: Callable[[_MeetingState, MeetingPhase], None] | None = field(default=None, repr=False)

    @property
    def id(self) -> MeetingId:
        return self.spec.id

    @property
    def current(self) -> Decision | None:
        """What stands now: the decision, or, mid-move, the one being moved."""
        return self.decision or self.previous

    def move(self, to: MeetingPhase) -> None:
        if to not in MEETING_MOVES[self.phase]:
            raise AssertionError(f"{self.id}: illegal move {self.phase.name} -> {to.name}")
        was, self.phase = self.phase, to
        if self.moved is not None:
            self.moved(self, was)


@dataclass
class Stats:
    rounds: int = 0
    resends: int = 0


P = ParamSpec("P")
R = TypeVar("R")


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Public verbs: a ProtocolError passes through (nothing changed); anything else is a bug
    that moves the core to ERROR before it propagates."""
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        self = args[0]
        assert isinstance(self, Negotiation)
        if self.phase is Phase.ERROR:
            raise CoreError(f"the negotiation core stopped after an internal error: {self.error}")
        try:
            return method(*args, **kwargs)
        except (ProtocolError, UsageError):
            raise
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self.phase = Phase.ERROR
            raise CoreError(f"internal error in the negotiation core: {self.error}") from exc
    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    return wrapper


class Negotiation:
    """Places a plan's meetings through the agents' answers; owns the rules, not the I/O."""

    def __init__(self, plan: Plan, explain: frozenset[MeetingId] = frozenset(),
                 decided: Sequence[Decision] = (), *, open_ended: bool = False) -> None:
        self.plan = plan
        self.open_ended = open_ended  # the live service: never DONE, meetings come and go
        # A live service answers its clients once a decision is announced: it does not batch.
        self.announce_every_s = 0.0 if open_ended else ANNOUNCE_EVERY_S
        self.settings = plan.settings
        self.explain = explain
        self.grid = plan.grid
        self.expected = plan.participants
        self.phase = Phase.JOINING
        self.error: str | None = None
        self.stats = Stats()
        self.ledger = Ledger(plan.grid)
        self.liveness = Liveness(self.settings.heartbeat_s * LIVENESS_FACTOR)
        self.guard = SessionGuard(self.expected)
        self._started = False
        self._ready: set[AgentId] = set()
        self._lost: set[AgentId] = set()
        self._welcome_due: float | None = None
        # Welcomed, not yet Ready: when to welcome again, and the interval after that.
        self._unconfirmed: dict[AgentId, tuple[float, float]] = {}
        self._join_deadline: float | None = None
        self._heartbeat_due: float | None = None
        self._next_round = 1
        self._announcements: list[tuple[Body, tuple[AgentId, ...]]] = []  # and who is told
        self._announce_due: float | None = None
        # Meetings per phase, kept by every move: "is anything still unanswered?" in O(1).
        self._phases: Counter[MeetingPhase] = Counter()
        self._turns: Turns[_MeetingState] = Turns(lambda st: st.phase in _OPEN, lambda st: st.spec.invitees)
        # Outstanding exchanges by deadline; an entry whose exchange has moved on is skipped.
        self._deadlines: list[tuple[float, int, _MeetingState, _Exchange]] = []
        self._tiebreak = itertools.count()
        # Liveness is per connection (a host carries many agents); `peer` names it.
        self._peer_of: dict[AgentId, str] = {}
        self._members: dict[str, set[AgentId]] = {}
        self._sent = itertools.count(1)  # exchanges sent, in order
        self._answered_upto: dict[AgentId, int] = {}  # the latest exchange each agent has answered
        self._replied_at: dict[str, float] = {}  # when each connection last answered anything
        self._invited: dict[AgentId, dict[MeetingId, None]] = {}  # each person's meetings, in order
        self._silent_peers: dict[str, set[AgentId]] = {}  # judged gone: their agents, if they speak again
        queue = [self._meeting_state(m) for m in plan.meetings]
        # placement: optimize plans every meeting at once when all answers are in (batch runs).
        self._to_optimize = plan.optimize_s is not None and not open_ended
        if plan.optimize_s:
            warm_up()  # a missing solver is said when the plan is made, where it changes something
        self._said_no_solver = False  # the missing-solver warning, once per run, not per request
        # The plan's seats of meetings not yet decided: (start, end) minutes with the gap, and
        # the planned attendees. A refused hold re-plans its meeting around them.
        self._seats: dict[MeetingId, tuple[int, int, frozenset[AgentId]]] = {}
        # The live service plans each request's meetings together once their answers are in,
        # against what is booked; meetings already walking or confirmed are never moved.
        self._batches: dict[int, list[_MeetingState]] = {}
        self._batch_ids = itertools.count(1)
        # Order now if the priority can; otherwise once every meeting's answers are in.
        # The live service orders each request's meetings when they arrive (an answer-based
        # priority cannot wait for answers to a stream that never ends).
        self._ordered = not plan.priority.needs_answers or open_ended
        if self._ordered:
            queue.sort(key=lambda st: plan.priority.key(st.judge.facts(st.spec.order, False)))
        self._by_id = {st.id: st for st in queue}
        self.decisions: list[Decision] = []  # in decision order
        for d in decided:  # resumed from a journal: booked as before, never asked again
            self._resume(self._meeting(d.id), d)
        if self._ordered:
            self._turns.reset(queue)

    def _record(self, decision: Decision) -> None:
        """The batch run's decision list, for its results. A live service keeps its decisions in
        its store and each meeting's state: a list here would grow with every move, for ever."""
        if not self.open_ended:
            self.decisions.append(decision)

    def _resume(self, st: _MeetingState, d: Decision) -> None:
        if d.when is not None:
            self.ledger.book(st.id, d.when, d.attendees)
        st.move(MeetingPhase.DECIDED)
        st.decision = d
        self._record(d)
        self._announcements.append((d.announcement(st.spec.title, st.spec.remind), st.spec.invitees))

    def _meeting_state(self, spec: MeetingSpec) -> _MeetingState:
        answers: dict[AgentId, list[bool]] = {}
        absent: dict[AgentId, Absence] = {}
        judge = SlotJudge(spec, self.grid, self.ledger, self.plan.people, answers, absent)
        st = _MeetingState(spec, judge, answers, absent, moved=self._moved)
        self._phases[st.phase] += 1
        for who in spec.invitees:
            self._invited.setdefault(who, {})[spec.id] = None
        return st

    def _moved(self, st: _MeetingState, was: MeetingPhase) -> None:
        self._phases[was] -= 1
        self._phases[st.phase] += 1
        if st.phase is MeetingPhase.ANSWERED or st.phase not in _OPEN:
            self._turns.touch(st)  # its turn may have come, or, closed, the next one's

    def _arm(self, st: _MeetingState, ex: _Exchange) -> None:
        heapq.heappush(self._deadlines, (ex.deadline, next(self._tiebreak), st, ex))

    def _due(self) -> float | None:
        """The earliest live exchange deadline, dropping entries for exchanges that moved on."""
        while self._deadlines:
            deadline, _, st, ex = self._deadlines[0]
            if ex.deadline == deadline and (st.asking is ex or (st.hold is not None and st.hold.exchange is ex)):
                return deadline
            heapq.heappop(self._deadlines)
        return None

    @property
    def _unanswered(self) -> int:
        return self._phases[MeetingPhase.PENDING] + self._phases[MeetingPhase.ASKING]

    def _move(self, to: Phase) -> None:
        if to not in PHASE_MOVES[self.phase]:
            raise AssertionError(f"illegal move {self.phase.name} -> {to.name}")
        self.phase = to

    def _explain(self, st: _MeetingState, chosen_slot: int | None) -> list[Action]:
        """The candidate-by-candidate reasoning, before this decision changes the ledger."""
        if st.id not in self.explain:
            return []
        return [Explained(st.id, tuple(candidate_rows(st.judge, chosen_slot)))]

    # --- public verbs ---------------------------------------------------------------------

    @_guarded
    def start(self, now: float) -> list[Action]:
        if self._started:
            raise UsageError("start() was called twice")
        self._started = True
        self._join_deadline = now + self.settings.join_timeout_s
        self._welcome_due = now + WELCOME_RESEND_S
        self._heartbeat_due = now + self.settings.heartbeat_s
        return self._maybe_begin(now)

    @_guarded
    def receive(self, env: Envelope, now: float, peer: str | None = None) -> list[Action]:
        """Feed one decoded message; raises ProtocolError for a message to drop (and log).
        `peer` names the connection it came over (agents on one host share one); without it,
        each agent is its own."""
        if not self._started:
            raise UsageError("receive() before start()")
        self.guard.admit(env)
        sender, body = env.sender, env.body
        if isinstance(body, Hello):
            return self._on_hello(sender, env.session, body, now, peer or sender)
        self.guard.require_bound(env)
        if sender in self._lost:
            # Back from a partition, same process: it proved it hears us in this
            # session already. What it missed while lost stays counted as "no".
            self._lost.discard(sender)
            self._ready.add(sender)
        self._heard(sender, peer or sender, now)
        if isinstance(body, Ready):
            return self._on_ready(sender, now)
        if isinstance(body, Heartbeat):
            return []
        if isinstance(body, AvailabilityResponse):
            return self._on_availability(sender, body, now)
        if isinstance(body, HoldReply):
            return self._on_hold_reply(sender, body, now)
        if isinstance(body, Conflict):
            return self._on_conflict(sender, body)
        raise ProtocolError(f"{type(body).__name__} is not something an agent sends")

    @_guarded
    def tick(self, now: float, *, backlog: bool = False) -> list[Action]:
        """Act on every deadline that has passed by `now`. With `backlog` (messages have arrived
        that the caller has not fed yet), silence is not judged: the answers may be among them."""
        actions: list[Action] = []
        if self.phase is Phase.DONE or not self._started:
            return actions
        if not backlog:
            gone = []
            for peer in self.liveness.expired(now):
                members = self._forget_peer(peer)
                if len(self._silent_peers) >= len(self.expected):  # reconnect churn: keep it bounded
                    self._silent_peers.pop(next(iter(self._silent_peers)))
                self._silent_peers[peer] = members
                gone += sorted(members)
            if gone:
                actions += self._on_lost(gone, now)
        if self._heartbeat_due is not None and now >= self._heartbeat_due:
            self._heartbeat_due = now + self.settings.heartbeat_s
            actions.append(Publish(Heartbeat()))
        if self.phase is Phase.JOINING:
            if self._welcome_due is not None and now >= self._welcome_due:
                self._welcome_due = now + WELCOME_RESEND_S
                again = [a for a, (due, _) in self._unconfirmed.items() if now >= due]
                for a in again:
                    _, every = self._unconfirmed[a]
                    self._unconfirmed[a] = (now + every * 2, min(WELCOME_RESEND_MAX_S, every * 2))
                actions += [Publish(self._welcome(a), to=(a,)) for a in again]
            return actions + self._maybe_begin(now)
        while not backlog and (due := self._due()) is not None and now >= due:
            _, _, st, ex = heapq.heappop(self._deadlines)
            actions += self._asking_timed_out(st, now) if st.asking is ex else self._hold_timed_out(st, now)
        actions += self._advance(now)
        if self._announce_due is not None and now >= self._announce_due:
            actions += self._flush_announcements()
        return actions

    def next_deadline(self) -> float | None:
        """The earliest `now` at which `tick` has something to do."""
        if self.phase in (Phase.DONE, Phase.ERROR):
            return None
        times = [self.liveness.next_deadline(), self._heartbeat_due, self._announce_due]
        if self.phase is Phase.JOINING:
            times += [self._welcome_due, self._join_deadline]
        times.append(self._due())
        return min((t for t in times if t is not None), default=None)

    @property
    def started(self) -> bool:
        return self._started

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def joined(self) -> tuple[AgentId, ...]:
        return tuple(a for a in self.expected if a in self._ready)

    @property
    def missing(self) -> tuple[AgentId, ...]:
        return tuple(a for a in self.expected if a not in self._ready)

    def describe(self) -> str:
        """The state in a few lines, for the log when the core stops."""
        phases: dict[str, list[str]] = {}
        for st in self._by_id.values():
            phases.setdefault(st.phase.name, []).append(st.id)
        parts = [f"{name} {len(ids)} ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''})"
                 for name, ids in phases.items()]
        return (f"phase {self.phase.name}; error: {self.error}; ready {len(self._ready)}/{len(self.expected)}; "
                f"meetings: {'; '.join(parts)}")

    # --- joining ------------------------------------------------------------------------------

    def _welcome(self, who: AgentId) -> Welcome:
        return Welcome(name=who, heartbeat_s=self.settings.heartbeat_s)

    def _heard(self, who: AgentId, peer: str, now: float) -> None:
        back = self._silent_peers.pop(peer, None)
        if back is not None:
            # A connection judged gone speaks again, same processes: all its agents are back
            # (what they missed meanwhile stays counted as "no"), not just the one that spoke.
            for agent in back:
                if agent in self._lost and agent not in self._peer_of:
                    self._lost.discard(agent)
                    self._ready.add(agent)
                    self._peer_of[agent] = peer
                    self._members.setdefault(peer, set()).add(agent)
        old = self._peer_of.get(who)
        if old != peer:
            if old is not None:
                self._members[old].discard(who)
                if not self._members[old]:
                    self._forget_peer(old)
            self._peer_of[who] = peer
            self._members.setdefault(peer, set()).add(who)
        self.liveness.heard(peer, now)

    def _forget_peer(self, peer: str) -> set[AgentId]:
        """A connection gone (or emptied): its agents, who no longer have one."""
        members = self._members.pop(peer, set())
        for who in members:
            self._peer_of.pop(who, None)
        self.liveness.forget(peer)
        self._replied_at.pop(peer, None)
        return members

    def _replied(self, who: AgentId, ex: _Exchange, now: float) -> None:
        self._answered_upto[who] = max(self._answered_upto.get(who, 0), ex.sent)
        peer = self._peer_of.get(who)
        if peer is not None:
            self._replied_at[peer] = now

    def _wait_again(self, st: _MeetingState, ex: _Exchange, now: float, timeout_s: float) -> bool:
        """An exchange's deadline passed. True if its silent agents are busy (see _busy): the
        deadline is armed again. Otherwise the exchange counts as sent anew, for the re-send
        that may follow (in order behind everything sent before it)."""
        if self._busy(ex.waiting, ex, now, timeout_s):
            ex.waited += 1
            ex.deadline = now + timeout_s
            self._arm(st, ex)
            return True
        ex.sent = next(self._sent)
        return False

    def _busy(self, waiting: set[AgentId], ex: _Exchange, now: float, timeout_s: float) -> bool:
        """Some silent agent has answered nothing sent since this exchange, yet its connection
        answered something else within the timeout: it is working through a backlog in order,
        and this request is still in its queue. Waiting again is cheaper than sending it twice."""
        if ex.waited >= PATIENCE:
            return False
        for who in waiting:
            peer = self._peer_of.get(who)
            if self._answered_upto.get(who, 0) < ex.sent and peer is not None \
                    and now - self._replied_at.get(peer, -timeout_s) < timeout_s:
                return True
        return False

    def _on_hello(self, sender: AgentId, session: str, body: Hello, now: float, peer: str) -> list[Action]:
        if body.name != sender:
            raise ProtocolError(f"Hello names {body.name!r} but was sent by {sender!r}")
        moved = self._peer_of.get(sender) not in (None, peer)  # a new connection: the Welcome was lost with the old
        fresh = self.guard.bind(sender, session)
        if fresh or sender in self._lost:
            # A first Hello, a restarted agent, or one back from silence: it must prove it
            # hears us again before it counts as present.
            self._ready.discard(sender)
            self._lost.discard(sender)
        self._heard(sender, peer, now)
        if sender not in self._ready:
            waiting = self._unconfirmed.get(sender)
            if not fresh and not moved and waiting is not None and now < waiting[0] - waiting[1] + HELLO_ANSWERED_S:
                return []  # a Hello resent while our Welcome was on its way: that Welcome answers it
            self._unconfirmed[sender] = (now + WELCOME_RESEND_S, WELCOME_RESEND_S)
        welcome: list[Action] = [Publish(self._welcome(sender), to=(sender,))]
        return welcome if self.phase is Phase.JOINING else welcome + self._tell(sender)

    def _on_ready(self, sender: AgentId, now: float) -> list[Action]:
        new = sender not in self._ready
        self._ready.add(sender)
        self._unconfirmed.pop(sender, None)
        if self.phase is Phase.JOINING:
            joined: list[Action] = [Joined(sender, len(self._ready))] if new else []
            return joined + self._maybe_begin(now)
        return []  # a rejoining agent was told its meetings with its Welcome

    def _tell(self, sender: AgentId) -> list[Action]:
        """A restarted agent rejoining: the meetings it holds (and, in the live service, those of
        its meetings cancelled meanwhile). Sent right behind its Welcome, which it reads first on
        the same connection: so it learns them even if the run ends before its Ready is read."""
        told: list[Action] = []
        for meeting_id in self._invited.get(sender, ()):
            st = self._by_id[meeting_id]
            d = st.current
            if d is None or sender not in d.participants:
                continue
            body: Body = (MeetingCancelled(meeting_id=st.id) if st.phase is MeetingPhase.CANCELLED
                          else d.announcement(st.spec.title, st.spec.remind))
            told.append(Publish(body, to=(sender,)))
        return told

    def _maybe_begin(self, now: float) -> list[Action]:
        everyone = len(self._ready) == len(self.expected)  # only expected agents get past the guard
        if self._join_deadline is None:
            raise UsageError("start() must be called first")
        if not everyone and now < self._join_deadline:
            return []
        self._move(Phase.NEGOTIATING)
        actions: list[Action] = [Started(self.joined, self.missing)]
        actions += self._flush_announcements()  # decisions resumed from a journal, told again
        for st in self._turns.ordered() if self._ordered else list(self._by_id.values()):
            if st.phase is MeetingPhase.PENDING:  # decisions resumed from a journal are not asked again
                actions += self._ask(st, now)
        return actions + self._advance(now)

    # --- asking -------------------------------------------------------------------------------

    def _new_round(self) -> int:
        self.stats.rounds += 1
        r, self._next_round = self._next_round, self._next_round + 1
        return r

    def _availability_request(self, st: _MeetingState, round_: int) -> AvailabilityRequest:
        return AvailabilityRequest(
            meeting_id=st.id, round=round_, origin=self.grid.origin,
            slot_minutes=self.grid.minutes, duration_minutes=st.spec.duration_minutes,
            slots=st.spec.candidates,
        )

    def _ask(self, st: _MeetingState, now: float) -> list[Action]:
        for who in st.spec.invitees:
            if who not in self._ready:
                st.absent[who] = Absence.LOST if who in self._lost else Absence.NEVER_JOINED
        asked = {w for w in st.spec.invitees if w not in st.absent}
        if not asked or not st.spec.candidates:
            st.move(MeetingPhase.ANSWERED)
            return []  # nothing to wait for; _advance decides it
        st.move(MeetingPhase.ASKING)
        st.round_trips += 1
        st.asking = _Exchange(self._new_round(), asked, now + self.settings.response_timeout_s, sent=next(self._sent))
        self._arm(st, st.asking)
        return [Publish(self._availability_request(st, st.asking.round), to=tuple(sorted(asked)))]

    def _answered(self, st: _MeetingState) -> None:
        st.asking = None
        st.move(MeetingPhase.ANSWERED)

    def _on_availability(self, sender: AgentId, body: AvailabilityResponse, now: float) -> list[Action]:
        st = self._meeting(body.meeting_id)
        ex = st.asking
        if ex is None or body.round != ex.round or sender not in ex.asked:
            raise ProtocolError(f"stale or unexpected availability for {body.meeting_id} round {body.round}")
        if len(body.available) != len(st.spec.candidates):
            raise ProtocolError(f"{len(body.available)} answers for {len(st.spec.candidates)} candidate slots")
        if sender in ex.replied:
            return []  # a duplicate of an answer we already have
        ex.replied.add(sender)
        self._replied(sender, ex, now)
        st.answers[sender] = list(body.available)
        if not ex.waiting:
            self._answered(st)
            return self._advance(now)
        return []

    def _asking_timed_out(self, st: _MeetingState, now: float) -> list[Action]:
        ex = st.asking
        assert ex is not None
        if self._wait_again(st, ex, now, self.settings.response_timeout_s):
            return []
        if ex.retry(now, self.settings.response_timeout_s, st.spec.policies.silence.retries(self.settings.retries)):
            self.stats.resends += 1
            self._arm(st, ex)
            return [Publish(self._availability_request(st, ex.round), to=tuple(sorted(ex.waiting)))]
        for who in ex.waiting:
            st.absent[who] = Absence.SILENT
        self._answered(st)
        return []

    # --- placing ------------------------------------------------------------------------------

    def _advance(self, now: float) -> list[Action]:
        """Start (or finish) every meeting that no open meeting ahead of it shares people with."""
        actions: list[Action] = []
        if not self._ordered:
            if self._unanswered:
                return actions  # the priority ranks by answers: wait for all of them
            priority = self.plan.priority
            open_ = [st for st in self._by_id.values() if st.phase in _OPEN]
            open_.sort(key=lambda st: priority.key(st.judge.facts(st.spec.order, True)))
            self._turns.reset(open_)
            self._ordered = True
        if self._to_optimize:
            if self._unanswered:
                return actions  # the plan needs every meeting's answers
            self._to_optimize = False
            actions += self._optimize([st for st in self._turns.ordered() if st.phase is MeetingPhase.ANSWERED])
        for batch, members in list(self._batches.items()):
            if all(st.phase not in (MeetingPhase.PENDING, MeetingPhase.ASKING) for st in members):
                del self._batches[batch]
                actions += self._optimize([st for st in members if st.phase is MeetingPhase.ANSWERED])
        for st in self._turns.ready():  # only meetings whose turn an event may have brought
            if st.phase is MeetingPhase.ANSWERED and st.batch not in self._batches:
                actions += self._walk(st, now)  # may decide it
        if self.phase is Phase.NEGOTIATING and not self.open_count and not self.open_ended:
            self._move(Phase.DONE)
            actions += self._flush_announcements()
            actions.append(Publish(Shutdown()))
        return actions

    def _announce(self, body: Body, to: tuple[AgentId, ...], now: float) -> None:
        self._announcements.append((body, to))
        if self._announce_due is None:
            self._announce_due = now + self.announce_every_s

    def _flush_announcements(self) -> list[Action]:
        burst: list[Action] = [Publish(body, to=to) for body, to in self._announcements]
        self._announcements.clear()
        self._announce_due = None
        return burst

    def _preference(self, st: _MeetingState) -> Sequence[int]:
        """Candidate indices in the slot order's preference."""
        order = st.spec.policies.slot_order
        if isinstance(order, Earliest):  # the candidates are in time order already
            return range(len(st.spec.candidates))
        facts = st.judge.facts(st.spec.order, order.needs_free_at)
        return sorted(range(len(st.spec.candidates)), key=lambda i: order.key(facts, i))

    def _optimize(self, open_: list[_MeetingState]) -> list[Action]:
        """Choose these meetings' slots at once (coordinator/optimize.py), against what is booked,
        then let each walk start there; the walk and the holds still decide. The batch run plans
        every meeting; the live service, each request's meetings once their answers are in."""
        budget = self.plan.optimize_s
        assert budget is not None
        if not open_:
            return []
        lowest = min((st.spec.priority for st in open_), default=0)
        preference = {st.id: self._preference(st) for st in open_}
        booked_per_day: dict[tuple[AgentId, date], int] = {}
        wanted = [wanted_for(st.judge, preference[st.id], 1 + st.spec.priority - lowest, self.plan.people,
                             self.ledger, booked_per_day) for st in open_]
        notices: list[Action] = []
        try:
            placement = optimize(wanted, budget, booked_per_day)
        except ImportError:
            if not self._said_no_solver:
                self._said_no_solver = True
                notices.append(Notice("placement: optimize needs OR-Tools (pip install 'slotwise[optimize]'); "
                                      "placing with the greedy walk and its repair pass instead", warning=True))
            placement = greedy_with_repair(wanted, booked_per_day)
        plan_weight = sum(1 + self._by_id[m].spec.priority - lowest for m in placement.chosen)
        walked = self._dry_walk(open_, preference, lowest)
        if plan_weight < walked:
            # The solver ran out of time short of what one greedy pass reaches: walk greedily.
            return [*notices, Notice(f"placement: optimize planned weight {plan_weight}, the greedy walk reaches "
                                     f"{walked}: walking greedily ({placement.how}, budget {budget:g}s)")]
        for st in open_:
            option = placement.chosen.get(st.id)
            if option is not None:
                st.walk_order = [option.index] + [i for i in preference[st.id] if i != option.index]
                if st.id in placement.attending:  # someone free there is planned elsewhere then
                    st.planned = (option.index, placement.attending[st.id])
                self._seats[st.id] = (option.start, option.end + gap_minutes(st.spec),
                                      frozenset(placement.attendees(st.id)))
        # Planned meetings first, in the places these meetings held in the order: meetings of
        # other requests keep theirs (first come, first served).
        queue, members = self._turns.ordered(), set(open_)
        places = [k for k, st in enumerate(queue) if st in members]
        ours = [queue[k] for k in places]
        ours = [st for st in ours if st.id in placement.chosen] + [st for st in ours if st.id not in placement.chosen]
        for k, st in zip(places, ours, strict=True):
            queue[k] = st
        self._turns.reset(queue)
        return [*notices, Notice(f"placement: optimize plans {len(placement.chosen)} of {len(open_)} meetings "
                                 f"({placement.how}, budget {budget:g}s)")]

    def _dry_walk(self, open_: Sequence[_MeetingState], preference: dict[MeetingId, Sequence[int]],
                  lowest: int) -> int:
        """The weight the greedy walk would place from these answers (no holds refused), on a
        scratch ledger: the bar a plan must clear."""
        scratch = self.ledger.copy()
        placed = 0
        for st in open_:
            judge = SlotJudge(st.spec, self.grid, scratch, self.plan.people, st.answers, st.absent)
            load, judged = judge.load(), judge.judged_meeting()
            for i in preference[st.id]:
                chosen = judge.choose(i, load, judged)
                if chosen:
                    scratch.book(st.id, self._interval(st, i), chosen)
                    placed += 1 + st.spec.priority - lowest
                    break
        return placed

    def _walk(self, st: _MeetingState, now: float) -> list[Action]:
        if st.walk_order is None:
            # Fixed at the first walk: the people it depends on are this meeting's until it ends.
            st.walk_order = self._preference(st)
        # Fixed for the walk: these people are this meeting's until it ends, and nobody's
        # absence changes while no request for this meeting is outstanding.
        load, judged = st.judge.load(), st.judge.judged_meeting()
        # A candidate where fewer than `required` can come cannot satisfy the rule (its minimum
        # is the fewest attendees it accepts): skipped before the per-person checks.
        possible = st.judge.open_mask(judged.required)
        if st.planned is not None:
            # The plan's first hold: only the attendees it planned here, so those it needs in
            # an overlapping meeting stay free for it. Any later attempt walks as usual.
            i, attending = st.planned
            st.planned = None
            free = set(st.judge.free_at(i))
            planned = [who for who in attending if who in free]
            if planned and st.spec.policies.rule.satisfied(judged, planned):
                return self._send_holds(st, i, planned, now)
        while st.cursor < len(st.walk_order):
            i = st.walk_order[st.cursor]
            chosen = st.judge.choose(i, load, judged) if possible is None or possible[i] else None
            if chosen:
                return self._send_holds(st, i, chosen, now)
            st.cursor += 1
        return self._fail(st, now, gave_up=False)

    def _interval(self, st: _MeetingState, i: int) -> Interval:
        return self.grid.interval(st.spec.candidates[i], st.spec.duration_minutes)

    def _send_holds(self, st: _MeetingState, i: int, attendees: list[AgentId], now: float) -> list[Action]:
        when = self._interval(st, i)
        st.round_trips += 1
        ex = _Exchange(self._new_round(), set(attendees), now + self.settings.hold_timeout_s, sent=next(self._sent))
        st.move(MeetingPhase.HOLDING)
        st.hold = _Hold(ex, i)
        self._arm(st, ex)
        # One message for all of them: a host carrying several gets it once.
        return [Publish(self._hold_message(st, ex.round, when), to=tuple(attendees))]

    def _hold_message(self, st: _MeetingState, round_: int, when: Interval) -> Hold:
        return Hold(meeting_id=st.id, round=round_, start=when.start, end=when.end)

    def _on_hold_reply(self, sender: AgentId, body: HoldReply, now: float) -> list[Action]:
        st = self._meeting(body.meeting_id)
        hold = st.hold
        if hold is None or body.round != hold.exchange.round or sender not in hold.exchange.asked:
            if body.accepted:
                # A late yes for a hold we gave up on: tell the agent to let go of it.
                return [SendTo(sender, Release(meeting_id=body.meeting_id, round=body.round))]
            raise ProtocolError(f"stale hold reply for {body.meeting_id} round {body.round}")
        if sender in hold.exchange.replied:
            return []
        hold.exchange.replied.add(sender)
        self._replied(sender, hold.exchange, now)
        if body.accepted:
            hold.confirmed.append(sender)
        else:
            hold.refused[sender] = body.reason or "refused"
            if body.available is not None and len(body.available) == len(st.spec.candidates):
                st.answers[sender] = list(body.available)
        if not hold.exchange.waiting:
            return self._resolve_hold(st, now) + self._advance(now)
        return []

    def _hold_timed_out(self, st: _MeetingState, now: float) -> list[Action]:
        hold = st.hold
        assert hold is not None
        ex = hold.exchange
        if self._wait_again(st, ex, now, self.settings.hold_timeout_s):
            return []
        if ex.retry(now, self.settings.hold_timeout_s, self.settings.retries):
            self.stats.resends += 1
            self._arm(st, ex)
            when = self._interval(st, hold.slot_index)
            return [Publish(self._hold_message(st, ex.round, when), to=tuple(sorted(ex.waiting)))]
        for who in ex.waiting:
            hold.refused[who] = "no reply"
        return self._resolve_hold(st, now)

    def _resolve_hold(self, st: _MeetingState, now: float) -> list[Action]:
        hold = st.hold
        assert hold is not None
        attendees = tuple(w for w in st.spec.invitees if w in hold.confirmed)
        if attendees and st.spec.policies.rule.satisfied(st.judge.judged_meeting(), attendees):
            when = self._interval(st, hold.slot_index)
            explained = self._explain(st, st.spec.candidates[hold.slot_index])
            if st.previous is not None:
                self.ledger.unbook(st.id, st.previous.attendees)  # moved: the old slot is free once the new one is booked
            self.ledger.book(st.id, when, attendees)  # asserts first: nothing is half-booked
            st.hold = None
            decision = Decision.placed(st.id, when, attendees, st.round_trips)
            return explained + self._decide(st, decision, now)
        st.hold = None
        st.move(MeetingPhase.ANSWERED)
        for who in hold.refused:
            if who in st.answers:
                st.answers[who][hold.slot_index] = False
        st.attempts.append(Attempt(st.spec.candidates[hold.slot_index], tuple(hold.confirmed),
                                   tuple(hold.refused.items())))
        releases: list[Action] = [Publish(Release(meeting_id=st.id, round=hold.exchange.round),
                                          to=tuple(hold.confirmed))] if hold.confirmed else []
        if len(st.attempts) >= self.settings.max_hold_attempts:
            return releases + self._fail(st, now, gave_up=True)
        if st.id in self._seats:
            self._replan(st)
        return releases  # _advance resumes the walk at the next candidate

    def _replan(self, st: _MeetingState) -> None:
        """A planned meeting's hold was refused: re-plan this meeting only, once (later refusals
        walk on in this order). The candidates left in its walk where its rule is met without
        anyone the plan seats in another undecided meeting at an overlapping time come first, so
        the rest of the plan stands; the others stay behind them, as the walk would have taken
        them."""
        assert st.walk_order is not None
        del self._seats[st.id]
        gap = gap_minutes(st.spec)
        load, judged = st.judge.load(), st.judge.judged_meeting()
        rule = st.spec.policies.rule

        def clear(i: int) -> bool:
            start = st.spec.candidates[i] * self.grid.minutes
            end = start + st.spec.duration_minutes + gap
            taken = {who for a, b, people in self._seats.values() if a < end and start < b for who in people}
            free = [who for who in st.judge.free_at(i) if who not in taken]
            chosen = rule.select(judged, free, load)
            return bool(chosen) and rule.satisfied(judged, chosen)

        done, rest = list(st.walk_order[:st.cursor]), st.walk_order[st.cursor:]
        clear_of_plan = [clear(i) for i in rest]
        st.walk_order = (done + [i for i, ok in zip(rest, clear_of_plan, strict=True) if ok]
                         + [i for i, ok in zip(rest, clear_of_plan, strict=True) if not ok])

    def _fail(self, st: _MeetingState, now: float, *, gave_up: bool) -> list[Action]:
        explained = self._explain(st, None)
        reason = explain_failure(st.judge, self.plan.zone, st.attempts, gave_up)
        return explained + self._decide(st, Decision.failed(st.id, reason, st.round_trips), now)

    def _decide(self, st: _MeetingState, decision: Decision, now: float) -> list[Action]:
        st.move(MeetingPhase.DECIDED)
        self._seats.pop(st.id, None)
        if st.previous is not None and st.previous.scheduled and not decision.scheduled:
            # A move that found nothing: the meeting stays where it was, booked all along.
            st.decision, st.move_failure = st.previous, decision.reason or "no slot found"
            return [MoveFailed(st.previous, st.move_failure)]
        st.decision = decision
        self._record(decision)
        self._announce(decision.announcement(st.spec.title, st.spec.remind), st.spec.invitees, now)
        return [Decided(decision)]

    # --- the live service: meetings come and go -------------------------------------------------

    def _require_open_ended(self, verb: str) -> None:
        if not self.open_ended:
            raise UsageError(f"{verb}() is for the live service (open_ended=True)")

    @_guarded
    def submit(self, specs: Sequence[MeetingSpec], now: float) -> list[Action]:
        """New meetings, negotiated against everything booked; ids must be new (the service
        answers a repeated request itself)."""
        self._require_open_ended("submit")
        for spec in specs:
            if spec.id in self._by_id:
                raise UsageError(f"meeting {spec.id} exists already")
        fresh = [self._meeting_state(spec) for spec in specs]
        fresh.sort(key=lambda st: self.plan.priority.key(st.judge.facts(st.spec.order, False)))
        if self.plan.optimize_s is not None and len(fresh) > 1:
            batch = next(self._batch_ids)
            self._batches[batch] = fresh
            for st in fresh:
                st.batch = batch
        for st in fresh:
            self._by_id[st.id] = st
            self._turns.append(st)
        if self.phase is not Phase.NEGOTIATING:
            return []  # asked when joining ends
        # Agents hear every cancellation and move before they are asked again: a slot the ledger
        # has freed must not still look taken to them (one socket keeps this order).
        actions: list[Action] = self._flush_announcements()
        for st in fresh:
            actions += self._ask(st, now)
        return actions + self._advance(now)

    @_guarded
    def move(self, spec: MeetingSpec, now: float) -> list[Action]:
        """Negotiate `spec` (an existing meeting with a new window) with the same invitees; the
        old slot stays booked until a new one is confirmed."""
        self._require_open_ended("move")
        old = self._by_id.get(spec.id)
        if old is None or old.phase is not MeetingPhase.DECIDED or old.decision is None:
            raise UsageError(f"meeting {spec.id} is not decided, so it cannot be moved")
        st = self._meeting_state(spec)
        st.previous = old.decision
        self._by_id[st.id] = st
        self._turns.append(st)
        if self.phase is not Phase.NEGOTIATING:
            return []
        return self._flush_announcements() + self._ask(st, now) + self._advance(now)

    @_guarded
    def cancel(self, meeting_id: MeetingId, now: float) -> list[Action]:
        """Cancel a meeting in any state: holds are released, its slot is freed, everyone is told."""
        self._require_open_ended("cancel")
        st = self._by_id.get(meeting_id)
        if st is None or st.phase is MeetingPhase.CANCELLED:
            raise UsageError(f"meeting {meeting_id} is unknown or cancelled already")
        actions: list[Action] = []
        if st.hold is not None:
            actions += [SendTo(w, Release(meeting_id=st.id, round=st.hold.exchange.round))
                        for w in sorted(st.hold.exchange.asked)]
            st.hold = None
        st.asking = None
        previous = st.current
        if previous is not None and previous.scheduled:
            self.ledger.unbook(st.id, previous.attendees)
        st.decision = previous
        st.move(MeetingPhase.CANCELLED)
        self._announce(MeetingCancelled(meeting_id=st.id), st.spec.invitees, now)
        actions.append(Cancelled(st.id, previous))  # the shell's record comes before anyone hears
        if self.phase is Phase.NEGOTIATING:
            actions += self._flush_announcements()
        return actions + self._advance(now)

    def _on_conflict(self, sender: AgentId, body: Conflict) -> list[Action]:
        st = self._meeting(body.meeting_id)
        d = st.current
        if d is None or not d.scheduled or sender not in d.participants or st.phase is MeetingPhase.CANCELLED:
            raise ProtocolError(f"conflict for {body.meeting_id}, which {sender} does not attend")
        if not self.open_ended or st.phase is not MeetingPhase.DECIDED:
            return []  # a batch run ends soon; a meeting being moved is being dealt with already
        return [ConflictReported(st.id, sender)]

    @_guarded
    def drop_attendee(self, meeting_id: MeetingId, who: AgentId, now: float) -> list[Action]:
        """The meeting goes on without `who`, if its rule still holds; returns [] if it does not
        (the caller then moves it)."""
        self._require_open_ended("drop_attendee")
        st = self._by_id.get(meeting_id)
        d = None if st is None else st.decision
        if st is None or st.phase is not MeetingPhase.DECIDED or d is None or not d.scheduled or d.when is None:
            return []
        rest = tuple(a for a in d.attendees if a != who)
        if not rest or not st.spec.policies.rule.satisfied(st.judge.judged_meeting(), rest):
            return []
        self.ledger.unbook(st.id, d.attendees)
        self.ledger.book(st.id, d.when, rest)
        decision = Decision.placed(st.id, d.when, rest, d.round_trips)
        st.decision = decision
        self._record(decision)
        self._announce(decision.announcement(st.spec.title, st.spec.remind), st.spec.invitees, now)
        return [Decided(decision)] + self._flush_announcements()

    @_guarded
    def restore(self, spec: MeetingSpec, decision: Decision | None, *, cancelled: bool = False) -> None:
        """A meeting the live service's store already decided (or cancelled): booked as before
        and announced again when negotiation begins, never asked again. Before `start` only."""
        self._require_open_ended("restore")
        if self._started or spec.id in self._by_id:
            raise UsageError(f"restore({spec.id}) after start, or twice")
        st = self._meeting_state(spec)
        self._by_id[st.id] = st
        if not cancelled:
            assert decision is not None, "only a cancelled meeting may have no decision"
            self._resume(st, decision)
            return
        st.decision = decision
        st.move(MeetingPhase.CANCELLED)
        self._announcements.append((MeetingCancelled(meeting_id=st.id), st.spec.invitees))

    @property
    def announcing(self) -> bool:
        """Decisions are waiting for their burst: agents have not been told yet."""
        return bool(self._announcements)

    @property
    def open_count(self) -> int:
        """Meetings still being negotiated (moves included)."""
        return sum(self._phases[p] for p in _OPEN)

    @property
    def lost(self) -> tuple[AgentId, ...]:
        return tuple(a for a in self.expected if a in self._lost)

    def meeting(self, meeting_id: MeetingId) -> tuple[MeetingSpec, MeetingPhase, Decision | None, str | None] | None:
        """A meeting as it stands: its spec, phase, standing decision and last failed move's reason."""
        st = self._by_id.get(meeting_id)
        return None if st is None else (st.spec, st.phase, st.current, st.move_failure)

    def moving(self, meeting_id: MeetingId) -> bool:
        st = self._by_id.get(meeting_id)
        return st is not None and st.previous is not None and st.phase in _OPEN

    # --- faults -------------------------------------------------------------------------------

    def _on_lost(self, gone: Sequence[AgentId], now: float) -> list[Action]:
        """Silent agents (a whole host's, when its connection went) answer "no" to everything
        still asked of them: one pass over the open meetings for all of them."""
        actions: list[Action] = []
        for who in gone:
            self._lost.add(who)
            self._ready.discard(who)
            actions.append(Lost(who))
        lost = set(gone)
        for st in [st for st in self._by_id.values() if st.phase in _OPEN]:
            for who in st.spec.invitees:
                if who in lost:
                    actions += self._lose_from(st, who, now)
        if self.phase is Phase.NEGOTIATING:
            actions += self._advance(now)
        return actions

    def _lose_from(self, st: _MeetingState, who: AgentId, now: float) -> list[Action]:
        actions: list[Action] = []
        if st.asking is not None and who in st.asking.waiting:
            st.asking.replied.add(who)
            st.absent[who] = Absence.LOST
            if not st.asking.waiting:
                self._answered(st)
        hold = st.hold
        if hold is not None and who in hold.exchange.asked:
            # Even a confirmed hold is void: nobody can vouch for a lost agent's calendar.
            hold.exchange.replied.add(who)
            if who in hold.confirmed:
                hold.confirmed.remove(who)
            hold.refused[who] = "stopped responding"
            if not hold.exchange.waiting:
                actions += self._resolve_hold(st, now)
        # Meetings past asking lose its answers; those not yet asked decide absence when
        # they ask (it may be back by then: a crash and restart while everyone joins).
        if st.phase in (MeetingPhase.ANSWERED, MeetingPhase.HOLDING):
            st.absent.setdefault(who, Absence.LOST)
        return actions

    def _meeting(self, meeting_id: str) -> _MeetingState:
        st = self._by_id.get(MeetingId(meeting_id))
        if st is None:
            raise ProtocolError(f"unknown meeting {meeting_id!r}")
        return st
