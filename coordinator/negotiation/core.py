"""The negotiation core: admitted messages and `now` in, actions out. No sockets, no clock.

This class holds the rules that span meetings (joining, turns, placement batches, faults); one
meeting's rules are in walk.py, presence in presence.py, and what counts as acceptable in the
policies. `LiveNegotiation` (live.py) is the same core for a service that never ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from slotwise.coordinator.disclosure import disclosure_for
from slotwise.coordinator.liveness import Liveness
from slotwise.coordinator.negotiation.actions import Action, Back, Joined, Lost, Notice, Publish, Solve, Started
from slotwise.coordinator.negotiation.agenda import Agenda
from slotwise.coordinator.negotiation.announcements import ANNOUNCE_EVERY_S, Announcements
from slotwise.coordinator.negotiation.arrivals import holdings, late_asks
from slotwise.coordinator.negotiation.exchanges import Deadlines, Rounds, Stats
from slotwise.coordinator.negotiation.presence import WELCOME_RESEND_S, Connections, JoinDeadline, PresenceEvent, Roster
from slotwise.coordinator.negotiation.state import (
    OPEN,
    UNANSWERED,
    MeetingEvent,
    MeetingPhase,
    MeetingState,
    Phase,
    PhaseEvent,
    next_phase,
)
from slotwise.coordinator.negotiation.walk import Walk
from slotwise.coordinator.placement.judge import Absence, SlotJudge
from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.placement.planner import Entry, Proposals, build, preference
from slotwise.coordinator.placement.problem import Placement
from slotwise.coordinator.plan import Plan
from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.shared.decision import Decision
from slotwise.shared.errors import ProtocolError, UsageError
from slotwise.shared.guarded import Guarded, guarded
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.wire.gate import Admitted
from slotwise.shared.wire.messages import (
    Answer,
    AvailabilityResponse,
    Body,
    Conflict,
    Freed,
    Heartbeat,
    Hello,
    HoldReply,
    MaskedAvailability,
    Ready,
    Shutdown,
    Welcome,
)

LIVENESS_FACTOR = 4  # an agent is lost after this many heartbeat intervals of silence

Handler = Callable[[AgentId, Body, float], list[Action]]


@dataclass
class _Batch:
    """Meetings placed together once all their answers are in (`placement: optimize`)."""

    members: list[MeetingState]
    entries: list[Entry] = field(default_factory=list)  # once solving: the problem's meetings
    walked: int = 0  # the weight the greedy walk reaches from the same answers
    solving: bool = False


class Negotiation(Guarded):
    """Places a plan's meetings through the agents' answers; owns the rules, not the I/O."""

    core_name = "negotiation core"
    announce_every_s = ANNOUNCE_EVERY_S
    finishes = True  # a batch run ends (DONE, Shutdown) when every meeting is decided

    def __init__(self, plan: Plan, explain: frozenset[MeetingId] = frozenset(),
                 decided: Sequence[Decision] = ()) -> None:
        self.plan = plan
        self.settings = plan.settings
        self.expected = plan.participants
        self.phase = Phase.JOINING
        self.stats = Stats()
        self.ledger = Ledger(plan.grid)
        self.roster = Roster(self.expected)
        self.connections = Connections(self.roster, self.settings.heartbeat_s * LIVENESS_FACTOR)
        self.rounds = Rounds(self.stats)
        self.deadlines: Deadlines[MeetingState] = Deadlines(lambda st, ex: st.exchange is ex)
        self.announcements = Announcements(self.announce_every_s)
        self.proposals = Proposals(plan.grid.minutes)
        self.agenda = Agenda()
        self.walk = Walk(plan, self.ledger, self.rounds, self.deadlines, self.roster, self.connections,
                         self.announcements, self.proposals, explain, self._record)
        self.disclosure = disclosure_for(plan, self.ledger)
        self.walk.meter = self.disclosure
        self.decisions: list[Decision] = []  # in decision order (a batch run's, for its results)
        self._started = False
        self.joining = JoinDeadline(self.settings.join_timeout_s)
        self._welcome_due: float | None = None
        self._heartbeat_due: float | None = None
        self._batches: dict[int, _Batch] = {}
        self._tickets = itertools.count(1)
        self._said_no_solver = False  # the missing-solver warning, once per run, not per request
        self._handlers: dict[type[Body], Handler] = {
            Ready: self._on_ready,
            Heartbeat: lambda sender, body, now: [],
            AvailabilityResponse: self._on_availability,  # type: ignore[dict-item]
            MaskedAvailability: self._on_masked,  # type: ignore[dict-item]
            HoldReply: self._on_hold_reply,  # type: ignore[dict-item]
            Conflict: self._on_conflict,  # type: ignore[dict-item]
            Freed: lambda sender, body, now: self._calendar_freed(sender),
            Answer: lambda sender, body, now: self._answer(sender, body),  # type: ignore[arg-type]
        }
        queue = [self._state(m) for m in plan.meetings]
        # Order now if the priority can; otherwise once every meeting's answers are in.
        self._ordered = not plan.priority.needs_answers
        if self._ordered:
            queue.sort(key=lambda st: plan.priority.key(st.judge.facts(st.spec.order, False)))
        for st in queue:
            self.agenda.put(st)
        for d in decided:  # resumed from a journal: booked as before, never asked again
            self._resume(self._meeting(d.id), d)
        if self._ordered:
            self.agenda.turns.reset(queue)
        if plan.optimize_s is not None and queue:  # every meeting is placed together, once answered
            self._batch(queue)

    # --- building blocks ------------------------------------------------------------------------

    def _state(self, spec: MeetingSpec) -> MeetingState:
        answers: dict[AgentId, list[bool]] = {}
        absent: dict[AgentId, Absence] = {}
        judge = SlotJudge(spec, self.plan.grid, self.ledger, self.plan.people, answers, absent)
        if spec.privacy != "full":  # never ask what other meetings' answers already said
            judge.known_not_free = self.disclosure.known_not_free
        st = MeetingState(spec, judge, answers, absent)
        self.agenda.track(st)
        return st

    def _batch(self, members: list[MeetingState]) -> None:
        ticket = next(self._tickets)
        self._batches[ticket] = _Batch(members)
        for st in members:
            st.batch = ticket

    def _record(self, decision: Decision) -> None:
        """The batch run's decision list, for its results (the live core keeps none)."""
        self.decisions.append(decision)

    def _resume(self, st: MeetingState, d: Decision) -> None:
        if d.when is not None:
            self.ledger.book(st.id, d.when, d.attendees)
        st.fire(MeetingEvent.RESUME)
        st.decision = d
        self._record(d)
        self.announcements.add(d.announcement(st.spec.title, st.spec.remind, st.spec.uid), st.spec.invitees, None)

    def _meeting(self, meeting_id: str) -> MeetingState:
        st = self.agenda.get(MeetingId(meeting_id))
        if st is None:
            raise ProtocolError(f"unknown meeting {meeting_id!r}")
        return st

    def _enter(self, event: PhaseEvent) -> None:
        self.phase = next_phase(self.phase, event)

    def stopped(self, error: str) -> None:
        super().stopped(error)
        self.phase = Phase.ERROR

    # --- public verbs ---------------------------------------------------------------------------

    @guarded
    def start(self, now: float) -> list[Action]:
        if self._started:
            raise UsageError("start() was called twice")
        self._started = True
        self.joining.start(now)
        self._welcome_due = now + WELCOME_RESEND_S
        self._heartbeat_due = now + self.settings.heartbeat_s
        return self._maybe_begin(now)

    @guarded
    def receive(self, admitted: Admitted, now: float) -> list[Action]:
        """Feed one message the gate admitted; raises ProtocolError for one to drop (and log)."""
        if not self._started:
            raise UsageError("receive() before start()")
        env, peer = admitted.env, admitted.connection
        sender, body = env.sender, env.body
        if isinstance(body, Hello):
            self.walk.mask_keys[sender] = body.mask_key
            return self._on_hello(sender, admitted.fresh, now, peer)
        if self.roster.is_lost(sender):
            # Back from a partition, same process: it proved it hears us in this session
            # already. What it missed while lost stays counted as "no".
            self.roster.fire(sender, PresenceEvent.SPOKE)
        self.connections.heard(sender, peer, now)
        handler = self._handlers.get(type(body))
        if handler is None:
            raise ProtocolError(f"{type(body).__name__} is not something an agent sends")
        return handler(sender, body, now)

    @guarded
    def launching(self, alive: Iterable[Collection[AgentId]], exited: Mapping[AgentId, str],
                  now: float) -> list[Action]:
        """What the shell knows of the processes it launched (presence.JoinDeadline): while
        joining, one still starting is waited for, and the agents of one that died are not."""
        if self.phase is not Phase.JOINING:
            return []
        self.joining.launching(self.roster, alive, exited, now)
        return self._maybe_begin(now)

    @guarded
    def tick(self, now: float, *, backlog: bool = False) -> list[Action]:
        """Act on every deadline that has passed by `now`. With `backlog` (messages have arrived
        that the caller has not fed yet), silence is not judged: the answers may be among them."""
        actions: list[Action] = []
        if self.phase is Phase.DONE or not self._started:
            return actions
        if not backlog:
            gone = self.connections.expire(now)
            if gone:
                actions += self._on_lost(gone, now)
        if self._heartbeat_due is not None and now >= self._heartbeat_due:
            self._heartbeat_due = now + self.settings.heartbeat_s
            actions.append(Publish(Heartbeat()))
        if self.phase is Phase.JOINING:
            if self._welcome_due is not None and now >= self._welcome_due:
                self._welcome_due = now + WELCOME_RESEND_S
                actions += [Publish(self._welcome(a), to=(a,)) for a in self.roster.welcomes_due(now)]
            return actions + self._maybe_begin(now)
        while not backlog and (due := self.deadlines.pop_due(now)) is not None:
            st, ex = due
            actions += self.walk.timed_out(st, ex, now)
        actions += self._advance(now)
        if self.announcements.due is not None and now >= self.announcements.due:
            actions += self.announcements.flush()
        return actions

    @guarded
    def solved(self, ticket: int, placement: Placement, now: float) -> list[Action]:
        """The answer to a `Solve`: its meetings walk from their chosen slots (or greedily, when
        the placement falls short of the greedy walk)."""
        batch = self._batches.pop(ticket, None)
        if batch is None or not batch.solving:
            raise UsageError(f"no solve is outstanding for ticket {ticket}")
        notices: list[Action] = []
        if placement.solver_missing and not self._said_no_solver:
            self._said_no_solver = True
            notices.append(Notice("placement: optimize needs OR-Tools (pip install 'slotwise[optimize]'); "
                                  "placing with the greedy walk and its repair pass instead", warning=True))
        budget = self.plan.optimize_s
        # Meetings cancelled (or replaced by a move) while the solver worked are left out.
        entries = [e for e in batch.entries if (st := self.agenda.get(e.spec.id)) is not None
                   and st.phase is MeetingPhase.ANSWERED and st.judge is e.judge]
        members = [st for e in entries if (st := self.agenda.get(e.spec.id)) is not None]
        weight = sum(w for m, w in self._weights(batch).items() if m in placement.chosen)
        if weight < batch.walked:
            # The solver ran out of time short of what one greedy pass reaches: walk greedily.
            for st in members:
                self.agenda.turns.touch(st)
            notices.append(Notice(f"placement: optimize planned weight {weight}, the greedy walk reaches "
                                  f"{batch.walked}: walking greedily ({placement.how}, budget {budget:g}s)"))
            return notices + self._advance(now)
        adopted = self.proposals.adopt(placement, entries)
        for st in members:
            share = adopted.get(st.id)
            if share is not None:
                st.walk_order, st.proposal = share.walk_order, share.proposal
        self._reorder(members, placement)
        notices.append(Notice(f"placement: optimize plans {len(placement.chosen)} of {len(batch.entries)} meetings "
                              f"({placement.how}, budget {budget:g}s)"))
        return notices + self._advance(now)

    def next_deadline(self) -> float | None:
        """The earliest `now` at which `tick` has something to do."""
        if self.phase in (Phase.DONE, Phase.ERROR):
            return None
        times = [self.connections.next_deadline(), self._heartbeat_due, self.announcements.due]
        if self.phase is Phase.JOINING:
            times += [self._welcome_due, self.joining.at]
        times.append(self.deadlines.next())
        return min((t for t in times if t is not None), default=None)

    # --- what the shells and reports read -------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._started

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def joined(self) -> tuple[AgentId, ...]:
        return self.roster.joined

    @property
    def missing(self) -> tuple[AgentId, ...]:
        return self.roster.missing

    @property
    def present(self) -> tuple[AgentId, ...]:
        return self.roster.present

    @property
    def lost(self) -> tuple[AgentId, ...]:
        return self.roster.lost

    @property
    def liveness(self) -> Liveness:
        return self.connections.liveness

    @property
    def open_count(self) -> int:
        """Meetings still being negotiated (moves included)."""
        return self.agenda.open_count

    @property
    def announcing(self) -> bool:
        """Decisions are waiting for their burst: agents have not been told yet."""
        return bool(self.announcements)

    def describe(self) -> str:
        """The state in a few lines, for the log when the core stops."""
        return (f"phase {self.phase.name}; error: {self.error}; ready {self.roster.ready_count}/{len(self.expected)}; "
                f"meetings: {self.agenda.describe()}")

    # --- joining --------------------------------------------------------------------------------

    def _welcome(self, who: AgentId) -> Welcome:
        return Welcome(name=who, heartbeat_s=self.settings.heartbeat_s)

    def _on_hello(self, sender: AgentId, fresh: bool, now: float, peer: str) -> list[Action]:
        if self.phase is Phase.JOINING:
            self.joining.heard(sender, now)
        reconnected = self.connections.peer_of(sender) not in (None, peer)  # the Welcome was lost with the old connection
        # A first Hello, a restarted agent, or one back from silence must prove it hears us
        # again before it counts as present.
        self.roster.fire(sender, PresenceEvent.HELLO_FRESH if fresh else PresenceEvent.HELLO_AGAIN)
        self.connections.heard(sender, peer, now)
        if not self.roster.is_ready(sender) and not self.roster.welcome(sender, now, fresh=fresh, reconnected=reconnected):
            return []  # a Hello resent while our Welcome was on its way: that Welcome answers it
        welcome: list[Action] = [Publish(self._welcome(sender), to=(sender,))]
        return welcome if self.phase is Phase.JOINING else welcome + holdings(self.agenda, sender)

    def _on_ready(self, sender: AgentId, body: Body, now: float) -> list[Action]:
        new = not self.roster.is_ready(sender)
        first = not self.roster.took_part(sender)
        self.roster.fire(sender, PresenceEvent.READY)
        if self.phase is Phase.JOINING:
            self.joining.heard(sender, now)
            joined: list[Action] = [Joined(sender, self.roster.ready_count)] if new else []
            return joined + self._maybe_begin(now)
        # A rejoining agent was told its meetings with its Welcome; a late joiner is asked now.
        back: list[Action] = [Back(sender)] if new else []
        return back + (late_asks(self.agenda, self.walk, sender, now, self._solving) if first else [])

    def _solving(self, st: MeetingState) -> bool:
        batch = self._batches.get(st.batch) if st.batch is not None else None
        return batch is not None and batch.solving

    def _maybe_begin(self, now: float) -> list[Action]:
        if not self.roster.everyone_ready and not self.joining.passed(now):
            return []
        self._enter(PhaseEvent.BEGIN)
        actions: list[Action] = [Started(self.joined, self.missing)]
        actions += self.announcements.flush()  # decisions resumed from a journal, told again
        for st in self.agenda.turns.ordered() if self._ordered else list(self.agenda):
            if st.phase is MeetingPhase.PENDING:  # decisions resumed from a journal are not asked again
                actions += self.walk.ask(st, now)
        return actions + self._advance(now)

    # --- placing --------------------------------------------------------------------------------

    def _advance(self, now: float) -> list[Action]:
        """Start (or finish) every meeting that no open meeting ahead of it shares people with."""
        actions: list[Action] = []
        if not self._ordered:
            if self.agenda.unanswered:
                return actions  # the priority ranks by answers: wait for all of them
            priority = self.plan.priority
            open_ = self.agenda.open()
            open_.sort(key=lambda st: priority.key(st.judge.facts(st.spec.order, True)))
            self.agenda.turns.reset(open_)
            self._ordered = True
        for ticket, batch in list(self._batches.items()):
            if not batch.solving and all(st.phase not in UNANSWERED for st in batch.members):
                actions += self._solve(ticket, batch)
        for st in self.agenda.turns.ready():  # only meetings whose turn an event may have brought
            if st.phase is MeetingPhase.ANSWERED and st.batch not in self._batches:
                actions += self.walk.walk(st, now)  # may decide it
        if self.phase is Phase.NEGOTIATING and not self.agenda.open_count and self.finishes:
            self._enter(PhaseEvent.FINISH)
            actions += self.announcements.flush()
            actions.append(Publish(Shutdown()))
        return actions

    def _solve(self, ticket: int, batch: _Batch) -> list[Action]:
        """Ask for these meetings' placement, against what is booked; they wait for the answer."""
        turns = self.agenda.turns
        members = sorted((st for st in batch.members if st.phase is MeetingPhase.ANSWERED), key=turns.position)
        budget = self.plan.optimize_s
        if not members or budget is None:
            del self._batches[ticket]
            return []
        batch.solving = True
        batch.entries = [Entry(st.judge, preference(st.judge)) for st in members]
        problem, batch.walked = build(batch.entries, self.plan.people, self.ledger)
        return [Solve(ticket, problem, budget)]

    def _weights(self, batch: _Batch) -> dict[MeetingId, int]:
        lowest = min((e.spec.priority for e in batch.entries), default=0)
        return {e.spec.id: 1 + e.spec.priority - lowest for e in batch.entries}

    def _reorder(self, members: list[MeetingState], placement: Placement) -> None:
        """Placed meetings first, in the places these meetings held in the order: meetings of
        other requests keep theirs (first come, first served)."""
        queue, ours = self.agenda.turns.ordered(), set(members)
        places = [k for k, st in enumerate(queue) if st in ours]
        mine = [queue[k] for k in places]
        mine = [st for st in mine if st.id in placement.chosen] + [st for st in mine if st.id not in placement.chosen]
        for k, st in zip(places, mine, strict=True):
            queue[k] = st
        self.agenda.turns.reset(queue)

    # --- messages -------------------------------------------------------------------------------

    def _on_availability(self, sender: AgentId, body: AvailabilityResponse, now: float) -> list[Action]:
        st = self._meeting(body.meeting_id)
        return self._advance(now) if self.walk.on_availability(st, sender, body, now) else []

    def _on_masked(self, sender: AgentId, body: MaskedAvailability, now: float) -> list[Action]:
        actions, answered = self.walk.on_masked(self._meeting(body.meeting_id), sender, body, now)
        return actions + self._advance(now) if answered else actions

    def _on_hold_reply(self, sender: AgentId, body: HoldReply, now: float) -> list[Action]:
        actions, resolved = self.walk.on_hold_reply(self._meeting(body.meeting_id), sender, body, now)
        return actions + self._advance(now) if resolved else actions

    def _on_conflict(self, sender: AgentId, body: Conflict, now: float) -> list[Action]:
        st = self._meeting(body.meeting_id)
        d = st.current
        if d is None or not d.scheduled or sender not in d.participants or st.phase is MeetingPhase.CANCELLED:
            raise ProtocolError(f"conflict for {body.meeting_id}, which {sender} does not attend")
        return self._conflict(st, sender)

    def _conflict(self, st: MeetingState, sender: AgentId) -> list[Action]:
        return []  # a batch run ends soon: nobody moves its meetings

    def _calendar_freed(self, sender: AgentId) -> list[Action]:
        self.disclosure.calendar_changed(sender)  # what was busy may be free now: ask again
        return self._freed(sender)

    def _freed(self, sender: AgentId) -> list[Action]:
        return []  # a batch run retries nothing

    def _answer(self, sender: AgentId, body: Answer) -> list[Action]:
        return []  # a batch run is over before anyone answers

    # --- faults ---------------------------------------------------------------------------------

    def _on_lost(self, gone: Sequence[AgentId], now: float) -> list[Action]:
        """Silent agents (a whole host's, when its connection went) answer "no" to everything
        still asked of them: one pass over the open meetings for all of them."""
        actions: list[Action] = []
        for who in gone:
            self.roster.fire(who, PresenceEvent.SILENT)
            actions.append(Lost(who))
        lost = set(gone)
        for st in [st for st in self.agenda if st.phase in OPEN]:
            for who in st.spec.invitees:
                if who in lost:
                    actions += self.walk.lose(st, who, now)
        if self.phase is Phase.NEGOTIATING:
            actions += self._advance(now)
        return actions

