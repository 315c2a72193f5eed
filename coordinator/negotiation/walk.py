"""One meeting's negotiation: asking its invitees, walking its candidates, holding, deciding.

Asking. Every invitee present gets ONE AvailabilityRequest naming all candidate slots the
meeting-level constraints allow. A request unanswered by its deadline is waited for again
while the silent agent's connection is still answering earlier requests (slow is not dead),
then re-sent (requests are idempotent per round) as often as the silence policy says; after
that the silent invitee counts as unavailable for this meeting.

Privacy modes (docs/privacy.md). `incremental` asks only the next `ask_at_once` candidates of
the slot order's preference, and the next ones when the walk has passed those: the walk is the
same, its answers arrive in pieces. `counts` asks as `incremental` does, but each agent's
answer is masked (shared/masking.py) so the coordinator learns only the sums: per candidate,
how many of everyone asked (and of each group the rule counts) are free. An invitee that does not answer
spoils the sum: the round is asked again without it, under new masks. The walk then holds, at
the first candidate whose counts may satisfy the rule, everyone who can be held there; the
confirmations say who came, and for that one slot who is free.

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

from collections.abc import Callable, Sequence

from slotwise.coordinator.disclosure import Disclosure
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
from slotwise.coordinator.policies.hooks import count_groups, counts_allow
from slotwise.shared.decision import Decision
from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.masking import unmasked
from slotwise.shared.slots import Interval, format_moment
from slotwise.shared.wire.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Hold,
    HoldReply,
    MaskedAvailability,
    Release,
    max_counted_candidates,
)

MAX_RERUNS = 5  # privacy: counts: rounds asked again for one meeting (dropouts, sums that are not counts)
ALONE = "only one invitee is left to ask, and a count of one would be their answer"


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
        self.mask_keys: dict[AgentId, str] = {}  # from each agent's Hello (privacy: counts)
        self.meter: Disclosure | None = None  # what the coordinator learns (coordinator/disclosure.py)

    # --- asking -------------------------------------------------------------------------------

    def _request(self, st: MeetingState, round_: int, indices: tuple[int, ...]) -> AvailabilityRequest:
        slots = st.spec.candidates if len(indices) == len(st.spec.candidates) else \
            tuple(st.spec.candidates[i] for i in indices)
        counted: dict[str, object] = {}
        if st.spec.privacy == "counts" and st.asking is not None:
            peers = tuple(sorted(st.asking.asked))
            sets = [frozenset(g) for g in st.judge.groups]
            counted = {"peers": peers, "keys": tuple(self.mask_keys[w] for w in peers), "counted": len(sets),
                       "groups": tuple(sum(1 << g for g, members in enumerate(sets) if w in members) for w in peers)}
        return AvailabilityRequest(meeting_id=st.id, round=round_, origin=self.grid.origin,
                                   slot_minutes=self.grid.minutes, duration_minutes=st.spec.duration_minutes,
                                   slots=slots, **counted)  # type: ignore[arg-type]

    def _chunk(self, st: MeetingState, limit: int | None = None) -> tuple[int, ...]:
        """The candidates a new round asks: every one (full), or the next the walk would try,
        in its preference: `ask_at_once`, then twice as many as the round before, four times
        after a round where nobody was free anywhere (a night: it revealed nothing), so the walk
        gets anywhere in the horizon in few rounds; never more than `limit` (what one counts
        request may carry). Candidates where the rule cannot hold for what slotwise has booked
        already are passed over, never asked."""
        n = len(st.spec.candidates)
        if st.spec.privacy == "full":
            st.asked_upto = n
            return tuple(range(n))
        last = next(iter(st.asked_of.values()), ())
        if last:
            nobody = not any(row[i] for row in st.answers.values() for i in last) and not (
                st.judge.counts is not None and any(st.judge.counts[0][i] for i in last))
            st.chunk_size = len(last) * (4 if nobody else 2)
        if st.walk_order is None:  # the slot order needs no answers (checked when compiled)
            st.walk_order = preference(st.judge)
        # Only candidates where the rule could hold were everyone who can be held free: those
        # where slotwise has booked too many of them already are never asked about.
        want = max(self.settings.ask_at_once, st.chunk_size)
        if limit is not None:
            want = min(want, limit)
        chosen: list[int] = []
        judged, rule, load = st.judge.judged_meeting(), st.spec.policies.rule, st.judge.load()
        while st.asked_upto < n and len(chosen) < want:
            i = st.walk_order[st.asked_upto]
            st.asked_upto += 1
            holdable = st.judge.holdable(i)
            if holdable and rule.satisfied(judged, rule.select(judged, holdable, load)):
                chosen.append(i)
        return tuple(sorted(chosen))

    def _asked_so_far(self, st: MeetingState) -> tuple[int, ...] | None:
        """Every candidate asked of this meeting so far (None: none yet, or all of them)."""
        if st.spec.privacy == "full" or not st.asked_of:
            return None
        return tuple(sorted({i for indices in st.asked_of.values() for i in indices}))

    def _length(self, st: MeetingState) -> int:
        return -(-st.spec.duration_minutes // self.grid.minutes)

    def _open_round(self, st: MeetingState, asked: set[AgentId], now: float,
                    indices: tuple[int, ...] | None = None) -> list[Action]:
        """A new request round to `asked`: the meeting's next chunk, or `indices`."""
        st.asking = self.rounds.open(asked, now + self.settings.response_timeout_s)
        self.deadlines.arm(st, st.asking)
        limit = self._limit(st, asked)
        if indices is None:
            indices = self._chunk(st, limit)
        elif limit is not None and len(indices) > limit:
            # Asked again of more peers than before: the walk's next `limit`; the next rounds
            # ask the rest again, from where these end.
            rank = {i: k for k, i in enumerate(st.walk_order or range(len(st.spec.candidates)))}
            kept = sorted(indices, key=rank.__getitem__)[:limit]
            st.asked_upto = min(st.asked_upto, rank[kept[-1]] + 1)
            indices = tuple(sorted(kept))
        if st.spec.privacy == "counts":
            st.masked.clear()
            peers = tuple(sorted(asked))
            judged = st.judge.judged_meeting()
            st.judge.groups = (peers,) + tuple(tuple(w for w in g if w in asked)
                                               for g in count_groups(st.spec.policies.rule, judged))
        for who in asked:
            st.asked_of[who] = indices
        return [Publish(self._request(st, st.asking.round, indices), to=tuple(sorted(asked)))]

    def _limit(self, st: MeetingState, asked: set[AgentId]) -> int | None:
        """privacy: counts: the most candidates one round may ask of `asked` (what masking them
        may cost each agent, wire/messages.py); None: no limit but the horizon's."""
        if st.spec.privacy != "counts":
            return None
        groups = 1 + len(count_groups(st.spec.policies.rule, st.judge.judged_meeting()))
        return max_counted_candidates(len(asked), groups)

    def ask(self, st: MeetingState, now: float) -> list[Action]:
        for who in st.spec.invitees:
            if not self.roster.is_ready(who):
                st.absent[who] = Absence.LOST if self.roster.is_lost(who) else Absence.NEVER_JOINED
            elif st.spec.privacy == "counts" and not self.mask_keys.get(who):
                st.absent[who] = Absence.NO_MASK_KEY
        asked = {w for w in st.spec.invitees if w not in st.absent}
        if not asked or not st.spec.candidates:
            st.fire(MeetingEvent.NOTHING_TO_ASK)
            return []  # nothing to wait for: the core's advance decides it
        if st.spec.privacy != "full":
            # Asked when its turn comes, so what is booked by then is never asked about.
            st.fire(MeetingEvent.DEFER)
            return []
        st.fire(MeetingEvent.ASK)
        st.round_trips += 1
        return self._open_round(st, asked, now)

    def ask_more(self, st: MeetingState, now: float) -> list[Action]:
        """privacy: incremental: the walk passed every candidate asked; ask the next ones of
        everyone still answering."""
        asked = {w for w in st.spec.invitees if w not in st.absent}
        if st.spec.privacy == "counts" and len(asked) == 1:
            st.note = ALONE
            return self._fail(st, now, gave_up=False)
        indices = self._chunk(st, self._limit(st, asked)) if asked else ()
        if not indices:  # nobody left to ask, or nowhere left that could work
            return self._fail(st, now, gave_up=False)
        st.fire(MeetingEvent.ASK_MORE)
        st.round_trips += 1
        return self._open_round(st, asked, now, indices)

    def ask_late(self, st: MeetingState, who: AgentId, now: float) -> list[Action]:
        """`who` had no say (it joined after `st` was asked): ask it now, in the round still
        open or in a new one, and let the meeting wait for its answer like any other's. With
        counts, everyone is asked again with it: its answer alone would be no sum."""
        if not st.spec.candidates:
            return []
        if st.spec.privacy == "counts" and not self.mask_keys.get(who):
            st.absent[who] = Absence.NO_MASK_KEY
            return []
        st.absent.pop(who, None)
        deadline = now + self.settings.response_timeout_s
        ex = st.asking
        indices = self._asked_so_far(st)
        if st.spec.privacy == "counts":  # everyone again, for every candidate asked so far
            asked = {w for w in st.spec.invitees if w not in st.absent}
            if ex is None:
                st.fire(MeetingEvent.ASK_LATE)
            st.round_trips += 1
            return self._open_round(st, asked, now, indices)
        if ex is None:
            st.fire(MeetingEvent.ASK_LATE)
            st.round_trips += 1
            return self._open_round(st, {who}, now, indices)
        ex.asked.add(who)
        ex.deadline = max(ex.deadline, deadline)
        self.deadlines.arm(st, ex)
        indices = indices or tuple(range(len(st.spec.candidates)))
        st.asked_of[who] = indices
        return [Publish(self._request(st, ex.round, indices), to=(who,))]

    def _answered(self, st: MeetingState) -> None:
        st.asking = None
        st.fire(MeetingEvent.ALL_ANSWERED)

    def _take(self, st: MeetingState, sender: AgentId, yes: tuple[bool, ...], indices: tuple[int, ...]) -> None:
        candidates = st.spec.candidates
        if len(indices) == len(candidates):  # every candidate (full): the answer is the row
            st.answers[sender] = list(yes)
            asked: Sequence[int] = candidates
        else:
            row = st.answers.get(sender)
            if row is None:
                row = st.answers[sender] = [False] * len(candidates)
            for i, ok in zip(indices, yes, strict=True):
                row[i] = ok
            asked = [candidates[i] for i in indices]
        if self.meter is not None:
            self.meter.answered(sender, st.id, asked, self._length(st), yes)

    def on_availability(self, st: MeetingState, sender: AgentId, body: AvailabilityResponse, now: float) -> bool:
        """True once every invitee asked has answered."""
        ex = st.asking
        if ex is None or body.round != ex.round or sender not in ex.asked or st.spec.privacy == "counts":
            raise ProtocolError(f"stale or unexpected availability for {body.meeting_id} round {body.round}")
        indices = st.asked_of[sender]
        if len(body.available) != len(indices):
            raise ProtocolError(f"{len(body.available)} answers for {len(indices)} candidate slots")
        if sender in ex.replied:
            return False  # a duplicate of an answer we already have
        ex.replied.add(sender)
        self.connections.replied(sender, ex.sent, now)
        self._take(st, sender, body.available, indices)
        if ex.waiting:
            return False
        self._answered(st)
        return True

    def on_masked(self, st: MeetingState, sender: AgentId, body: MaskedAvailability,
                  now: float) -> tuple[list[Action], bool]:
        """privacy: counts: one masked answer; with the last, the counts. The actions, and
        whether every answer is in (the counts known, or given up on)."""
        ex = st.asking
        if ex is None or body.round != ex.round or sender not in ex.asked or st.spec.privacy != "counts":
            raise ProtocolError(f"stale or unexpected masked availability for {body.meeting_id} round {body.round}")
        indices = st.asked_of[sender]
        groups, n = len(st.judge.groups), len(indices)
        if len(body.sums) != 4 * groups * n:
            raise ProtocolError(f"{len(body.sums)} bytes of masked answers for {groups} groups of {n} candidates")
        if sender in ex.replied:
            return [], False
        ex.replied.add(sender)
        self.connections.replied(sender, ex.sent, now)
        st.masked[sender] = body.sums
        if ex.waiting:
            return [], False
        try:
            counts = unmasked(st.masked.values(), groups, n)
        except ValueError:
            # Someone answered under another key or changed their answer: nobody can tell who.
            return self._rerun(st, set(ex.asked), now, "the masked answers did not add up to counts")
        st.masked.clear()
        if st.judge.counts is None:
            st.judge.counts = [[0] * len(st.spec.candidates) for _ in range(groups)]
        for g, row in enumerate(counts):
            for i, c in zip(indices, row, strict=True):
                st.judge.counts[g][i] = c
        if self.meter is not None:
            self.meter.counted(st.id, st.judge.groups, [st.spec.candidates[i] for i in indices],
                               self._length(st), counts)
        self._answered(st)
        return [], True

    def _rerun(self, st: MeetingState, asked: set[AgentId], now: float, why: str) -> tuple[list[Action], bool]:
        """privacy: counts: ask `asked` again under new masks; past MAX_RERUNS, give up."""
        indices = next((st.asked_of[w] for w in asked), ())  # the same candidates, asked again
        asked = {w for w in asked if w not in st.absent}
        if len(asked) == 1:
            why, asked = ALONE, set()
        if asked and st.reruns < MAX_RERUNS:
            st.reruns += 1
            st.round_trips += 1
            return self._open_round(st, asked, now, indices), False
        st.masked.clear()
        st.note = f"{why} ({st.reruns} rounds asked again)" if asked else why if why is ALONE else None
        self._answered(st)
        return [], True

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
            waiting = sorted(ex.waiting)
            return [Publish(self._request(st, ex.round, indices), to=tuple(who for who in waiting if st.asked_of[who] == indices))
                    for indices in dict.fromkeys(st.asked_of[w] for w in waiting)]
        for who in ex.waiting:
            st.absent[who] = Absence.SILENT
        if st.spec.privacy == "counts":  # their masks are in the others' answers: ask those again without them
            actions, _ = self._rerun(st, set(ex.replied), now, "invitees stopped answering")
            return actions
        self._answered(st)
        return []

    # --- walking and holding ------------------------------------------------------------------

    def walk(self, st: MeetingState, now: float) -> list[Action]:
        if st.spec.privacy == "counts":
            return self._walk_counts(st, now)
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
        asked = st.walk_order if st.asked_upto >= len(st.walk_order) else st.walk_order[:st.asked_upto]
        fit = first_fit(st.judge, asked, st.cursor)
        if fit is None:
            st.cursor = len(asked)
            if st.asked_upto < len(st.walk_order) and any(w not in st.absent for w in st.spec.invitees):
                return self.ask_more(st, now)  # privacy: incremental: the next candidates
            return self._fail(st, now, gave_up=False)
        st.cursor, chosen = fit
        return self._send_holds(st, st.walk_order[st.cursor], chosen, now)

    def _walk_counts(self, st: MeetingState, now: float) -> list[Action]:
        """privacy: counts: hold, at the first candidate whose counts may satisfy the rule,
        everyone who can be held there; their replies say who comes."""
        judge = st.judge
        if not st.asked_upto and st.note is None and any(w not in st.absent for w in st.spec.invitees):
            return self.ask_more(st, now)  # its turn has come: the first candidates
        if judge.counts is None:  # nobody's answers were counted
            judge.counts = [[0] * len(st.spec.candidates) for _ in judge.groups or ((),)]
            judge.groups = judge.groups or ((),)
        if st.walk_order is None:
            st.walk_order = preference(judge)
        judged, rule = judge.judged_meeting(), st.spec.policies.rule
        for position in range(st.cursor, st.asked_upto):
            i = st.walk_order[position]
            holdable = judge.holdable(i)
            if holdable and counts_allow(rule, judged, judge.bounds(i, holdable)):
                st.cursor = position
                return self._send_holds(st, i, holdable, now)
        st.cursor = st.asked_upto
        if st.asked_upto < len(st.walk_order) and st.note is None and any(w not in st.absent for w in st.spec.invitees):
            return self.ask_more(st, now)
        return self._fail(st, now, gave_up=False)

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
        if self.meter is not None:  # a hold makes its holders answer "no" to overlapping slots
            for who in attendees:
                self.meter.occupy(who, st.id, st.spec.candidates[i], self._length(st))
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
        slot, length = st.spec.candidates[hold.slot_index], self._length(st)
        if body.accepted:
            hold.confirmed.append(sender)
            if self.meter is not None:
                self.meter.free(sender, slot, length)
        else:
            hold.refused[sender] = body.reason or "refused"
            if self.meter is not None:
                self.meter.vacate(sender, st.id)
                self.meter.not_free(sender, slot, length, st.id)
            indices = st.asked_of.get(sender, ())
            if body.available is not None and st.spec.privacy != "counts" and len(body.available) == len(indices):
                self._take(st, sender, body.available, indices)
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
        if st.spec.privacy == "counts" and attendees:  # everyone who could was held: the rule picks among them
            attendees = tuple(st.spec.policies.rule.select(st.judge.judged_meeting(), attendees, st.judge.load()))
        if self.meter is not None:
            for who in hold.exchange.asked:
                if who not in attendees:
                    self.meter.vacate(who, st.id)
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
        if st.judge.counts is not None:  # the hold told who is free there: the counts are exact now
            for g, group in enumerate(st.judge.groups):
                st.judge.counts[g][hold.slot_index] = sum(1 for who in group if who in hold.confirmed)
            st.cursor += 1
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
        if st.spec.privacy == "counts":
            reason = self._counts_reason(st, gave_up)
        else:
            reason = explain_failure(st.judge, self.plan.display_zone, st.attempts, gave_up, said_instead=never)
        return explained + self.decide(st, Decision.failed(st.id, reason, st.round_trips), now)

    def _counts_reason(self, st: MeetingState, gave_up: bool) -> str:
        """privacy: counts: the failure said from counts and holds, never from who was free."""
        judge, zone = st.judge, self.plan.display_zone
        parts = [f"hold at {format_moment(self.grid.start(a.slot), zone)} got {len(a.confirmed)} confirmations; "
                 f"refused by {len(a.refused)}" for a in st.attempts]
        if not st.spec.candidates:
            return "no candidate slot: the meeting does not fit in the horizon and its own time window"
        if gave_up:
            return "; ".join([*parts, f"gave up after {len(st.attempts)} hold attempts"])
        absent = [f"{who} ({why.value})" for who, why in st.absent.items()]
        if st.note:
            parts.insert(0, st.note)
        counts = judge.counts or [[0] * len(st.spec.candidates)]
        best = max(range(len(st.spec.candidates)), key=lambda i: (counts[0][i], -i))
        parts.insert(0, f"best slot {format_moment(self.grid.start(st.spec.candidates[best]), zone)} had "
                        f"{counts[0][best]} of {judge.judged_meeting().required} needed free (privacy: counts: "
                        "how many, not who)")
        if absent:
            parts.append("no say: " + ", ".join(absent))
        return "; ".join(parts)

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
            if st.spec.privacy == "counts":  # its masks are in the others' answers: ask them again without it
                actions += self._rerun(st, set(st.asking.asked), now, "invitees stopped answering")[0]
            elif not st.asking.waiting:
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
