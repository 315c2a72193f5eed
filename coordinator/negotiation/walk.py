"""One meeting's negotiation: asking its invitees, walking its candidates, holding, deciding.

Asking. Every invitee present gets ONE AvailabilityRequest naming all candidate slots the
meeting-level constraints allow. A request unanswered by its deadline is waited for again
while the silent agent's connection is still answering earlier requests (slow is not dead),
then re-sent (requests are idempotent per round) as often as the silence policy says; after
that the silent invitee counts as unavailable for this meeting.

Walking. Candidates are tried in the slot order's preference (a placement's chosen slot
first); at each, the invitees who said yes, are not booked in the ledger and pass the attendee
constraints are offered to the rule, which picks whom to hold (`planner.first_fit`). If it is
satisfied, a Hold goes to every one of them. When all have replied (or the hold deadline
passes), confirmations the rule accepts schedule the meeting with everyone who confirmed;
otherwise the holds are released, the refusers count as "no" for that slot (or give fresh
answers), and the walk goes on. Each failed hold turns at least one "yes" into "no", and holds
are capped per meeting, so every walk ends: scheduled, or failed with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

from slotwise.coordinator.negotiation.actions import Action, Decided, Explained, MoveFailed, Publish
from slotwise.coordinator.negotiation.announcements import Announcements
from slotwise.coordinator.negotiation.exchanges import Deadlines, Exchange, HoldRound, Rounds
from slotwise.coordinator.negotiation.presence import Connections, Roster
from slotwise.coordinator.negotiation.state import MeetingEvent, MeetingPhase, MeetingState
from slotwise.coordinator.placement.judge import Absence
from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.placement.planner import Proposals, first_fit, preference
from slotwise.coordinator.placement.reasons import Attempt, candidate_rows, explain_failure
from slotwise.coordinator.plan import Plan
from slotwise.shared.decision import Decision
from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval
from slotwise.shared.wire.messages import AvailabilityRequest, AvailabilityResponse, Hold, HoldReply, Release


class Walk:
    """The per-meeting rules, over the core's shared parts (ledger, rounds, presence)."""

    def __init__(self, plan: Plan, ledger: Ledger, rounds: Rounds, deadlines: Deadlines[MeetingState],
                 roster: Roster, connections: Connections, announcements: Announcements, proposals: Proposals,
                 explain: frozenset[MeetingId], on_decided: Callable[[Decision], None]) -> None:
        self.plan = plan
        self.settings = plan.settings
        self.grid = plan.grid
        self.ledger = ledger
        self.rounds = rounds
        self.deadlines = deadlines
        self.roster = roster
        self.connections = connections
        self.announcements = announcements
        self.proposals = proposals
        self.explain = explain
        self.on_decided = on_decided

    # --- asking -------------------------------------------------------------------------------

    def _request(self, st: MeetingState, round_: int) -> AvailabilityRequest:
        return AvailabilityRequest(meeting_id=st.id, round=round_, origin=self.grid.origin,
                                   slot_minutes=self.grid.minutes, duration_minutes=st.spec.duration_minutes,
                                   slots=st.spec.candidates)

    def ask(self, st: MeetingState, now: float) -> list[Action]:
        for who in st.spec.invitees:
            if not self.roster.is_ready(who):
                st.absent[who] = Absence.LOST if self.roster.is_lost(who) else Absence.NEVER_JOINED
        asked = {w for w in st.spec.invitees if w not in st.absent}
        if not asked or not st.spec.candidates:
            st.fire(MeetingEvent.NOTHING_TO_ASK)
            return []  # nothing to wait for: the core's advance decides it
        st.fire(MeetingEvent.ASK)
        st.round_trips += 1
        st.asking = self.rounds.open(asked, now + self.settings.response_timeout_s)
        self.deadlines.arm(st, st.asking)
        return [Publish(self._request(st, st.asking.round), to=tuple(sorted(asked)))]

    def ask_late(self, st: MeetingState, who: AgentId, now: float) -> list[Action]:
        """`who` had no say (it joined after `st` was asked): ask it now, in the round still
        open or in a new one, and let the meeting wait for its answer like any other's."""
        if not st.spec.candidates:
            return []
        st.absent.pop(who, None)
        deadline = now + self.settings.response_timeout_s
        ex = st.asking
        if ex is None:
            st.fire(MeetingEvent.ASK_LATE)
            st.round_trips += 1
            ex = st.asking = self.rounds.open({who}, deadline)
        else:
            ex.asked.add(who)
            ex.deadline = max(ex.deadline, deadline)
        self.deadlines.arm(st, ex)
        return [Publish(self._request(st, ex.round), to=(who,))]

    def _answered(self, st: MeetingState) -> None:
        st.asking = None
        st.fire(MeetingEvent.ALL_ANSWERED)

    def on_availability(self, st: MeetingState, sender: AgentId, body: AvailabilityResponse, now: float) -> bool:
        """True once every invitee asked has answered."""
        ex = st.asking
        if ex is None or body.round != ex.round or sender not in ex.asked:
            raise ProtocolError(f"stale or unexpected availability for {body.meeting_id} round {body.round}")
        if len(body.available) != len(st.spec.candidates):
            raise ProtocolError(f"{len(body.available)} answers for {len(st.spec.candidates)} candidate slots")
        if sender in ex.replied:
            return False  # a duplicate of an answer we already have
        ex.replied.add(sender)
        self.connections.replied(sender, ex.sent, now)
        st.answers[sender] = list(body.available)
        if ex.waiting:
            return False
        self._answered(st)
        return True

    def _wait_again(self, st: MeetingState, ex: Exchange, now: float, timeout_s: float) -> bool:
        """A deadline passed. True if its silent agents are busy: the deadline is armed again.
        Otherwise the exchange counts as sent anew, for the re-send that may follow (in order
        behind everything sent before it)."""
        if self.connections.busy(ex.waiting, ex.sent, ex.waited, now, timeout_s):
            ex.waited += 1
            ex.deadline = now + timeout_s
            self.deadlines.arm(st, ex)
            return True
        self.rounds.sent_again(ex)
        return False

    def timed_out(self, st: MeetingState, ex: Exchange, now: float) -> list[Action]:
        """An exchange's deadline passed: the availability request's, or the holds'."""
        return self._asking_timed_out(st, now) if st.asking is ex else self._hold_timed_out(st, now)

    def _asking_timed_out(self, st: MeetingState, now: float) -> list[Action]:
        ex = st.asking
        assert ex is not None
        timeout = self.settings.response_timeout_s
        if self._wait_again(st, ex, now, timeout):
            return []
        if ex.retry(now, timeout, st.spec.policies.silence.retries(self.settings.retries)):
            self.rounds.stats.resends += 1
            self.deadlines.arm(st, ex)
            return [Publish(self._request(st, ex.round), to=tuple(sorted(ex.waiting)))]
        for who in ex.waiting:
            st.absent[who] = Absence.SILENT
        self._answered(st)
        return []

    # --- walking and holding ------------------------------------------------------------------

    def walk(self, st: MeetingState, now: float) -> list[Action]:
        if st.walk_order is None:
            # Fixed at the first walk: the people it depends on are this meeting's until it ends.
            st.walk_order = preference(st.judge)
        if st.proposal is not None:
            # The placement's first hold: only the attendees it proposed here, so those it
            # needs in an overlapping meeting stay free for it. Any later attempt walks as usual.
            i, attending = st.proposal
            st.proposal = None
            free = set(st.judge.free_at(i))
            proposed = [who for who in attending if who in free]
            if proposed and st.spec.policies.rule.satisfied(st.judge.judged_meeting(), proposed):
                return self._send_holds(st, i, proposed, now)
        fit = first_fit(st.judge, st.walk_order, st.cursor)
        if fit is None:
            st.cursor = len(st.walk_order)
            return self._fail(st, now, gave_up=False)
        st.cursor, chosen = fit
        return self._send_holds(st, st.walk_order[st.cursor], chosen, now)

    def _interval(self, st: MeetingState, i: int) -> Interval:
        return self.grid.interval(st.spec.candidates[i], st.spec.duration_minutes)

    def _hold(self, st: MeetingState, round_: int, i: int) -> Hold:
        when = self._interval(st, i)
        return Hold(meeting_id=st.id, round=round_, start=when.start, end=when.end)

    def _send_holds(self, st: MeetingState, i: int, attendees: list[AgentId], now: float) -> list[Action]:
        st.round_trips += 1
        ex = self.rounds.open(set(attendees), now + self.settings.hold_timeout_s)
        st.fire(MeetingEvent.HOLD)
        st.hold = HoldRound(ex, i)
        self.deadlines.arm(st, ex)
        # One message for all of them: a host carrying several gets it once.
        return [Publish(self._hold(st, ex.round, i), to=tuple(attendees))]

    def on_hold_reply(self, st: MeetingState, sender: AgentId, body: HoldReply, now: float) -> tuple[list[Action], bool]:
        """The actions, and whether the hold is resolved (every holder has replied)."""
        hold = st.hold
        if hold is None or body.round != hold.exchange.round or sender not in hold.exchange.asked:
            if body.accepted:
                # A late yes for a hold we gave up on: tell the agent to let go of it.
                return [Publish(Release(meeting_id=body.meeting_id, round=body.round), to=(sender,))], False
            raise ProtocolError(f"stale hold reply for {body.meeting_id} round {body.round}")
        if sender in hold.exchange.replied:
            return [], False
        hold.exchange.replied.add(sender)
        self.connections.replied(sender, hold.exchange.sent, now)
        if body.accepted:
            hold.confirmed.append(sender)
        else:
            hold.refused[sender] = body.reason or "refused"
            if body.available is not None and len(body.available) == len(st.spec.candidates):
                st.answers[sender] = list(body.available)
        if hold.exchange.waiting:
            return [], False
        return self.resolve_hold(st, now), True

    def _hold_timed_out(self, st: MeetingState, now: float) -> list[Action]:
        hold = st.hold
        assert hold is not None
        ex = hold.exchange
        timeout = self.settings.hold_timeout_s
        if self._wait_again(st, ex, now, timeout):
            return []
        if ex.retry(now, timeout, self.settings.retries):
            self.rounds.stats.resends += 1
            self.deadlines.arm(st, ex)
            return [Publish(self._hold(st, ex.round, hold.slot_index), to=tuple(sorted(ex.waiting)))]
        for who in ex.waiting:
            hold.refused[who] = "no reply"
        return self.resolve_hold(st, now)

    def resolve_hold(self, st: MeetingState, now: float) -> list[Action]:
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
            return explained + self.decide(st, Decision.placed(st.id, when, attendees, st.round_trips), now)
        st.hold = None
        st.fire(MeetingEvent.HOLD_FAILED)
        for who in hold.refused:
            if who in st.answers:
                st.answers[who][hold.slot_index] = False
        st.attempts.append(Attempt(st.spec.candidates[hold.slot_index], tuple(hold.confirmed),
                                   tuple(hold.refused.items())))
        releases: list[Action] = [Publish(Release(meeting_id=st.id, round=hold.exchange.round),
                                          to=tuple(hold.confirmed))] if hold.confirmed else []
        if len(st.attempts) >= self.settings.max_hold_attempts:
            return releases + self._fail(st, now, gave_up=True)
        if st.id in self.proposals:
            assert st.walk_order is not None
            st.walk_order = self.proposals.re_place(st.judge, st.walk_order, st.cursor)
        return releases  # the core's advance resumes the walk at the next candidate

    # --- deciding -----------------------------------------------------------------------------

    def _explain(self, st: MeetingState, chosen_slot: int | None) -> list[Action]:
        """The candidate-by-candidate reasoning, before this decision changes the ledger."""
        if st.id not in self.explain:
            return []
        return [Explained(st.id, tuple(candidate_rows(st.judge, chosen_slot)))]

    def _fail(self, st: MeetingState, now: float, *, gave_up: bool) -> list[Action]:
        explained = self._explain(st, None)
        never = {who: f"never joined (its process {how})" for who in st.spec.invitees
                 if st.absent.get(who) is Absence.NEVER_JOINED and (how := self.roster.gone_how(who))}
        reason = explain_failure(st.judge, self.plan.display_zone, st.attempts, gave_up, said_instead=never)
        return explained + self.decide(st, Decision.failed(st.id, reason, st.round_trips), now)

    def decide(self, st: MeetingState, decision: Decision, now: float) -> list[Action]:
        st.fire(MeetingEvent.DECIDE)
        self.proposals.drop(st.id)
        if st.previous is not None and st.previous.scheduled and not decision.scheduled:
            # A move that found nothing: the meeting stays where it was, booked all along.
            st.decision, st.move_failure = st.previous, decision.reason or "no slot found"
            return [MoveFailed(st.previous, st.move_failure)]
        st.decision = decision
        self.on_decided(decision)
        self.announcements.add(decision.announcement(st.spec.title, st.spec.remind, st.spec.uid), st.spec.invitees, now)
        return [Decided(decision)]

    # --- faults -------------------------------------------------------------------------------

    def lose(self, st: MeetingState, who: AgentId, now: float) -> list[Action]:
        """`who` stopped responding: "no" to everything still asked of it in this meeting."""
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
                actions += self.resolve_hold(st, now)
        # Meetings past asking lose its answers; those not yet asked decide absence when they
        # ask (it may be back by then: a crash and restart while everyone joins).
        if st.phase in (MeetingPhase.ANSWERED, MeetingPhase.HOLDING):
            st.absent.setdefault(who, Absence.LOST)
        return actions
