"""What the coordinator could infer with certainty about each person's calendar.

The measure follows the "valuation of possible states" of Maheswaran, Pearce, Bowring, Varakantham
and Tambe (2005, "Privacy loss in distributed constraint reasoning: a quantitative framework for
analysis and its applications"): before any message, every free/busy state of each of a person's
horizon slots is possible; each message the coordinator receives rules some states out. A slot is
*revealed* when only one state remains possible for it: every state consistent with everything
received says free, or every one says busy. A person's revealed share is revealed slots over
horizon slots (0: nothing, 1: everything); the total is the same over every person's slots.

What the coordinator receives, as constraints on a person's slots (the slots of a candidate's
span, start to start + duration):

- a "yes" (an availability answer, an accepted hold): every slot of the span is free;
- a "no" (an answer, a refused hold): at least one slot of the span is busy, unless the span
  overlaps a meeting or hold slotwise itself has for that person, which explains the no;
- per candidate, how many of a group are free (`privacy: counts`): exactly that many of the
  group's members have the whole span free.

Constraints of the first two kinds are unit facts and positive clauses over "busy", so one pass
decides every slot exactly: a slot is revealed free if some yes covers it, revealed busy if some
no has every other slot of its span revealed free. Counts are decided per candidate by trying
every split of the count among the members that belong to the same groups (a handful of classes,
cached by the counts seen), which says for each member whether the count forces them free or
not free; the latter is a clause as a no is. The result is exact for each kind alone and sound
together: no slot is ever claimed revealed that some consistent state leaves open.

Sans-IO: the core feeds it what it receives and what it books; nothing here reads a clock.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.plan import Plan
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval, SlotGrid

MAX_SPLITS = 20_000  # splits of a count tried per distinct counts vector; beyond it, only 0 and all
MAX_CACHED = 4096  # counts vectors whose splits are remembered
# Byte maps over an answer's lanes (1 yes, 0 no, 2 not asked) and a count's (1: exactly one).
_YES = bytes(1 if v == 1 else 0 for v in range(256))
_NO = bytes(1 if v == 0 else 0 for v in range(256))
_ONE = _YES


def _lanes(starts: Sequence[int], yes: Sequence[bool]) -> tuple[int, bytes] | None:
    """An answer as one byte per slot from its first start: 1 yes, 0 no, 2 no candidate there."""
    base = starts[0]
    if starts[-1] - base + 1 == len(starts):  # the usual case: a run of candidates
        return base, bytes(yes)
    if any(b <= a for a, b in itertools.pairwise(starts)):
        return None  # unsorted: not from this walk
    said = bytearray(b"\x02" * (starts[-1] - base + 1))
    for s, ok in zip(starts, yes, strict=True):
        said[s - base] = ok
    return base, bytes(said)


@dataclass(frozen=True, slots=True)
class Share:
    """A person's revealed share and what it is made of, in horizon slots."""

    free: int
    busy: int
    slots: int
    scheduled: int = 0  # of those revealed, the slots of meetings slotwise placed for them

    @property
    def revealed(self) -> float:
        return (self.free + self.busy) / self.slots if self.slots else 0.0

    @property
    def beyond_schedule(self) -> float:
        """What the negotiation revealed beyond what the schedule itself says (any scheduler,
        a central one too, learns that its attendees were free for the meetings it placed)."""
        return (self.free + self.busy - self.scheduled) / self.slots if self.slots else 0.0


