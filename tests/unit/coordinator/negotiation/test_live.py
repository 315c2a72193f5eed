"""The open-ended core the live service runs: meetings submitted, cancelled and moved while
agents stay connected, through the real codec and agents' cores, with a hand-moved clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from slotwise.coordinator.negotiation import Cancelled, Decided, MeetingPhase, MoveFailed
from slotwise.coordinator.plan import compile_submission
from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.shared.errors import ScenarioError, UsageError
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.scenario import Scenario
from slotwise.shared.wire.messages import MeetingCancelled, Release
from tests.helpers import at, make_scenario
from tests.unit.fakenet import FakeNetwork

PEOPLE = {"ana": {}, "bo": {}, "cy": {}}


def live(hours: tuple[float, float] = (9, 12), **people: Any) -> FakeNetwork:
    net = FakeNetwork(make_scenario(people or PEOPLE, [], hours=hours, slot=60), open_ended=True)
    net.settle()
    return net


def specs(net: FakeNetwork, *meetings: dict[str, Any]) -> tuple[MeetingSpec, ...]:
    return compile_submission(net.scenario, list(meetings))[1]


def submit(net: FakeNetwork, *meetings: dict[str, Any]) -> None:
    net.act(net.core.submit(specs(net, *meetings), net.now))
    net.settle()


def standing(net: FakeNetwork, meeting_id: str) -> tuple[MeetingPhase, Any]:
    view = net.core.meeting(MeetingId(meeting_id))
    assert view is not None
    return view.phase, view.decision


def assert_no_double_booking(net: FakeNetwork) -> None:
    """From the agents' own calendars: what each accepted never overlaps."""
    for name, agent in net.agents.items():
        accepted = sorted(c.when.start for c in agent.calendar.accepted.values())
        spans = sorted((c.when.start, c.when.end) for c in agent.calendar.accepted.values())
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert end <= start, f"{name} double-booked: {accepted}"


