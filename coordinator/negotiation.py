"""The negotiation core: answers in, decisions out. No sockets, no clock, no asyncio.

Rules (everything that decides what is placed where lives in this file; *what counts* as
acceptable lives in the policies, see coordinator/policies):

1. Joining. An expected agent says Hello; we publish a Welcome addressed to it until it answers
   Ready. A Ready proves the agent's subscription works, so nothing we publish afterwards is lost
   to ZeroMQ's slow joiner. Negotiation starts when everyone is Ready, or at the join deadline
   with whoever is (the rest are reported as never joined).
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
5. Announcing. MeetingScheduled / MeetingFailed go to everyone, batched (ANNOUNCE_EVERY_S),
   and all are out before Shutdown. A rejoining agent is told the meetings it holds.
6. Ending. Every wait has a deadline and every walk is finite (each failed hold turns at least
   one "yes" into "no", and holds are capped per meeting), so every meeting ends scheduled or
   failed with a reason. An agent silent past its liveness timeout counts as "no" everywhere.

Round ids are unique per coordinator incarnation; a reply carrying any other round is stale.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from enum import Enum, auto

from coordinator.explain import CandidateRow, candidate_rows
from coordinator.liveness import Liveness
from coordinator.placement import Absence, Attempt, Ledger, Person, SlotJudge, explain_failure
from coordinator.policies.resolve import MeetingPolicies, Policies, resolve
from shared.errors import ProtocolError
from shared.ids import AgentId, MeetingId
from shared.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Body,
    Heartbeat,
    Hello,
    Hold,
    HoldReply,
    MeetingFailed,
    MeetingScheduled,
    Ready,
    Release,
    Shutdown,
    Welcome,
)
from shared.scenario import Meeting, NegotiationSettings, Scenario, meeting_window
from shared.slots import Interval, SlotGrid

WELCOME_RESEND_S = 0.1  # how often an unconfirmed Welcome is published again while joining
LIVENESS_FACTOR = 4  # an agent is lost after this many heartbeat intervals of silence
# Decisions go to everyone in bursts, at most this long after they are made. Each broadcast wakes
# every agent; a burst wakes each once. An attendee's hold blocks the slot until then, and our
# ledger is authoritative, so the delay costs nothing in safety.
ANNOUNCE_EVERY_S = 0.02


# --- actions the shell performs ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Publish:
    """Send on the broadcast socket, to the named agents' topics or (to=None) to everyone."""

    body: Body
    to: tuple[AgentId, ...] | None = None


@dataclass(frozen=True, slots=True)
class SendTo:
    """Send directly to one agent (ROUTER)."""

    agent: AgentId
    body: Body


@dataclass(frozen=True, slots=True)
class Outcome:
    meeting_id: MeetingId
    scheduled: bool
    when: Interval | None
    attendees: tuple[AgentId, ...]
    reason: str | None
    round_trips: int


@dataclass(frozen=True, slots=True)
class Decided:
    """A meeting's outcome is final (the shell reports progress)."""

    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Started:
    """Joining is over; negotiation begins with `joined`, without `missing`."""

    joined: tuple[AgentId, ...]
    missing: tuple[AgentId, ...]


@dataclass(frozen=True, slots=True)
class Lost:
    """An agent fell silent past its liveness timeout."""

    agent: AgentId


Action = Publish | SendTo | Decided | Started | Lost


# --- state ------------------------------------------------------------------------------------

class Phase(Enum):
    JOINING = auto()
    NEGOTIATING = auto()
    DONE = auto()


@dataclass
class _Exchange:
    """One request round: who was asked, who has answered, when to give up."""

    round: int
    asked: set[AgentId]
    deadline: float
    tries: int = 1
    replied: set[AgentId] = field(default_factory=set)

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


@dataclass
class _MeetingState:
    meeting: Meeting
    order: int  # position in the scenario file
    slots: list[int]  # candidates left after meeting-level constraints
    invitees: tuple[AgentId, ...]
    policies: MeetingPolicies
    excluded: Counter[str] = field(default_factory=Counter)  # why candidates were dropped
    excluded_at: dict[int, str] = field(default_factory=dict)  # slot -> reason (for explain)
    all_slots: list[int] = field(default_factory=list)  # before meeting-level constraints
    answers: dict[AgentId, list[bool]] = field(default_factory=dict)
    absent: dict[AgentId, Absence] = field(default_factory=dict)
    asking: _Exchange | None = None
    hold: _Hold | None = None
    walk_order: list[int] | None = None  # candidate indices in slot-order preference
    cursor: int = 0  # position in walk_order
    attempts: list[Attempt] = field(default_factory=list)
    round_trips: int = 0
    outcome: Outcome | None = None
    judge: SlotJudge = field(init=False)

    @property
    def answered(self) -> bool:
        return self.asking is None

    @property
    def id(self) -> MeetingId:
        return self.meeting.meeting_id


