"""Greedy placement with a repair pass, over the optimizer's options (`Wanted`).

The greedy walk places each meeting at its most preferred slot that still fits, and a meeting
it cannot place stays unplaced even when moving one earlier meeting would have made room. The
repair pass does what a person with a whiteboard would: for each unplaced meeting (highest
priority first), at each of its options, it frees the people it needs by leaving them out of a
placed meeting whose rule can spare them, or by moving up to four placed meetings to another of
their options, and keeps the change only when nothing placed is lost. Failing that, it gives up
one lighter meeting in the way (lower priority) and tries to repair that one elsewhere.

Pure and deterministic, no solver needed: it is the fallback of `placement: optimize` without
OR-Tools, and the solver's starting point (a better start is a better answer in a short budget).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from slotwise.coordinator.placement.problem import Option, Placement, Wanted
from slotwise.shared.ids import AgentId, MeetingId

# Placed meetings one repair may reseat (put at another of its options; "move" is the admin
# verb). A reseat never reseats another meeting in turn, so one repair costs at most options x
# (attendees x blockers + MAX_RESEATS x options of the reseated) seat checks, whatever the week.
# On the quality benchmark's weeks (weighted, from one order, no trades) 2 reseats reached
# 95.3 % of the optimum, 4 reseats 96.4 %; with everything else on, 6 gave 98.3 % against 98.2 %.
MAX_RESEATS = 4
# Orders tried beyond the two fixed ones: most-constrained-first with each meeting's option count
# scaled by a seeded factor. On the quality benchmark's weeks: one order 96.7 % of the optimum,
# the two fixed ones 97.4 %, four more 98.2 %. Each order costs a full pass, so only on weeks up
# to the size the solver also takes (at 50 x 200 the two fixed orders take 0.09 s).
SHUFFLED_ORDERS = 4
SHUFFLE_UP_TO_PAIRS = 30_000


def accepts(option: Option, present: Iterable[AgentId]) -> bool:
    """Whether the meeting's rule accepts exactly these of the option's attendees."""
    here = set(present)
    a = option.attendance
    if a is None:
        return here >= set(option.attendees)
    if len(here) < a.least or not a.must <= here:
        return False
    return all(len(here & members) >= least for members, least in a.groups)


@dataclass(frozen=True, slots=True)
class _Seat:
    option: Option
    attendees: tuple[AgentId, ...]


class Board:
    """Who is where: each placed meeting's option and attendees, each person's busy spans
    (lengthened by their meeting's min-gap) and meetings per local day. Every change is
    logged, so a repair that does not work out is undone exactly."""

    def __init__(self, wanted: Sequence[Wanted], booked_per_day: Mapping[tuple[AgentId, date], int]) -> None:
        self.wanted = {w.id: w for w in wanted}
        # Each meeting's options, most preferred first: the order every pass tries them in.
        self.by_rank = {w.id: sorted(w.options, key=lambda o: o.rank) for w in wanted}
        self.seats: dict[MeetingId, _Seat] = {}
        self._spans: dict[AgentId, dict[MeetingId, tuple[int, int]]] = defaultdict(dict)
        self._per_day: dict[tuple[AgentId, date], int] = defaultdict(int, booked_per_day)
        self._log: list[tuple[MeetingId, _Seat | None]] = []  # (meeting, its seat before)

    def blockers(self, who: AgentId, option: Option, gap: int) -> list[MeetingId]:
        """The placed meetings that keep `who` from this option's time."""
        return [m for m, (a, b) in self._spans.get(who, {}).items()
                if m != option.meeting and a < option.end + gap and option.start < b]

    def free(self, who: AgentId, option: Option) -> bool:
        """`who` may attend `option`: no placed meeting in the way, room under the daily cap.
        The hot path of every pass, so it stops at the first meeting in the way."""
        w = self.wanted[option.meeting]
        start, end, me = option.start, option.end + w.gap, option.meeting
        for m, (a, b) in self._spans.get(who, {}).items():
            if a < end and start < b and m != me:
                return False
        if w.cap is None:
            return True
        seat = self.seats.get(option.meeting)
        for person, day in option.days:
            if person == who:
                mine = seat is not None and who in seat.attendees and (who, day) in seat.option.days
                return self._per_day[(who, day)] - mine < w.cap
        return True

    def free_attendees(self, option: Option) -> list[AgentId]:
        return [who for who in option.attendees if self.free(who, option)]

    def put(self, meeting: MeetingId, seat: _Seat | None) -> None:
        """Seat a meeting (None: unplace it), logging what it replaces."""
        before = self.seats.get(meeting)
        self._log.append((meeting, before))
        self._set(meeting, seat)

    def _set(self, meeting: MeetingId, seat: _Seat | None) -> None:
        before = self.seats.pop(meeting, None)
        if before is not None:
            for who in before.attendees:
                del self._spans[who][meeting]
            for who, day in before.option.days:
                if who in before.attendees:
                    self._per_day[(who, day)] -= 1
        if seat is not None:
            self.seats[meeting] = seat
            gap = self.wanted[meeting].gap
            for who in seat.attendees:
                self._spans[who][meeting] = (seat.option.start, seat.option.end + gap)
            for who, day in seat.option.days:
                if who in seat.attendees:
                    self._per_day[(who, day)] += 1

    def per_day(self, who: AgentId, day: date) -> int:
        return self._per_day[(who, day)]

    def mark(self) -> int:
        return len(self._log)

    def undo(self, mark: int) -> None:
        while len(self._log) > mark:
            meeting, before = self._log.pop()
            self._set(meeting, before)

    def seat_at(self, option: Option) -> bool:
        """Seat the option's meeting there with everyone free, if its rule accepts them."""
        present = self.free_attendees(option)
        if not accepts(option, present):
            return False
        self.put(option.meeting, _Seat(option, tuple(present)))
        return True

    def placement(self) -> Placement:
        out = Placement()
        for m, seat in self.seats.items():
            out.chosen[m] = seat.option
            if len(seat.attendees) < len(seat.option.attendees):
                out.attending[m] = seat.attendees
        return out


def _release(board: Board, who: AgentId, option: Option, reseats_left: int, keep: set[MeetingId]) -> int | None:
    """Free `who` for `option`'s time: leave them out of each blocking meeting that can spare
    them, else reseat that meeting at another of its options. Returns the reseats left, or None
    (then restoring the board is the caller's)."""
    gap = board.wanted[option.meeting].gap
    for blocker in board.blockers(who, option, gap):
        seat = board.seats[blocker]
        rest = tuple(p for p in seat.attendees if p != who)
        if accepts(seat.option, rest):
            board.put(blocker, _Seat(seat.option, rest))
            continue
        if reseats_left == 0 or blocker in keep:
            return None
        keep.add(blocker)
        if not _reseat(board, blocker, option):
            return None
        reseats_left -= 1
    return None if _capped(board, who, option) else reseats_left


def _reseat(board: Board, meeting: MeetingId, making_room: Option) -> bool:
    """Seat a placed meeting at another of its options, taking nobody `making_room` may need
    at an overlapping time."""
    seat = board.seats[meeting]
    gap = max(board.wanted[making_room.meeting].gap, board.wanted[meeting].gap)
    needed = set(making_room.attendees)
    mark = board.mark()
    board.put(meeting, None)  # its own time is free to take
    for other in board.by_rank[meeting]:
        if other is seat.option:
            continue
        present = board.free_attendees(other)
        if _overlaps(other, making_room, gap):
            present = [p for p in present if p not in needed]
        if accepts(other, present):
            board.put(meeting, _Seat(other, tuple(present)))
            return True
    board.undo(mark)
    return False


def _overlaps(a: Option, b: Option, gap: int) -> bool:
    return a.start < b.end + gap and b.start < a.end + gap


def _capped(board: Board, who: AgentId, option: Option) -> bool:
    """`who` has no room left that local day under the meeting's daily cap."""
    w = board.wanted[option.meeting]
    if w.cap is None:
        return False
    return any(person == who and board.per_day(who, day) >= w.cap for person, day in option.days)


def _repair(board: Board, w: Wanted) -> bool:
    """Place unplaced `w` at the first of its options where freeing the people it needs works
    (see the module's docstring); the board is unchanged when none does."""
    return any(_repair_at(board, w, option) for option in board.by_rank[w.id])


def _repair_at(board: Board, w: Wanted, option: Option) -> bool:
    if board.seat_at(option):
        return True
    mark = board.mark()
    reseats_left = MAX_RESEATS
    keep = {w.id}
    # The busy attendees, cheapest to free first (fewest meetings in the way).
    busy = sorted((who for who in option.attendees if not board.free(who, option)),
                  key=lambda who: len(board.blockers(who, option, w.gap)))
    for who in busy:
        before = board.mark()
        freed = _release(board, who, option, reseats_left, keep)
        if freed is None:
            board.undo(before)  # someone else may do instead
            continue
        reseats_left = freed
        if board.seat_at(option):
            return True
    board.undo(mark)
    return False


def _trade(board: Board, w: Wanted) -> bool:
    """Place unplaced `w` in place of one placed meeting of lower weight that is in its way,
    then try to repair that one elsewhere: the weight placed rises by at least the
    difference. The board is unchanged when no trade works."""
    for option in board.by_rank[w.id]:
        in_way = {m for who in option.attendees for m in board.blockers(who, option, w.gap)}
        for other in sorted(in_way, key=lambda m: (board.wanted[m].weight, m)):
            if board.wanted[other].weight >= w.weight:
                break
            mark = board.mark()
            board.put(other, None)
            if _repair_at(board, w, option):
                _repair(board, board.wanted[other])
                return True
            board.undo(mark)
    return False


def first_pass(board: Board, wanted: Sequence[Wanted]) -> None:
    """The greedy walk: in the given (priority) order, each meeting at its most preferred
    option where its rule accepts whoever is free."""
    for w in wanted:
        for option in board.by_rank[w.id]:
            if board.seat_at(option):
                break


def repair_pass(board: Board, wanted: Sequence[Wanted]) -> None:
    """Try to place each unplaced meeting, highest weight first, until a whole pass places
    none: a meeting placed may make room for another by moving in turn. A repair keeps every
    placed meeting placed; a trade gives up a lighter one for a heavier one. Either way the
    weight placed only rises, so the passes end."""
    progress = True
    while progress:
        progress = False
        for w in sorted(wanted, key=lambda w: -w.weight):  # stable: priority order within a weight
            if w.id not in board.seats and (_repair(board, w) or _trade(board, w)):
                progress = True


def fill(board: Board) -> None:
    """Add back everyone still free at their meeting's time (a repair may have left them out
    to make room for a meeting that then went elsewhere)."""
    for m, seat in list(board.seats.items()):
        more = {who for who in seat.option.attendees if who not in seat.attendees and board.free(who, seat.option)}
        if more:
            present = tuple(p for p in seat.option.attendees if p in seat.attendees or p in more)
            board.put(m, _Seat(seat.option, present))


def greedy_with_repair(wanted: Sequence[Wanted], booked_per_day: Mapping[tuple[AgentId, date], int] | None = None,
                       ) -> Placement:
    """The greedy walk, its repair pass, then everyone free added back (see the module's
    docstring), from several orders, keeping the best: the given (priority) order, most
    constrained first within each weight (a meeting with few options takes them before one with
    many can), and on smaller weeks a few seeded perturbations of that. Deterministic."""
    weights = {w.id: w.weight for w in wanted}
    orders = [list(wanted), sorted(wanted, key=lambda w: (-w.weight, len(w.options)))]
    if sum(len(o.attendees) for w in wanted for o in w.options) <= SHUFFLE_UP_TO_PAIRS:
        for seed in range(SHUFFLED_ORDERS):
            rng = random.Random(seed)
            orders.append(sorted(wanted, key=lambda w: (-w.weight, len(w.options) * rng.uniform(0.7, 1.3))))
    best: Placement | None = None
    for order in orders:
        board = Board(order, booked_per_day or {})
        first_pass(board, order)
        repair_pass(board, order)
        fill(board)
        found = board.placement()
        if best is None or found.value(weights) > best.value(weights):
            best = found
    assert best is not None
    best.how = "greedy with repair"
    return best
