"""The core's side of placement: the walk's first fit, a problem built from the judges, and a
placement turned into walk orders and proposals.

The walk (the negotiation core's) tries a meeting's candidates in its slot order's preference
and holds the first where the rule accepts whoever is free: `first_fit`, the one greedy walk,
which the dry walk below runs too. With `placement: optimize` the core first hands every open
meeting of a batch to a solver (`build`: the problem, and the weight the greedy walk would place
from the same answers, the bar a placement must clear), then `Proposals.adopt` turns the answer
into each meeting's walk order (its chosen slot first) and first attendees. The placement only
proposes: holds and the ledger still decide, and a refused hold re-places its meeting around
the others' proposed seats (`Proposals.re_place`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from slotwise.coordinator.placement.judge import SlotJudge
from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.placement.problem import Placement, Problem, wanted_for
from slotwise.coordinator.policies.base import MeetingSpec, Person
from slotwise.coordinator.policies.hooks import gap_minutes
from slotwise.coordinator.policies.slot_orders import Earliest
from slotwise.shared.ids import AgentId, MeetingId


def preference(judge: SlotJudge) -> Sequence[int]:
    """Candidate indices in the slot order's preference."""
    spec = judge.meeting
    order = spec.policies.slot_order
    if isinstance(order, Earliest):  # the candidates are in time order already: no sort, no facts
        return range(len(spec.candidates))
    facts = judge.facts(spec.order, order.needs_free_at)
    return sorted(range(len(spec.candidates)), key=lambda i: order.key(facts, i))


def first_fit(judge: SlotJudge, order: Sequence[int], start: int = 0) -> tuple[int, list[AgentId]] | None:
    """From position `start` in `order`, the first candidate where the rule accepts whom it would
    hold of those free: (its position in `order`, whom to hold), or None."""
    load, judged = judge.load(), judge.judged_meeting()
    # A candidate where fewer than `required` can come cannot satisfy the rule (its minimum is
    # the fewest attendees it accepts): skipped, at C speed, before the per-person checks.
    possible = judge.open_mask(judged.required)
    for position in range(start, len(order)):
        i = order[position]
        if possible is not None and not possible[i]:
            continue
        chosen = judge.choose(i, load, judged)
        if chosen:
            return position, chosen
    return None


@dataclass(frozen=True)
class Entry:
    """An open meeting as the planner sees it: its judge and its slot-order preference."""

    judge: SlotJudge
    preference: Sequence[int]

    @property
    def spec(self) -> MeetingSpec:
        return self.judge.meeting


def build(entries: Sequence[Entry], people: Mapping[AgentId, Person], ledger: Ledger) -> tuple[Problem, int]:
    """These meetings (in turn order) as one problem against what `ledger` holds, and the
    weight the greedy walk would place from their answers (no holds refused), on a scratch
    ledger: the bar a placement must clear. Weight: 1 for the lowest priority present, one more
    per priority step above it."""
    lowest = min((e.spec.priority for e in entries), default=0)
    booked_per_day: dict[tuple[AgentId, date], int] = {}
    wanted = tuple(wanted_for(e.judge, e.preference, 1 + e.spec.priority - lowest, people, ledger, booked_per_day)
                   for e in entries)
    scratch = ledger.copy()
    walked = 0
    for e in entries:
        judge = SlotJudge(e.spec, e.judge.grid, scratch, people, e.judge.answers, e.judge.absent)
        fit = first_fit(judge, e.preference)
        if fit is not None:
            position, chosen = fit
            scratch.book(e.spec.id, judge.grid.interval(e.spec.candidates[e.preference[position]],
                                                        e.spec.duration_minutes), chosen)
            walked += 1 + e.spec.priority - lowest
    return Problem(wanted, booked_per_day), walked


@dataclass(frozen=True)
class Adopted:
    """A meeting's share of an adopted placement."""

    walk_order: list[int]  # its chosen candidate first, then its preference
    proposal: tuple[int, tuple[AgentId, ...]] | None  # its first hold, when it leaves out someone free


class Proposals:
    """The adopted placements' seats of meetings not yet decided: (start, end) minutes with the
    gap, and the proposed attendees."""

    def __init__(self, slot_minutes: int) -> None:
        self.slot_minutes = slot_minutes
        self._seats: dict[MeetingId, tuple[int, int, frozenset[AgentId]]] = {}

    def adopt(self, placement: Placement, entries: Sequence[Entry]) -> dict[MeetingId, Adopted]:
        """Each placed meeting's walk order and first hold; the others keep their preference."""
        out: dict[MeetingId, Adopted] = {}
        for e in entries:
            option = placement.chosen.get(e.spec.id)
            if option is None:
                continue
            order = [option.index] + [i for i in e.preference if i != option.index]
            proposal = (option.index, placement.attending[e.spec.id]) if e.spec.id in placement.attending else None
            out[e.spec.id] = Adopted(order, proposal)
            self._seats[e.spec.id] = (option.start, option.end + gap_minutes(e.spec),
                                      frozenset(placement.attendees(e.spec.id)))
        return out

    def __contains__(self, meeting_id: object) -> bool:
        return meeting_id in self._seats

    def drop(self, meeting_id: MeetingId) -> None:
        """Decided (or cancelled): its seat no longer stands in anyone's way."""
        self._seats.pop(meeting_id, None)

    def re_place(self, judge: SlotJudge, walk_order: Sequence[int], cursor: int) -> list[int]:
        """A proposed meeting's hold was refused: re-place this meeting only, once (later
        refusals walk on in this order). The candidates left in its walk where its rule is met
        without anyone proposed for another undecided meeting at an overlapping time come first,
        so the rest of the placement stands; the others stay behind them, as the walk would have
        taken them."""
        spec = judge.meeting
        del self._seats[spec.id]
        gap = gap_minutes(spec)
        load, judged = judge.load(), judge.judged_meeting()
        rule = spec.policies.rule

        def clear(i: int) -> bool:
            start = spec.candidates[i] * self.slot_minutes
            end = start + spec.duration_minutes + gap
            taken = {who for a, b, people in self._seats.values() if a < end and start < b for who in people}
            free = [who for who in judge.free_at(i) if who not in taken]
            chosen = rule.select(judged, free, load)
            return bool(chosen) and rule.satisfied(judged, chosen)

        done, rest = list(walk_order[:cursor]), walk_order[cursor:]
        clear_of_others = [clear(i) for i in rest]
        return (done + [i for i, ok in zip(rest, clear_of_others, strict=True) if ok]
                + [i for i, ok in zip(rest, clear_of_others, strict=True) if not ok])
