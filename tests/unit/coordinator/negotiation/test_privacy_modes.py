"""`privacy: incremental` and `counts` on the fake network: what is asked, what comes back, and
what happens when an invitee drops out of a counts round (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

import pytest

from slotwise.coordinator.plan import compile_plan
from slotwise.participant.calendars.sources import free_time
from slotwise.report.audit import audit
from slotwise.shared.errors import ProtocolError, ScenarioError
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.masking import unmasked
from slotwise.shared.scenario import Scenario
from slotwise.shared.wire import messages
from slotwise.shared.wire.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Body,
    HoldReply,
    MaskedAvailability,
)
from tests.helpers import at, scenario_dict
from tests.unit.fakenet import FakeNetwork

# Nine hours of 30-minute slots; everyone is busy until 13:00 but for c, free from 10:00.
PEOPLE: dict[str, Any] = {
    "a": {"busy": [[at(8), at(13)]]},
    "b": {"busy": [[at(8), at(13)]]},
    "c": {"busy": [[at(8), at(10)]]},
}
MEETING = {"id": "sync", "duration_minutes": 60, "invitees": ["a", "b", "c"], "min_participants": 2}


def scenario(privacy: str, people: dict[str, Any] | None = None, **kw: Any) -> Scenario:
    return Scenario.model_validate(scenario_dict(people or PEOPLE, [MEETING], hours=(8, 17), **kw)
                                   | {"privacy": privacy})


def to_coordinator(net: FakeNetwork) -> list[tuple[AgentId, Body]]:
    return [(s, b) for s, r, b in net.sent if r == COORDINATOR]


def requests(net: FakeNetwork) -> list[AvailabilityRequest]:
    seen: dict[int, AvailabilityRequest] = {}
    for _, _, b in net.sent:
        if isinstance(b, AvailabilityRequest):
            seen.setdefault(b.round, b)
    return list(seen.values())


@pytest.mark.parametrize("privacy", ["full", "incremental", "counts"])
def test_every_mode_places_the_meeting_where_full_does(privacy: str) -> None:
    s = scenario(privacy)
    net = FakeNetwork(s)
    outcomes = net.run()
    assert audit(s, compile_plan(s), outcomes) == []
    (d,) = outcomes
    assert d.when is not None and d.when.start.isoformat() == at(13) and d.attendees == ("a", "b", "c")


def test_incremental_asks_the_first_candidates_then_more_only_when_they_fail() -> None:
    net = FakeNetwork(scenario("incremental", ask_at_once=4))
    net.run()
    asked = [len(r.slots) for r in requests(net)]
    # 17 candidates (08:00 to 16:00 starts): 4 where nobody is free (a night, so four times as
    # many next), then 16 capped by what is left (13); the walk holds 13:00.
    assert asked == [4, 13]
    first = requests(net)[0]
    assert first.slots == tuple(range(first.slots[0], first.slots[0] + 4))  # the earliest, the walk's first


def test_incremental_never_asks_what_the_walk_does_not_reach() -> None:
    free = {p: {} for p in PEOPLE}  # everyone free: the first candidate works
    net = FakeNetwork(scenario("incremental", free, ask_at_once=3))
    (d,) = net.run()
    assert [len(r.slots) for r in requests(net)] == [3]
    assert d.round_trips == 2  # one ask, one hold
    seen = net.core.disclosure.shares()
    # 3 candidates of 2 slots from 08:00: 08:00-09:30 known free of 18 slots, nothing more.
    assert {who: (s.free, s.busy) for who, s in seen.items()} == {"a": (4, 0), "b": (4, 0), "c": (4, 0)}


def test_counts_mode_sends_no_ones_answers_only_masks_whose_sum_is_the_counts() -> None:
    net = FakeNetwork(scenario("counts"))
    net.run()
    received = to_coordinator(net)
    assert not any(isinstance(b, AvailabilityResponse) for _, b in received)
    assert all(b.available is None for _, b in received if isinstance(b, HoldReply))
    masked = [(s, b) for s, b in received if isinstance(b, MaskedAvailability)]
    assert {s for s, _ in masked} == {"a", "b", "c"}
    for _, b in masked:  # alone, an answer is noise: words far beyond 0 and 1
        assert max(b.sums[k:k + 4] for k in range(0, len(b.sums), 4)) > b"\x01\x00\x00\x00"
    by_round: dict[int, list[bytes]] = {}
    for _, b in masked:
        by_round.setdefault(b.round, []).append(b.sums)
    req = {r.round: r for r in requests(net)}
    for round_, parts in by_round.items():
        (everyone,) = unmasked(parts, req[round_].counted, len(req[round_].slots))
        # The sum is how many were free at each candidate: all the coordinator learns of them.
        truth = [sum(free_time(net.scenario.availability(p), net.plan.horizon).covers(net.plan.grid.interval(slot, 60))
                     for p in ("a", "b", "c")) for slot in req[round_].slots]
        assert everyone == truth


def test_counts_mode_reveals_less_than_full_of_the_same_meeting() -> None:
    shares = {}
    for privacy in ("full", "counts"):
        net = FakeNetwork(scenario(privacy))
        net.run()
        shares[privacy] = net.core.disclosure.summary()["revealed"]
    assert shares["counts"] < shares["full"]


def test_a_counts_round_is_asked_again_without_an_invitee_that_stopped_answering() -> None:
    # c's masked answers never arrive (its heartbeats do: silent, not lost): after the silence
    # policy's retries the round is asked again of a and b alone, under new masks.
    s = scenario("counts", people={p: {} for p in PEOPLE})
    net = FakeNetwork(s, deliver=lambda snd, rcv, body: not (snd == "c" and isinstance(body, MaskedAvailability)))
    (d,) = net.run()
    rounds = requests(net)
    assert [r.peers for r in rounds] == [("a", "b", "c"), ("a", "b")]
    assert rounds[0].keys[:2] == rounds[1].keys and rounds[0].round != rounds[1].round
    assert d.scheduled and d.attendees == ("a", "b")
    assert audit(s, compile_plan(s), [d]) == []


def test_a_counts_round_is_asked_again_when_an_invitee_is_lost_mid_round() -> None:
    s = scenario("counts", people={p: {} for p in PEOPLE})
    net = FakeNetwork(s)
    net._coord_actions(net.core.start(0.0))
    while not any(isinstance(b, AvailabilityRequest) for _, _, b in net.sent):
        net.step()  # one frame at a time, until the request is out
    net.kill(AgentId("c"))  # gone before it answers: its masks are in the others' answers
    (d,) = net.run()
    assert [r.peers for r in requests(net)] == [("a", "b", "c"), ("a", "b")]
    assert d.scheduled and d.attendees == ("a", "b")


def test_a_counts_round_nobody_completes_fails_with_a_reason_from_counts() -> None:
    s = scenario("counts", people={p: {} for p in PEOPLE})
    net = FakeNetwork(s, deliver=lambda snd, rcv, body: not isinstance(body, MaskedAvailability))
    (d,) = net.run()
    assert not d.scheduled and d.reason
    assert "masked" not in d.reason or "rounds asked again" in d.reason


def test_optimize_and_answer_ranked_slot_orders_are_refused_with_a_reason() -> None:
    for privacy, policies, said in [
        ("counts", {"placement": "optimize"}, "placement: optimize"),
        ("incremental", {"slot_order": "max-availability"}, "max-availability"),
        ("counts", {"slot_order": "max-fairness"}, "max-fairness"),
    ]:
        with pytest.raises(ScenarioError) as refused:
            compile_plan(Scenario.model_validate(scenario_dict(PEOPLE, [MEETING], policies=policies)
                                                 | {"privacy": privacy}))
        assert any(said in p.message and p.path == "privacy" for p in refused.value.problems), refused.value.problems


def test_a_meeting_may_choose_its_own_mode() -> None:
    s = Scenario.model_validate(scenario_dict(PEOPLE, [MEETING | {"privacy": "counts"},
                                                       MEETING | {"id": "other"}], hours=(8, 17)))
    plan = compile_plan(s)
    assert [m.privacy for m in plan.meetings] == ["counts", "full"]
    net = FakeNetwork(s)
    outcomes = net.run()
    assert audit(s, plan, outcomes) == []
    assert {r.meeting_id for r in requests(net) if r.counted} == {"sync"}


def test_counts_never_asks_one_invitee_alone_and_agents_refuse_such_a_probe() -> None:
    # b and c never join: a alone is left, and a count of one would be a's answer.
    s = scenario("counts", people={p: {} for p in PEOPLE})
    net = FakeNetwork(s, absent={AgentId("b"), AgentId("c")})
    (d,) = net.run()
    assert not d.scheduled and "count of one" in (d.reason or "")
    assert not requests(net)
    agent = FakeNetwork(s).agents[AgentId("a")]
    probe = AvailabilityRequest(meeting_id="sync", round=1, origin=s.horizon.start, slot_minutes=30,
                                duration_minutes=60, slots=(0, 1), peers=("a",), keys=(agent.mask_key.public,),
                                groups=(1,), counted=1)
    with pytest.raises(ProtocolError, match="names no one else"):
        agent._masked(probe)


def test_a_counts_round_asks_no_more_than_one_request_may_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    # With room for 5 masked words per peer pair, three invitees counted in one group: 2 pairs
    # each, so at most 5 // 2 = 2 candidates a round (ask_at_once 4, then 4x after a night).
    monkeypatch.setattr(messages, "MAX_MASKING_WORK", 5)
    s = scenario("counts", ask_at_once=4)
    net = FakeNetwork(s)
    (d,) = net.run()
    asked = [len(r.slots) for r in requests(net)]
    assert asked and max(asked) == 2 and sum(asked) >= 10  # the night walked two at a time
    assert d.when is not None and d.when.start.isoformat() == at(13)
    assert audit(s, compile_plan(s), [d]) == []
    too_many = requests(net)[0].model_dump() | {"slots": (0, 1, 2)}
    with pytest.raises(ValueError, match="more than one request may ask"):
        AvailabilityRequest.model_validate(too_many)


def test_a_late_joiner_is_asked_again_with_everyone_within_the_same_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # 6 masked words per pair: a and b alone are asked 6 candidates a round; once c has joined,
    # everyone is asked again what the open round asked, 3 at a time, the walk's next first.
    monkeypatch.setattr(messages, "MAX_MASKING_WORK", 6)
    s = scenario("counts", ask_at_once=6)
    net = FakeNetwork(s, absent={AgentId("c")})

    def deliver(snd: AgentId, rcv: AgentId, body: object) -> bool:
        if isinstance(body, AvailabilityRequest) and "c" not in net.agents:
            net.start_agent(AgentId("c"))
        return True

    net.deliver = deliver  # type: ignore[method-assign]
    (d,) = net.run()
    rounds = requests(net)
    assert all(len(r.slots) <= messages.max_counted_candidates(len(r.peers), r.counted) for r in rounds)
    assert [(r.peers, r.slots) for r in rounds] == [
        (("a", "b"), (0, 1, 2, 3, 4, 5)), (("a", "b"), (6, 7, 8, 9, 10, 11)),
        (("a", "b", "c"), (6, 7, 8)), (("a", "b", "c"), (9, 10, 11))]
    assert d.when is not None and d.when.start.isoformat() == at(13) and d.attendees == ("a", "b", "c")
    assert audit(s, compile_plan(s), [d]) == []


def test_counts_for_a_meeting_of_one_is_refused_when_compiled() -> None:
    with pytest.raises(ScenarioError) as refused:
        compile_plan(Scenario.model_validate(scenario_dict(PEOPLE, [MEETING | {"invitees": ["a"], "min_participants": 1}])
                                             | {"privacy": "counts"}))
    assert any("at least two invitees" in p.message for p in refused.value.problems)


@pytest.mark.parametrize(("privacy", "first"), [("incremental", 14), ("counts", 10)])
def test_a_later_meeting_is_never_asked_what_earlier_answers_already_ruled_out(privacy: str, first: int) -> None:
    # sync learns that a and b are busy until 13:00 and is placed at 13:00; sync2, the same people
    # for as long, is then asked nothing before 14:00: every earlier start is known busy for
    # two of three, or booked. Under counts the coordinator knows less: only that nobody was
    # free before 10:00 (a count of none); from 10:00 one of three was, and it does not know who.
    s = Scenario.model_validate(scenario_dict(PEOPLE, [MEETING, MEETING | {"id": "sync2"}], hours=(8, 17),
                                              ask_at_once=4) | {"privacy": privacy})
    net = FakeNetwork(s)
    outcomes = net.run()
    assert audit(s, compile_plan(s), outcomes) == []
    asked = [slot for r in requests(net) if r.meeting_id == "sync2" for slot in r.slots]
    assert asked and min(net.plan.grid.start(slot) for slot in asked).isoformat() == at(first)
    by_id = {d.id: d for d in outcomes}
    assert by_id["sync2"].when is not None and by_id["sync2"].when.start.isoformat() == at(14)
