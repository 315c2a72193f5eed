"""The privacy meter against cases worked out by hand (docs/privacy.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slotwise.coordinator.disclosure import Disclosure, learned_by_peers, summarise
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval, SlotGrid

GRID = SlotGrid(datetime(2024, 7, 1, tzinfo=UTC), 15)
A, B, C = AgentId("a"), AgentId("b"), AgentId("c")
M = MeetingId("m")


def meter(people: tuple[AgentId, ...] = (A,), slots: int = 8) -> Disclosure:
    return Disclosure(GRID, 0, slots, people)


def test_nothing_received_reveals_nothing() -> None:
    d = meter()
    assert d.share(A).revealed == 0.0


def test_a_yes_reveals_every_slot_of_its_span_free() -> None:
    d = meter()
    d.answered(A, M, [2], 2, [True])  # slots 2 and 3 free
    share = d.share(A)
    assert (share.free, share.busy, share.revealed) == (2, 0, 2 / 8)


def test_a_no_alone_reveals_nothing_but_beside_known_free_slots_reveals_the_one_left() -> None:
    d = meter()
    d.answered(A, M, [4], 2, [False])  # slot 4 or 5 busy: either may be free
    assert d.share(A).revealed == 0.0
    d.answered(A, M, [5], 1, [True])  # slot 5 free, so slot 4 must be the busy one
    share = d.share(A)
    assert (share.free, share.busy) == (1, 1)


def test_overlapping_answers_add_up_as_worked_by_hand() -> None:
    # Candidates at 0, 1, 2, 3, 4 of length 2 (spans [0,2) ... [4,6)), answers y n n y n:
    # free: 0, 1 (from 0) and 3, 4 (from 3); [1,3) has 1 free so 2 is busy; [2,4) is satisfied
    # by 2; [4,6) has 4 free so 5 is busy. Revealed: 0, 1, 2, 3, 4, 5 of 8.
    d = meter()
    d.answered(A, M, [0, 1, 2, 3, 4], 2, [True, False, False, True, False])
    share = d.share(A)
    assert (share.free, share.busy, share.revealed) == (4, 2, 6 / 8)


def test_a_no_explained_by_slotwise_own_hold_says_nothing() -> None:
    d = meter()
    d.occupy(A, MeetingId("other"), 4, 1)  # A holds another meeting at slot 4
    d.answered(A, M, [4, 5], 1, [False, False])
    assert d.share(A).busy == 1  # slot 5 only: slot 4's no is slotwise's own doing


def test_a_span_cut_by_the_horizon_says_nothing_certain() -> None:
    d = meter()
    d.not_free(A, 7, 2, M)  # [7, 9): slot 8 is outside; the busy one may be there
    d.free(A, 7, 1)
    assert d.share(A).busy == 0


def test_counts_of_everyone_and_none_reveal_all_and_a_middle_count_reveals_nothing() -> None:
    d = meter((A, B, C))
    d.counted(M, [(A, B, C)], [0, 2, 4], 1, [[3, 1, 0]])
    # Slot 0: all three free. Slot 2: one of three, nobody known. Slot 4: all three busy.
    for who in (A, B, C):
        share = d.share(who)
        assert (share.free, share.busy) == (1, 1)


def test_counts_of_two_groups_together_single_out_people() -> None:
    # Everyone (a, b, c): 2 free; the required group (a): 0 free. So a is not free, and b and
    # c, the only others, both are. Neither count alone says so.
    d = meter((A, B, C))
    d.counted(M, [(A, B, C), (A,)], [3], 1, [[2], [0]])
    assert (d.share(A).free, d.share(A).busy) == (0, 1)
    assert (d.share(B).free, d.share(C).free) == (1, 1)


def test_counts_that_fit_no_split_claim_nothing() -> None:
    d = meter((A, B))
    d.counted(M, [(A, B), (A,)], [3], 1, [[0], [1]])  # a free in the group, nobody overall: impossible
    assert d.share(A).revealed == d.share(B).revealed == 0.0


def test_beyond_the_schedule_leaves_out_the_slots_of_the_persons_own_meetings() -> None:
    d = Disclosure(GRID, 0, 8, (A,), schedule=lambda who: [(MeetingId("x"), 2, 4)])
    d.free(A, 2, 4)  # slots 2-5 free; 2 and 3 are the meeting placed for A
    share = d.share(A)
    assert (share.revealed, share.beyond_schedule) == (4 / 8, 2 / 8)


def test_the_summary_gives_the_total_over_everyone_and_each_person() -> None:
    d = meter((A, B))
    d.free(A, 0, 4)
    summary = summarise(d.shares())
    assert summary["revealed"] == 4 / 16
    assert summary["max"] == 0.5 and summary["median"] == 0.25
    assert summary["per_person"] == {"a": 0.5, "b": 0.0}


def test_a_rolled_horizon_forgets_what_is_past() -> None:
    d = meter()
    d.free(A, 0, 2)
    d.free(A, 6, 1)
    d.roll(4, 12)
    share = d.share(A)
    assert (share.free, share.slots) == (1, 8)


def test_attendees_learn_each_other_free_over_the_meetings_they_share() -> None:
    start = GRID.start(2)
    d = Decision.placed(M, Interval(start, start + timedelta(minutes=30)), (A, B), 2)
    peers = learned_by_peers([d], GRID, 0, 8, (A, B, C))
    assert peers["per_person"] == {"a": 2 / 8, "b": 2 / 8, "c": 0.0}
    assert peers["max"] == 2 / 8


def test_a_no_inside_a_span_is_known_until_the_calendar_changes() -> None:
    d = meter()
    d.not_free(A, 3, 2, M)  # [3, 5) not all free
    assert d.known_not_free(A, 2, 4) and d.known_not_free(A, 3, 2)
    assert not d.known_not_free(A, 4, 2) and not d.known_not_free(A, 0, 3)
    d.calendar_changed(A)
    assert not d.known_not_free(A, 2, 4)