class Disclosure:
    """Every person's revealed slots, from what the coordinator received.

    Kept packed, because every answer passes through here: per person, one big integer with a
    byte lane per horizon slot for the slots known free, and per span length one for the starts
    of the "no"s. An answer of 500 candidates is then a few shifts and ORs, not 500 calls, and
    the busy slots are worked out (by the same lanes) only when someone reads the meter."""

    def __init__(self, grid: SlotGrid, first: int, end: int, people: Iterable[AgentId],
                 schedule: Callable[[AgentId], Iterable[tuple[MeetingId, int, int]]] | None = None) -> None:
        self.grid = grid
        self._schedule = schedule  # each person's placed meetings (the ledger), as slot spans
        self.first, self.end = first, end  # horizon slots [first, end)
        self._free: dict[AgentId, int] = dict.fromkeys(people, 0)
        self._clauses: dict[AgentId, dict[int, int]] = {p: {} for p in self._free}  # length -> "no" starts
        # Holds slotwise has out with each person: a "no" overlapping one may be theirs.
        self._ours: dict[AgentId, dict[MeetingId, tuple[int, int]]] = {p: {} for p in self._free}
        self._splits: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[frozenset[int], frozenset[int]]] = {}

    @property
    def slots(self) -> int:
        return max(0, self.end - self.first)

    # --- what slotwise itself puts in people's calendars -------------------------------------

    def occupy(self, who: AgentId, meeting: MeetingId, start: int, length: int) -> None:
        """`who` holds `meeting` over slots [start, start + length)."""
        if who in self._ours:
            self._ours[who][meeting] = (start, start + length)

    def vacate(self, who: AgentId, meeting: MeetingId) -> None:
        if who in self._ours:
            self._ours[who].pop(meeting, None)

    def _ours_spans(self, who: AgentId, meeting: MeetingId) -> list[tuple[int, int]]:
        spans = [(a, b) for m, (a, b) in self._ours[who].items() if m != meeting]
        if self._schedule is not None:
            spans += [(a, b) for m, a, b in self._schedule(who) if m != meeting]
        return spans

    # --- what the coordinator receives ---------------------------------------------------------

    def free(self, who: AgentId, start: int, length: int) -> None:
        """Every slot of [start, start + length) is free (a yes, an accepted hold)."""
        self.answered(who, MeetingId(""), (start,), length, (True,))

    def not_free(self, who: AgentId, start: int, length: int, meeting: MeetingId) -> None:
        """At least one slot of [start, start + length) is busy (a no, a refused hold), unless
        slotwise's own meeting or hold there explains it."""
        self.answered(who, meeting, (start,), length, (False,))

    def answered(self, who: AgentId, meeting: MeetingId, starts: Sequence[int], length: int,
                 yes: Sequence[bool]) -> None:
        """One answer: per candidate start, yes (its span free) or no (some slot of it busy)."""
        if who not in self._free or not starts or length <= 0:
            return
        lanes = _lanes(starts, yes)
        if lanes is None:
            return
        base, said = lanes  # said[k]: 1 yes, 0 no, 2 not a candidate, for start base + k
        offset = base - self.first
        if offset < 0:  # starts before the horizon (a roll): those spans are not all inside it
            said, base, offset = said[-offset:], self.first, 0
        n = len(said)
        if not n:
            return
        ones = int.from_bytes(said.translate(_YES), "little")
        if ones:
            spread = 0
            for k in range(length):  # a yes at s frees s .. s + length - 1
                spread |= ones << (8 * k)
            self._free[who] |= spread << (8 * offset)
        nos = int.from_bytes(said.translate(_NO), "little")
        last = self.slots - length - offset  # a start past it has a span leaving the horizon
        if nos and last >= 0:
            if last + 1 < n:
                nos &= (1 << (8 * (last + 1))) - 1
            for a, b in self._ours_spans(who, meeting):
                lo, hi = max(0, a - length + 1 - base), min(n, b - base)  # starts whose span overlaps [a, b)
                if lo < hi:
                    nos &= ~(((1 << (8 * (hi - lo))) - 1) << (8 * lo))
            if nos:
                clauses = self._clauses[who]
                clauses[length] = clauses.get(length, 0) | (nos << (8 * offset))

    def counted(self, meeting: MeetingId, groups: Sequence[Sequence[AgentId]], starts: Sequence[int], length: int,
                counts: Sequence[Sequence[int]]) -> None:
        """Per candidate (`counts[g][i]`), how many of group `g`'s members are free then."""
        members = sorted({who for g in groups for who in g})
        sets = [frozenset(g) for g in groups]
        signature = {who: tuple(k for k, g in enumerate(sets) if who in g) for who in members}
        classes = sorted(set(signature.values()))
        sizes = tuple(sum(1 for who in members if signature[who] == c) for c in classes)
        for i, start in enumerate(starts):
            vector = tuple(counts[g][i] for g in range(len(groups)))
            all_free, none_free = self._split(classes, sizes, vector)
            for who in members:
                k = classes.index(signature[who])
                if k in all_free:
                    self.free(who, start, length)
                elif k in none_free:
                    self.not_free(who, start, length, meeting)

    def _split(self, classes: Sequence[tuple[int, ...]], sizes: tuple[int, ...],
               vector: tuple[int, ...]) -> tuple[frozenset[int], frozenset[int]]:
        """The member classes a counts vector forces all free, and those it forces none free."""
        key = (tuple(itertools.chain.from_iterable(classes)) + sizes, vector)
        cached = self._splits.get(key)
        if cached is not None:
            return cached
        if len(self._splits) >= MAX_CACHED:  # a service's meetings vary without end: bounded
            self._splits.clear()
        total = 1
        for s in sizes:
            total *= s + 1
        lo, hi = list(sizes), [0] * len(sizes)
        if total <= MAX_SPLITS:
            found = False
            for xs in itertools.product(*(range(s + 1) for s in sizes)):
                if all(sum(x for x, c in zip(xs, classes, strict=True) if g in c) == n for g, n in enumerate(vector)):
                    found = True
                    lo = [min(a, x) for a, x in zip(lo, xs, strict=True)]
                    hi = [max(a, x) for a, x in zip(hi, xs, strict=True)]
            if not found:  # no split fits (a calendar changed between answers): nothing certain
                lo, hi = [0] * len(sizes), list(sizes)
        else:  # too many splits to try: only what each group's count says alone
            lo, hi = [0] * len(sizes), list(sizes)
            for g, n in enumerate(vector):
                size = sum(s for s, c in zip(sizes, classes, strict=True) if g in c)
                for k, c in enumerate(classes):
                    if g in c and n == size:
                        lo[k] = sizes[k]
                    if g in c and n == 0:
                        hi[k] = 0
        result = (frozenset(k for k, s in enumerate(sizes) if s and lo[k] == s),
                  frozenset(k for k, s in enumerate(sizes) if s and hi[k] == 0))
        self._splits[key] = result
        return result

    def known_not_free(self, who: AgentId, start: int, length: int) -> bool:
        """Whether something received already says [start, start + length) is not all free for
        `who`: a "no" whose span lies inside it. The walk of a privacy mode need not ask again."""
        clauses = self._clauses.get(who)
        if not clauses:
            return False
        offset = start - self.first
        if offset < 0:
            return False
        return any(n <= length and (starts >> (8 * offset)) & ((1 << (8 * (length - n + 1))) - 1)
                   for n, starts in clauses.items())

    def calendar_changed(self, who: AgentId) -> None:
        """`who`'s calendar gained free time: what was known busy may not be any more."""
        if who in self._clauses:
            self._clauses[who] = {}

    # --- reading -------------------------------------------------------------------------------

    def share(self, who: AgentId) -> Share:
        h = self.slots
        every = int.from_bytes(b"\x01" * h, "little")
        free = self._free[who] & every
        open_ = every ^ free  # lanes not known free
        busy = 0
        for length, starts in self._clauses[who].items():
            if length > 200:  # counts would overflow a lane: such clauses are left unresolved
                continue
            count = 0
            for k in range(length):
                count += open_ >> (8 * k)
            # Starts whose span has exactly one slot not known free: that slot is busy.
            single = int.from_bytes(count.to_bytes(h + 8, "little")[:h].translate(_ONE), "little") & starts
            for k in range(length):
                busy |= (single << (8 * k)) & open_
        mine = 0
        if self._schedule is not None:
            for _, a, b in self._schedule(who):
                lo, hi = max(a, self.first) - self.first, min(b, self.end) - self.first
                if lo < hi:
                    mine |= ((1 << (8 * (hi - lo))) - 1) << (8 * lo)
        revealed = free | busy
        return Share(free.bit_count(), busy.bit_count(), h, (revealed & mine & every).bit_count())

    def shares(self) -> dict[AgentId, Share]:
        return {who: self.share(who) for who in self._free}

    def roll(self, first: int, end: int) -> None:
        """The horizon moved (a live service's next day): slots before `first` are forgotten."""
        if first <= self.first and end == self.end:
            return
        drop = max(0, first - self.first)
        keep = (1 << (8 * max(0, end - first))) - 1
        for who in self._free:
            self._free[who] = (self._free[who] >> (8 * drop)) & keep
            self._clauses[who] = {n: (c >> (8 * drop)) & keep for n, c in self._clauses[who].items()}
        self.first, self.end = first, end

    def summary(self) -> dict[str, object]:
        """Revealed shares for the results file and `status`: total, median, max, per person."""
        return summarise(self.shares())