@dataclass
class Stats:
    rounds: int = 0
    resends: int = 0


class Negotiation:
    """Places a scenario's meetings through the agents' answers; owns the rules, not the I/O."""

    def __init__(
        self,
        meetings: Sequence[Meeting],
        people: Mapping[AgentId, Person],
        grid: SlotGrid,
        horizon: Interval,
        settings: NegotiationSettings,
        zone: tzinfo,
        policies: Policies,
        explain: frozenset[MeetingId] = frozenset(),
        decided: Sequence[Outcome] = (),
    ) -> None:
        self.settings = settings
        self.explain = explain
        self.explanations: dict[MeetingId, list[CandidateRow]] = {}
        self.grid = grid
        self.zone = zone
        self.expected = tuple(people)
        self.people = people
        self.policies = policies
        self.phase = Phase.JOINING
        self.stats = Stats()
        self.ledger = Ledger(grid)
        self.liveness = Liveness(settings.heartbeat_s * LIVENESS_FACTOR)
        self._sessions: dict[AgentId, str] = {}
        self._ready: set[AgentId] = set()
        self._lost: set[AgentId] = set()
        self._welcome_due: float | None = None
        self._join_deadline: float | None = None
        self._heartbeat_due: float | None = None
        self._next_round = 1
        self._announcements: list[Body] = []
        self._announce_due: float | None = None
        self._queue = [self._meeting_state(i, m, horizon) for i, m in enumerate(meetings)]
        # Order now if the priority can; otherwise once every meeting's answers are in.
        self._ordered = not policies.priority.needs_answers
        if self._ordered:
            self._queue.sort(key=lambda st: policies.priority.key(st.judge.facts(st.order, False)))
        self._by_id = {st.id: st for st in self._queue}
        self.outcomes: list[Outcome] = []  # in decision order
        for o in decided:  # resumed from a journal: booked as before, never asked again
            st = self._meeting(o.meeting_id)
            if o.when is not None:
                self.ledger.book(st.id, o.when, o.attendees)
            st.outcome = o
            self.outcomes.append(o)
            self._announcements.append(self._announcement(st.meeting, o))

    def _meeting_state(self, index: int, m: Meeting, horizon: Interval) -> _MeetingState:
        pol = self.policies.meetings[m.meeting_id]
        window = meeting_window(horizon, m)
        meeting_level = [c for c in pol.constraints if not c.per_attendee]
        excluded_at: dict[int, str] = {}
        all_slots = self.grid.candidates(window, m.duration_minutes) if window else []
        for slot in all_slots:
            when = self.grid.interval(slot, m.duration_minutes)
            reasons = (c.meeting_reason(m, when, self.zone) for c in meeting_level)
            reason = next((r for r in reasons if r is not None), None)
            if reason is not None:
                excluded_at[slot] = reason
        slots = [slot for slot in all_slots if slot not in excluded_at]
        # Counted by kind ("not on an allowed weekday"), without the per-slot detail.
        excluded = Counter(r.split(" (")[0] for r in excluded_at.values())
        st = _MeetingState(m, index, slots, tuple(AgentId(p) for p in m.invitees), pol, excluded,
                           excluded_at, all_slots)
        st.judge = SlotJudge(m, st.slots, pol, self.grid, self.ledger, self.people, st.answers, st.absent)
        return st

    @classmethod
    def for_scenario(cls, s: Scenario, explain: frozenset[MeetingId] = frozenset(),
                     decided: Sequence[Outcome] = ()) -> Negotiation:
        people = {AgentId(p): Person(s.person_zone(p), s.availability(p).working_hours)
                  for p in s.participants}
        return cls(s.meetings, people, s.grid, s.horizon_interval, s.negotiation, s.zone,
                   resolve(s), explain, decided)

    @staticmethod
    def _announcement(m: Meeting, o: Outcome) -> Body:
        if o.scheduled and o.when is not None:
            return MeetingScheduled(meeting_id=o.meeting_id, name=m.title, start=o.when.start,
                                    end=o.when.end, attendees=o.attendees)
        return MeetingFailed(meeting_id=o.meeting_id, reason=o.reason or "not placed")

    def _snapshot(self, st: _MeetingState, chosen_slot: int | None) -> None:
        """Record the candidate-by-candidate reasoning, before this decision changes the ledger."""
        if st.id in self.explain:
            self.explanations[st.id] = candidate_rows(st.judge, st.excluded_at, st.all_slots, chosen_slot)

    # --- public verbs ---------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        self._join_deadline = now + self.settings.join_timeout_s
        self._welcome_due = now + WELCOME_RESEND_S
        self._heartbeat_due = now + self.settings.heartbeat_s
        return self._maybe_begin(now)

    def receive(self, sender: AgentId, session: str, body: Body, now: float) -> list[Action]:
        """Feed one decoded message; raises ProtocolError for a message to drop (and log)."""
        if sender not in self.expected:
            raise ProtocolError(f"{sender!r} is not a participant of this scenario")
        if isinstance(body, Hello):
            return self._on_hello(sender, session, body, now)
        if self._sessions.get(sender) != session:
            raise ProtocolError(f"{type(body).__name__} from {sender} with an unknown session")
        if sender in self._lost:
            # Back from a partition, same process: its subscription was proven for this
            # session already. What it missed while lost stays counted as "no".
            self._lost.discard(sender)
            self._ready.add(sender)
        self.liveness.heard(sender, now)
        if isinstance(body, Ready):
            return self._on_ready(sender, now)
        if isinstance(body, Heartbeat):
            return []
        if isinstance(body, AvailabilityResponse):
            return self._on_availability(sender, body, now)
        if isinstance(body, HoldReply):
            return self._on_hold_reply(sender, body, now)
        raise ProtocolError(f"{type(body).__name__} is not something an agent sends")

    def tick(self, now: float) -> list[Action]:
        """Act on every deadline that has passed by `now`."""
        actions: list[Action] = []
        if self.phase is Phase.DONE:
            return actions
        for who in self.liveness.expired(now):
            actions += self._on_lost(who, now)
        if self._heartbeat_due is not None and now >= self._heartbeat_due:
            self._heartbeat_due = now + self.settings.heartbeat_s
            actions.append(Publish(Heartbeat()))
        if self.phase is Phase.JOINING:
            if self._welcome_due is not None and now >= self._welcome_due:
                self._welcome_due = now + WELCOME_RESEND_S
                pending = tuple(a for a in self._sessions if a not in self._ready)
                actions += [Publish(self._welcome(a), to=(a,)) for a in pending]
            return actions + self._maybe_begin(now)
        for st in self._queue:
            if st.asking is not None and now >= st.asking.deadline:
                actions += self._asking_timed_out(st, now)
            elif st.hold is not None and now >= st.hold.exchange.deadline:
                actions += self._hold_timed_out(st, now)
        actions += self._advance(now)
        if self._announce_due is not None and now >= self._announce_due:
            actions += self._flush_announcements()
        return actions

    def next_deadline(self) -> float | None:
        """The earliest `now` at which `tick` has something to do."""
        if self.phase is Phase.DONE:
            return None
        times = [self.liveness.next_deadline(), self._heartbeat_due, self._announce_due]
        if self.phase is Phase.JOINING:
            times += [self._welcome_due, self._join_deadline]
        for st in self._queue:
            if st.asking is not None:
                times.append(st.asking.deadline)
            if st.hold is not None:
                times.append(st.hold.exchange.deadline)
        return min((t for t in times if t is not None), default=None)

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def joined(self) -> tuple[AgentId, ...]:
        return tuple(a for a in self.expected if a in self._ready)

    @property
    def missing(self) -> tuple[AgentId, ...]:
        return tuple(a for a in self.expected if a not in self._ready)

    # --- joining ------------------------------------------------------------------------------

    def _welcome(self, who: AgentId) -> Welcome:
        return Welcome(name=who, heartbeat_s=self.settings.heartbeat_s)

    def _on_hello(self, sender: AgentId, session: str, body: Hello, now: float) -> list[Action]:
        if body.name != sender:
            raise ProtocolError(f"Hello names {body.name!r} but was sent by {sender!r}")
        if self._sessions.get(sender) != session or sender in self._lost:
            # A first Hello, a restarted agent, or one back from silence: it must prove its
            # subscription again before it counts as present.
            self._sessions[sender] = session
            self._ready.discard(sender)
            self._lost.discard(sender)
        self.liveness.heard(sender, now)
        return [Publish(self._welcome(sender), to=(sender,))]

    def _on_ready(self, sender: AgentId, now: float) -> list[Action]:
        self._ready.add(sender)
        if self.phase is Phase.JOINING:
            return self._maybe_begin(now)
        # A restarted agent rejoining: tell it the meetings it already holds.
        return [Publish(self._announcement(self._meeting(o.meeting_id).meeting, o), to=(sender,))
                for o in self.outcomes if sender in o.attendees]

    def _maybe_begin(self, now: float) -> list[Action]:
        everyone = all(a in self._ready for a in self.expected)
        assert self._join_deadline is not None, "start() must be called first"
        if not everyone and now < self._join_deadline:
            return []
        self.phase = Phase.NEGOTIATING
        actions: list[Action] = [Started(self.joined, self.missing)]
        actions += self._flush_announcements()  # decisions resumed from a journal, told again
        for st in self._queue:
            if st.outcome is None:  # decisions resumed from a journal are not asked again
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
            slot_minutes=self.grid.minutes, duration_minutes=st.meeting.duration_minutes,
            slots=tuple(st.slots),
        )

    def _ask(self, st: _MeetingState, now: float) -> list[Action]:
        for who in st.invitees:
            if who not in self._ready:
                st.absent[who] = Absence.LOST if who in self._lost else Absence.NEVER_JOINED
        asked = {w for w in st.invitees if w not in st.absent}
        if not asked or not st.slots:
            return []  # nothing to wait for; _advance decides it
        st.round_trips += 1
        st.asking = _Exchange(self._new_round(), asked, now + self.settings.response_timeout_s)
        return [Publish(self._availability_request(st, st.asking.round), to=tuple(sorted(asked)))]

    def _on_availability(self, sender: AgentId, body: AvailabilityResponse, now: float) -> list[Action]:
        st = self._meeting(body.meeting_id)
        ex = st.asking
        if ex is None or body.round != ex.round or sender not in ex.asked:
            raise ProtocolError(f"stale or unexpected availability for {body.meeting_id} round {body.round}")
        if len(body.available) != len(st.slots):
            raise ProtocolError(f"{len(body.available)} answers for {len(st.slots)} candidate slots")
        if sender in ex.replied:
            return []  # a duplicate of an answer we already have
        ex.replied.add(sender)
        st.answers[sender] = list(body.available)
        if not ex.waiting:
            st.asking = None
            return self._advance(now)
        return []

    def _asking_timed_out(self, st: _MeetingState, now: float) -> list[Action]:
        ex = st.asking
        assert ex is not None
        if ex.retry(now, self.settings.response_timeout_s, st.policies.silence.retries(self.settings.retries)):
            self.stats.resends += 1
            return [Publish(self._availability_request(st, ex.round), to=tuple(sorted(ex.waiting)))]
        for who in ex.waiting:
            st.absent[who] = Absence.SILENT
        st.asking = None
        return []

    # --- placing ------------------------------------------------------------------------------

    def _advance(self, now: float) -> list[Action]:
        """Start (or finish) every meeting that no open meeting ahead of it shares people with."""
        actions: list[Action] = []
        if not self._ordered:
            if any(not st.answered for st in self._queue):
                return actions  # the priority ranks by answers: wait for all of them
            priority = self.policies.priority
            self._queue.sort(key=lambda st: priority.key(st.judge.facts(st.order, True)))
            self._ordered = True
        blocked: set[AgentId] = set()
        for st in self._queue:
            if st.outcome is not None:
                continue
            if st.answered and st.hold is None and blocked.isdisjoint(st.invitees):
                actions += self._walk(st, now)
            if st.outcome is None:
                blocked.update(st.invitees)
        if self.phase is Phase.NEGOTIATING and all(st.outcome for st in self._queue):
            self.phase = Phase.DONE
            actions += self._flush_announcements()
            actions.append(Publish(Shutdown()))
        return actions

    def _announce(self, body: Body, now: float) -> None:
        self._announcements.append(body)
        if self._announce_due is None:
            self._announce_due = now + ANNOUNCE_EVERY_S

    def _flush_announcements(self) -> list[Action]:
        burst: list[Action] = [Publish(body) for body in self._announcements]
        self._announcements.clear()
        self._announce_due = None
        return burst

    def _walk(self, st: _MeetingState, now: float) -> list[Action]:
        if st.walk_order is None:
            # Fixed at the first walk: the people it depends on are this meeting's until it ends.
            order = st.policies.slot_order
            facts = st.judge.facts(st.order, order.needs_free_at)
            st.walk_order = sorted(range(len(st.slots)), key=lambda i: order.key(facts, i))
        # Fixed for the walk: these people are this meeting's until it ends, and nobody's
        # absence changes while no request for this meeting is outstanding.
        load, judged = st.judge.load(), st.judge.judged_meeting()
        while st.cursor < len(st.walk_order):
            i = st.walk_order[st.cursor]
            chosen = st.judge.choose(i, load, judged)
            if chosen:
                return self._send_holds(st, i, chosen, now)
            st.cursor += 1
        return self._fail(st, now, gave_up=False)

    def _send_holds(self, st: _MeetingState, i: int, attendees: list[AgentId], now: float) -> list[Action]:
        when = self.grid.interval(st.slots[i], st.meeting.duration_minutes)
        st.round_trips += 1
        ex = _Exchange(self._new_round(), set(attendees), now + self.settings.hold_timeout_s)
        st.hold = _Hold(ex, i)
        return [SendTo(who, self._hold_message(st, ex.round, when)) for who in attendees]

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
        if body.accepted:
            hold.confirmed.append(sender)
        else:
            hold.refused[sender] = body.reason or "refused"
            if body.available is not None and len(body.available) == len(st.slots):
                st.answers[sender] = list(body.available)
        if not hold.exchange.waiting:
            return self._resolve_hold(st, now) + self._advance(now)
        return []

    def _hold_timed_out(self, st: _MeetingState, now: float) -> list[Action]:
        hold = st.hold
        assert hold is not None
        ex = hold.exchange
        if ex.retry(now, self.settings.hold_timeout_s, self.settings.retries):
            self.stats.resends += 1
            when = self.grid.interval(st.slots[hold.slot_index], st.meeting.duration_minutes)
            return [SendTo(w, self._hold_message(st, ex.round, when)) for w in sorted(ex.waiting)]
        for who in ex.waiting:
            hold.refused[who] = "no reply"
        return self._resolve_hold(st, now)

    def _resolve_hold(self, st: _MeetingState, now: float) -> list[Action]:
        hold = st.hold
        assert hold is not None
        st.hold = None
        attendees = tuple(w for w in st.invitees if w in hold.confirmed)
        if attendees and st.policies.rule.satisfied(st.judge.judged_meeting(), attendees):
            when = self.grid.interval(st.slots[hold.slot_index], st.meeting.duration_minutes)
            self._snapshot(st, st.slots[hold.slot_index])
            self.ledger.book(st.id, when, attendees)
            outcome = Outcome(st.id, True, when, attendees, None, st.round_trips)
            self._announce(self._announcement(st.meeting, outcome), now)
            return self._decide(st, outcome)
        for who in hold.refused:
            if who in st.answers:
                st.answers[who][hold.slot_index] = False
        st.attempts.append(Attempt(st.slots[hold.slot_index], tuple(hold.confirmed),
                                   tuple(hold.refused.items())))
        releases: list[Action] = [SendTo(w, Release(meeting_id=st.id, round=hold.exchange.round))
                                  for w in hold.confirmed]
        if len(st.attempts) >= self.settings.max_hold_attempts:
            return releases + self._fail(st, now, gave_up=True)
        return releases  # _advance resumes the walk at the next candidate

    def _fail(self, st: _MeetingState, now: float, *, gave_up: bool) -> list[Action]:
        self._snapshot(st, None)
        reason = explain_failure(st.judge, self.zone, st.excluded, st.attempts, gave_up)
        outcome = Outcome(st.id, False, None, (), reason, st.round_trips)
        self._announce(self._announcement(st.meeting, outcome), now)
        return self._decide(st, outcome)

    def _decide(self, st: _MeetingState, outcome: Outcome) -> list[Action]:
        st.outcome = outcome
        self.outcomes.append(outcome)
        return [Decided(outcome)]

    # --- faults -------------------------------------------------------------------------------

    def _on_lost(self, who: AgentId, now: float) -> list[Action]:
        """A silent agent answers "no" to everything still asked of it."""
        self._lost.add(who)
        self._ready.discard(who)
        actions: list[Action] = [Lost(who)]
        for st in self._queue:
            if st.asking is not None and who in st.asking.waiting:
                st.asking.replied.add(who)
                st.absent[who] = Absence.LOST
                if not st.asking.waiting:
                    st.asking = None
            hold = st.hold
            if hold is not None and who in hold.exchange.asked:
                # Even a confirmed hold is void: nobody can vouch for a lost agent's calendar.
                hold.exchange.replied.add(who)
                if who in hold.confirmed:
                    hold.confirmed.remove(who)
                hold.refused[who] = "stopped responding"
                if not hold.exchange.waiting:
                    actions += self._resolve_hold(st, now)
            if st.outcome is None and who in st.invitees and st.asking is None:
                st.absent.setdefault(who, Absence.LOST)
        if self.phase is Phase.NEGOTIATING:
            actions += self._advance(now)
        return actions

    def _meeting(self, meeting_id: str) -> _MeetingState:
        st = self._by_id.get(MeetingId(meeting_id))
        if st is None:
            raise ProtocolError(f"unknown meeting {meeting_id!r}")
        return st