def meeting(mid: str, *who: str, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    return {"id": mid, "duration_minutes": minutes, "invitees": list(who), **extra}


def test_meetings_submitted_after_start_are_placed_against_what_is_booked() -> None:
    net = live()
    submit(net, meeting("a", "ana", "bo"))
    submit(net, meeting("b", "ana", "bo"), meeting("c", "bo", "cy"))
    when = {m: standing(net, m)[1].start for m in "abc"}
    assert when["a"] == datetime.fromisoformat(at(9))
    assert len({when["a"], when["b"]}) == 2 and when["c"] not in (when["a"], when["b"])
    assert not net.core.done  # a live core never ends
    assert_no_double_booking(net)


def test_a_cancel_frees_the_slot_for_a_later_request() -> None:
    net = live(hours=(9, 10))  # one slot
    submit(net, meeting("a", "ana", "bo"))
    submit(net, meeting("b", "ana", "bo"))
    assert standing(net, "b")[1].scheduled is False
    net.act(net.core.cancel(MeetingId("a"), net.now))
    net.settle()
    assert standing(net, "a")[0] is MeetingPhase.CANCELLED
    assert any(isinstance(a, Cancelled) and a.meeting_id == "a" for a in net.actions)
    assert not net.agents[AgentId("ana")].calendar.accepted  # told, and let go
    submit(net, meeting("c", "ana", "bo"))
    assert standing(net, "c")[1].start == datetime.fromisoformat(at(9))


def test_a_move_books_the_new_slot_and_frees_the_old_one() -> None:
    net = live()
    submit(net, meeting("a", "ana", "bo"))
    old = standing(net, "a")[1]
    moved = specs(net, meeting("a", "ana", "bo", not_before=at(10)))[0]
    net.act(net.core.move(moved, net.now))
    net.settle()
    new = standing(net, "a")[1]
    assert new.start == datetime.fromisoformat(at(10)) and new.participants == old.participants
    assert net.agents[AgentId("ana")].calendar.accepted[MeetingId("a")].when.start == new.start
    submit(net, meeting("b", "ana", "bo", not_after=at(10)))  # the old slot is free again
    assert standing(net, "b")[1].start == old.start
    assert_no_double_booking(net)


def test_a_move_to_an_overlapping_slot_is_not_blocked_by_the_meeting_itself() -> None:
    net = live(hours=(9, 11))
    submit(net, meeting("a", "ana", "bo", minutes=120))
    moved = specs(net, meeting("a", "ana", "bo", minutes=60, not_before=at(10)))[0]
    net.act(net.core.move(moved, net.now))
    net.settle()
    assert standing(net, "a")[1].start == datetime.fromisoformat(at(10))


def test_a_failed_move_leaves_the_meeting_where_it_was() -> None:
    net = live(hours=(9, 11))
    submit(net, meeting("a", "ana", "bo"), meeting("x", "ana", "cy"))  # x takes ana's 10:00
    before = standing(net, "a")[1]
    moved = specs(net, meeting("a", "ana", "bo", not_before=at(10)))[0]
    net.act(net.core.move(moved, net.now))
    net.settle()
    phase, after = standing(net, "a")
    assert phase is MeetingPhase.DECIDED and after == before
    failures = [a for a in net.actions if isinstance(a, MoveFailed)]
    assert failures and "ana" in failures[0].reason
    assert net.agents[AgentId("ana")].calendar.accepted[MeetingId("a")].when.start == before.start
    # Still booked: nothing else may take the old slot.
    submit(net, meeting("y", "ana", "bo", not_after=at(10)))
    assert standing(net, "y")[1].scheduled is False


def test_cancelling_a_meeting_mid_hold_releases_the_holds() -> None:
    net = live()
    net.act(net.core.submit(specs(net, meeting("a", "ana", "bo")), net.now))
    for _ in range(100):  # deliver until the holds are out, and no further
        if net.core.meeting(MeetingId("a")).phase is MeetingPhase.HOLDING:  # type: ignore[union-attr]
            break
        net.step()
    assert net.core.meeting(MeetingId("a")).phase is MeetingPhase.HOLDING  # type: ignore[union-attr]
    net.act(net.core.cancel(MeetingId("a"), net.now))
    releases = [b for _, to, b in net.sent if isinstance(b, Release)]
    assert {to for _, to, b in net.sent if isinstance(b, Release)} == {"ana", "bo"} and releases
    net.settle()
    assert not any(a.calendar.holds or a.calendar.accepted for a in net.agents.values())
    assert standing(net, "a")[0] is MeetingPhase.CANCELLED


def test_a_rejoining_agent_is_told_of_its_meetings_and_of_cancellations() -> None:
    net = live()
    submit(net, meeting("a", "ana", "bo"), meeting("b", "ana", "cy"))
    net.act(net.core.cancel(MeetingId("b"), net.now))
    net.settle()
    net.kill(AgentId("ana"))
    net.sent.clear()
    agent = net.start_agent(AgentId("ana"))  # a new incarnation, knowing nothing
    net.settle()
    assert set(agent.calendar.accepted) == {"a"}
    told = [b for _, to, b in net.sent if to == "ana" and isinstance(b, MeetingCancelled)]
    assert [b.meeting_id for b in told] == ["b"]


def test_ids_are_unique_and_verbs_belong_to_the_live_core() -> None:
    net = live()
    submit(net, meeting("a", "ana", "bo"))
    with pytest.raises(UsageError, match="exists already"):
        net.core.submit(specs(net, meeting("a", "ana")), net.now)
    batch = FakeNetwork(make_scenario(PEOPLE, [meeting("z", "ana")]))
    assert not any(hasattr(batch.core, verb) for verb in ("submit", "cancel", "move", "restore", "drop_attendee"))
    with pytest.raises(UsageError, match="cancelled already"):
        net.core.cancel(MeetingId("nope"), net.now)
    assert not net.core.error  # a caller's mistake, not the core's bug


def test_restored_meetings_are_booked_and_announced_without_being_asked() -> None:
    first = live()
    submit(first, meeting("a", "ana", "bo"))
    decision = standing(first, "a")[1]
    net = FakeNetwork(make_scenario(PEOPLE, [], hours=(9, 12), slot=60), open_ended=True)
    spec = specs(net, meeting("a", "ana", "bo"))[0]
    net.core.restore(spec, decision)
    net.settle()
    assert net.agents[AgentId("ana")].calendar.accepted[MeetingId("a")].when.start == decision.start
    submit(net, meeting("b", "ana", "bo"))
    assert standing(net, "b")[1].start != decision.start
    assert not [a for a in net.actions if isinstance(a, Decided) and a.decision.id == "a"]


def test_submitted_meetings_are_checked_as_a_scenario_would_be() -> None:
    scenario: Scenario = make_scenario(PEOPLE, [], hours=(9, 12), slot=60)
    with pytest.raises(ScenarioError) as caught:
        compile_submission(scenario, [meeting("a", "ana", "zed"), {"id": "b", "duration_minutes": -1}])
    paths = {p.path for p in caught.value.problems}
    assert "meetings[1].duration_minutes" in paths or "meetings[1].invitees" in paths
    with pytest.raises(ScenarioError, match="is not listed under participants"):
        compile_submission(scenario, [meeting("a", "ana", "zed")])
    with pytest.raises(ScenarioError, match="at most"):
        compile_submission(scenario, [meeting(f"m{i}", "ana") for i in range(1001)])
    month = make_scenario(PEOPLE, [], hours=(0, 720), slot=60)  # 720 hourly instances per series
    with pytest.raises(ScenarioError, match=r"\d+ occurrences; at most 5000 per request"):
        compile_submission(month, [meeting(f"r{i}", "ana", minutes=60, recurrence="FREQ=HOURLY")
                                   for i in range(8)])


def test_a_request_of_several_meetings_is_planned_together_under_placement_optimize() -> None:
    """a needs any one of ana and bo, b needs ana, and there is one hour: taken one by one, a
    holds both and b finds nothing; planned together, a goes ahead with bo alone. A meeting
    already confirmed is never moved for them."""
    def run(placement: str) -> FakeNetwork:
        scenario = make_scenario({"ana": {}, "bo": {}, "cy": {}}, [], hours=(9, 11), slot=60,
                                 policies={"placement": placement})
        net = FakeNetwork(scenario, open_ended=True)
        net.settle()
        submit(net, meeting("early", "cy", not_after=at(10)))  # confirmed before the request
        submit(net, meeting("a", "ana", "bo", min_participants=1, priority=1, not_after=at(10)),
               meeting("b", "ana", not_after=at(10)))
        return net

    greedy_net, planned_net = run("greedy"), run("optimize")
    assert standing(greedy_net, "a")[1].attendees == ("ana", "bo") and not standing(greedy_net, "b")[1].scheduled
    a, b = standing(planned_net, "a")[1], standing(planned_net, "b")[1]
    assert a.scheduled and a.attendees == ("bo",) and b.scheduled and b.attendees == ("ana",)
    assert standing(planned_net, "early")[1].attendees == ("cy",)
    assert_no_double_booking(planned_net)