def summarise(shares: Mapping[AgentId, Share]) -> dict[str, object]:
    slots = sum(s.slots for s in shares.values())
    revealed = sum(s.free + s.busy for s in shares.values())
    scheduled = sum(s.scheduled for s in shares.values())
    values = [s.revealed for s in shares.values()]
    return {
        "revealed": round(revealed / slots, 4) if slots else 0.0,
        "beyond_schedule": round((revealed - scheduled) / slots, 4) if slots else 0.0,
        "median": round(statistics.median(values), 4) if values else 0.0,
        "max": round(max(values), 4) if values else 0.0,
        "per_person": {who: round(s.revealed, 4) for who, s in sorted(shares.items())},
    }


def learned_by_peers(decisions: Iterable[Decision], grid: SlotGrid, first: int, end: int,
                     people: Iterable[AgentId]) -> dict[str, object]:
    """What attendees learn of each other: each one told a meeting learns that every other
    attendee was free over its span. Per person, the most any one other person learned of
    their horizon slots (as a share), and the largest of those."""
    learned: dict[tuple[AgentId, AgentId], set[int]] = {}
    for d in decisions:
        if not d.scheduled or d.when is None:
            continue
        start = int((d.when.start - grid.origin).total_seconds() // 60) // grid.minutes
        stop = -(-int((d.when.end - grid.origin).total_seconds() // 60) // grid.minutes)
        span = {s for s in range(max(start, first), min(stop, end))}
        for who, other in itertools.permutations(d.attendees, 2):
            learned.setdefault((who, other), set()).update(span)
    slots = max(1, end - first)
    per: dict[str, float] = {str(p): 0.0 for p in people}
    for (_, about), span in learned.items():
        per[str(about)] = max(per.get(str(about), 0.0), round(len(span) / slots, 4))
    return {"max": max(per.values(), default=0.0), "per_person": dict(sorted(per.items()))}


def horizon_slots(grid: SlotGrid, horizon: Interval) -> tuple[int, int]:
    """The horizon as grid slots [first, end): a slot partly inside counts."""
    first = int((horizon.start - grid.origin).total_seconds() // 60) // grid.minutes
    end = -(-int((horizon.end - grid.origin).total_seconds() // 60) // grid.minutes)
    return first, end


def disclosure_for(plan: Plan, ledger: Ledger) -> Disclosure:
    """A run's meter, which reads the ledger for what slotwise has booked itself."""
    first, end = horizon_slots(plan.grid, plan.horizon)
    minutes = plan.grid.minutes

    def schedule(who: AgentId) -> Iterable[tuple[MeetingId, int, int]]:
        return ((booking.meeting_id, a // minutes, -(-b // minutes)) for a, b, booking in ledger.entries(who))

    return Disclosure(plan.grid, first, end, plan.participants, schedule)


class _Negotiating(Protocol):
    plan: Plan
    disclosure: Disclosure
    decisions: list[Decision]


def privacy_summary(core: _Negotiating, decisions: Iterable[Decision] | None = None) -> dict[str, object]:
    """The results file's `stats.privacy`: the modes used, what the coordinator could infer
    (`coordinator`), and what attendees learn of each other (`attendees`)."""
    plan = core.plan
    first, end = core.disclosure.first, core.disclosure.end
    modes = sorted({m.privacy for m in plan.meetings})
    return {"modes": modes, "coordinator": core.disclosure.summary(),
            "attendees": learned_by_peers(core.decisions if decisions is None else decisions, plan.grid,
                                          first, end, plan.participants)}


def status_summary(disclosure: Disclosure, decisions: Iterable[Decision], people: Iterable[AgentId],
                   top: int = 5) -> dict[str, object]:
    """`status`'s: the totals, and the `top` people most revealed (not everyone: an organisation's
    status would be thousands of lines; a batch run's results file has them all)."""
    seen = disclosure.summary()
    per = cast(dict[str, float], seen.pop("per_person"))
    seen["most_revealed"] = [[who, share] for who, share in sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    peers = learned_by_peers(decisions, disclosure.grid, disclosure.first, disclosure.end, people)
    return {"coordinator": seen, "attendees": {"max": peers["max"]}}
