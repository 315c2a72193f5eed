"""The negotiation core, driven through the fake network: no sockets, no sleeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.coordinator.plan import compile_plan
from slotwise.participant.calendar import Commitment
from slotwise.participant.calendars.sources import free_time
from slotwise.report.audit import audit
from slotwise.shared.ids import AgentId
from slotwise.shared.scenario import Scenario, load_scenario
from slotwise.shared.slots import Interval
from slotwise.shared.wire.messages import AvailabilityRequest, AvailabilityResponse, Hold, HoldReply, Release
from tests.helpers import REPO, at, make_scenario, random_scenario
from tests.unit.fakenet import FakeNetwork, envelope


def _by_id(net: FakeNetwork) -> dict[str, object]:
    return {o.id: o for o in net.core.decisions}


def test_tutorial_places_both_meetings_with_two_round_trips_each() -> None:
    net = FakeNetwork(load_scenario(REPO / "scenarios/tutorial.yaml"))
    outcomes = {o.id: o for o in net.run()}
    sync, review = outcomes["team-sync"], outcomes["project-review"]
    assert sync.scheduled and sync.when is not None
    assert sync.when.start == datetime(2024, 7, 21, 10, tzinfo=UTC)
    assert sync.attendees == ("alice", "bob", "charlie")
    assert review.scheduled and review.when is not None
    assert review.when.start == datetime(2024, 7, 21, 14, tzinfo=UTC)
    assert review.attendees == ("alice", "charlie")
    assert [o.round_trips for o in net.core.decisions] == [2, 2]
    assert net.dropped == []
    assert audit(net.scenario, compile_plan(net.scenario), net.core.decisions) == []


def test_one_request_per_invitee_carries_every_candidate() -> None:
    s = load_scenario(REPO / "scenarios/tutorial.yaml")
    net = FakeNetwork(s)
    net.run()
    requests = [b for _, _, b in net.sent if isinstance(b, AvailabilityRequest)]
    assert len(requests) == 2 * 4  # two meetings, four invitees, no per-slot traffic
    assert {len(r.slots) for r in requests} == {len(m.candidates) for m in compile_plan(s).meetings}


def test_hold_goes_to_everyone_free_not_only_the_minimum() -> None:
    s = make_scenario({"a": {}, "b": {}, "c": {}, "d": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "c", "d"],
                        "min_participants": 2}])
    net = FakeNetwork(s)
    (o,) = net.run()
    holds = {r for _, r, b in net.sent if isinstance(b, Hold)}
    assert holds == {"a", "b", "c", "d"}
    assert o.attendees == ("a", "b", "c", "d")


def test_priority_order_wins_the_contested_slot() -> None:
    # Only one hour where both are free; the higher-priority meeting (listed second) gets it.
    people = {"a": {"available": [[at(9), at(10)]]}, "b": {"available": [[at(9), at(10)]]}}
    s = make_scenario(people, [
        {"id": "low", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 0},
        {"id": "high", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 5},
    ])
    net = FakeNetwork(s)
    out = {o.id: o for o in net.run()}
    assert out["high"].scheduled and not out["low"].scheduled
    assert out["low"].reason is not None and "free only when already booked (high)" in out["low"].reason
    assert audit(s, compile_plan(s), net.core.decisions) == []


def test_unplaceable_meeting_names_best_slot_and_who_was_missing() -> None:
    people = {"alice": {"available": [[at(10), at(11)]]}, "bob": {"available": [[at(10), at(12)]]},
              "carol": {"available": []}}
    s = make_scenario(people, [{"id": "m", "duration_minutes": 60,
                                "invitees": ["alice", "bob", "carol"], "min_participants": 3}])
    (o,) = FakeNetwork(s).run()
    assert not o.scheduled
    assert o.reason == ("best slot Mon 22 Jul 10:00 had 2 of 3 required (alice, bob); "
                        "carol unavailable in all candidate slots")


def test_silent_agent_is_asked_again_then_counted_as_no() -> None:
    people = {"a": {}, "b": {}, "mute": {}}
    s = make_scenario(people, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "mute"],
                                "min_participants": 2}], retries=1, response_timeout_s=1)
    net = FakeNetwork(s, deliver=lambda snd, rcv, body: not (
        snd == "mute" and isinstance(body, AvailabilityResponse)))
    (o,) = net.run()
    asked = [r for _, r, b in net.sent if isinstance(b, AvailabilityRequest) and r == "mute"]
    assert len(asked) == 2  # the first request and one resend
    assert o.scheduled and o.attendees == ("a", "b")
    assert net.now == pytest.approx(2.0)  # two response timeouts, then decided


def test_agent_that_never_joins_is_reported_and_not_waited_for_twice() -> None:
    s = make_scenario({"a": {}, "b": {}, "ghost": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "ghost"]}],
                      join_timeout_s=3)
    net = FakeNetwork(s, absent={"ghost"})
    (o,) = net.run()
    assert net.core.missing == ("ghost",)
    assert not o.scheduled and o.reason is not None and "ghost never joined" in o.reason
    assert net.now == pytest.approx(3.0)  # the join deadline only


def test_refused_hold_moves_the_walk_past_every_slot_the_change_closed() -> None:
    s = make_scenario({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b"]}])
    net = FakeNetwork(s)
    other = Interval(datetime.fromisoformat(at(8)), datetime.fromisoformat(at(9)))

    # b's calendar changes after it answered (another meeting lands 08:00-09:00), so its first
    # hold is refused; its fresh answers also rule out 08:30, so the next hold goes to 09:00.
    def deliver(snd: AgentId, rcv: AgentId, body: object) -> bool:
        if rcv == "b" and isinstance(body, Hold) and body.start == other.start:
            net.agents[AgentId("b")].calendar.holds["other"] = Commitment("other", other, 0)
        return True

    net.deliver = deliver
    (o,) = net.run()
    assert o.scheduled and o.when is not None and o.when.start == datetime.fromisoformat(at(9))
    replies = [b for _, _, b in net.sent if isinstance(b, HoldReply)]
    assert [r.accepted for r in replies] == [True, False, True, True] or \
        sorted(r.accepted for r in replies[:2]) == [False, True]
    releases = [r for _, r, b in net.sent if isinstance(b, Release)]
    assert releases == ["a"]  # a's confirmed hold at 08:00 is let go
    assert o.round_trips == 3


def test_agent_lost_during_hold_is_not_booked() -> None:
    s = make_scenario({"a": {}, "b": {}, "c": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "c"], "min_participants": 2}])
    net = FakeNetwork(s)

    def deliver(snd: AgentId, rcv: AgentId, body: object) -> bool:
        if rcv == "c" and isinstance(body, Hold) and "c" in net.agents:
            net.kill(AgentId("c"))  # c dies with the hold in flight
            return False
        return True

    net.deliver = deliver
    (o,) = net.run()
    assert o.scheduled and o.attendees == ("a", "b")
    assert net.core.joined == ("a", "b")


def test_stale_round_is_dropped() -> None:
    s = make_scenario({"a": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a"]}])
    net = FakeNetwork(s)
    net.run()
    session = net.codecs[AgentId("a")].session
    with pytest.raises(Exception, match="stale"):
        net.feed(envelope("a", session, AvailabilityResponse(meeting_id="m", round=999, available=(True,))))


def test_unknown_sender_and_wrong_session_are_protocol_errors() -> None:
    from slotwise.shared.errors import ProtocolError

    s = make_scenario({"a": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a"]}])
    net = FakeNetwork(s)
    net._coord_actions(net.core.start(0.0))
    net.pump()
    body = AvailabilityResponse(meeting_id="m", round=1, available=(True,))
    with pytest.raises(ProtocolError, match="not a peer"):
        net.feed(envelope("mallory", "x", body))
    with pytest.raises(ProtocolError, match="unknown session"):
        net.feed(envelope("a", "not-its-session", body))


def test_disjoint_meetings_are_placed_concurrently() -> None:
    s = make_scenario({n: {} for n in "abcd"}, [
        {"id": "ab", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 1},
        {"id": "cd", "duration_minutes": 60, "invitees": ["c", "d"], "priority": 0},
    ])
    net = FakeNetwork(s)
    actions = net.core.start(0.0)
    net._coord_actions(actions)
    # Deliver everything except hold replies, then check both holds are out at once.
    net.deliver = lambda snd, rcv, body: not isinstance(body, HoldReply)
    net.pump()
    holds = {b.meeting_id for _, _, b in net.sent if isinstance(b, Hold)}
    assert holds == {"ab", "cd"}


def _sequential_reference(s: Scenario) -> dict[str, tuple[str, ...]]:
    """Place meetings one by one by brute force: what the pipelined core must reproduce."""
    free = {n: free_time(s.availability(n), s.horizon_interval) for n in s.participants}
    booked: dict[str, list[Interval]] = {n: [] for n in s.participants}
    order = sorted(enumerate(compile_plan(s).meetings), key=lambda im: (-im[1].priority, im[0]))
    result: dict[str, tuple[str, ...]] = {}
    for _, m in order:
        for slot in m.candidates:
            when = s.grid.interval(slot, m.duration_minutes)
            yes = tuple(p for p in m.invitees if free[p].covers(when)
                        and not any(b.overlaps(when) for b in booked[p]))
            if len(yes) >= m.required:
                for p in yes:
                    booked[p].append(when)
                result[m.id] = (when.start.isoformat(), *yes)
                break
    return result


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), people=st.integers(3, 12), meetings=st.integers(1, 15))
def test_pipelined_placement_matches_one_by_one(seed: int, people: int, meetings: int) -> None:
    s = Scenario.model_validate(random_scenario(seed, people, meetings, days=2, slot=30))
    net = FakeNetwork(s)
    net.run()
    got = {o.meeting_id: (o.when.start.isoformat(), *o.attendees)
           for o in net.core.decisions if o.scheduled and o.when}
    assert got == _sequential_reference(s)
    assert audit(s, compile_plan(s), net.core.decisions) == []


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.floats(0.0, 0.6), data=st.randoms(use_true_random=False))
def test_negotiation_ends_with_a_sound_schedule_under_message_loss(seed: int, loss: float, data) -> None:  # type: ignore[no-untyped-def]
    s = Scenario.model_validate(random_scenario(seed, 6, 8, days=1, slot=30, response_timeout_s=1,
                                                hold_timeout_s=1, join_timeout_s=2))
    net = FakeNetwork(s, deliver=lambda snd, rcv, body: data.random() >= loss)
    outcomes = net.run(limit_s=10_000)
    assert len(outcomes) == len(s.meetings)
    assert all(o.scheduled or o.reason for o in outcomes)
    assert audit(s, compile_plan(s), outcomes) == []
    # Agents never hold two overlapping accepted meetings, whatever was lost.
    for agent in net.agents.values():
        acc = sorted(c.when for c in agent.calendar.accepted.values())
        assert all(not x.overlaps(y) for x, y in zip(acc, acc[1:]))


def test_actions_are_only_the_documented_kinds() -> None:
    s = load_scenario(REPO / "scenarios/tutorial.yaml")
    net = FakeNetwork(s)
    acts = net.core.start(0.0)
    assert all(type(a).__name__ in {"Publish", "Decided", "Started", "Lost"} for a in acts)


def test_an_agent_lost_while_joining_and_back_before_negotiation_counts_as_present() -> None:
    # a says Hello and falls silent (a crash during start-up) past its liveness timeout; a fresh
    # a joins before the join deadline. Its meetings must be negotiated with it, not marked lost.
    s = make_scenario({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}],
                      join_timeout_s=10, heartbeat_s=0.25)
    net = FakeNetwork(s, absent={"b"})
    net._coord_actions(net.core.start(0.0))
    net.kill(AgentId("a"))  # its Hello is in flight; nothing follows it
    net.pump()
    net.now = 3.0  # past 4 heartbeats of silence
    net._coord_actions(net.core.tick(net.now))
    assert AgentId("a") in net.core.missing
    net.start_agent(AgentId("a"))
    net.start_agent(AgentId("b"))
    (d,) = net.run()
    assert d.scheduled and d.participants == ("a", "b"), d.reason
