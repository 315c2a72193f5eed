"""The slot judge: its open mask marks exactly the candidates where enough invitees are free
(checked against counting them one by one)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from slotwise.coordinator.placement.judge import SlotJudge
from slotwise.coordinator.placement.ledger import Ledger
from slotwise.coordinator.plan import compile_plan
from slotwise.shared.ids import MeetingId
from slotwise.shared.slots import Interval
from tests.helpers import make_scenario


@pytest.mark.parametrize("seed", range(40))
def test_open_mask_marks_exactly_the_candidates_where_enough_are_free(seed: int) -> None:
    rng = random.Random(seed)
    invitees = [f"p{i}" for i in range(rng.randint(1, 7))]
    s = make_scenario({p: {} for p in invitees},
                      [{"id": "m", "duration_minutes": rng.choice([30, 60, 90]), "invitees": invitees,
                        "min_participants": rng.randint(1, len(invitees))}])
    plan = compile_plan(s)
    spec = plan.meetings[0]
    ledger = Ledger(plan.grid)
    for k in range(rng.randint(0, 12)):  # other meetings booked for random people
        start = plan.grid.start(rng.choice(spec.candidates))
        ledger.book(MeetingId(f"o{k}"), Interval(start, start + timedelta(minutes=rng.choice([15, 30, 60]))),
                    [p for p in rng.sample(invitees, rng.randint(1, len(invitees)))
                     if ledger.conflict(p, Interval(start, start + timedelta(minutes=60))) is None])
    answers = {p: [rng.random() < 0.7 for _ in spec.candidates] for p in invitees if rng.random() < 0.9}
    judge = SlotJudge(spec, plan.grid, ledger, plan.people, answers, {})
    mask = judge.open_mask(spec.required)
    assert mask is not None
    for i in range(len(spec.candidates)):
        assert bool(mask[i]) == (len(judge.free_at(i)) >= spec.required), i
