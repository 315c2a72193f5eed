"""The batch negotiation core on a fake network: round trips, holds, priorities, silence,
joining and loss, resume and rejoin, explanations; and hostile or random input, through the
gate, that must never get past as anything but a peer fault."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slotwise.coordinator.negotiation import Joined, Lost, Negotiation
from slotwise.coordinator.plan import compile_plan
from slotwise.participant.calendar import Commitment
from slotwise.participant.calendars.sources import free_time
from slotwise.report.audit import audit
from slotwise.shared.decision import Decision
from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.scenario import Scenario, load_scenario
from slotwise.shared.slots import Interval
from slotwise.shared.wire.codec import Encoder
from slotwise.shared.wire.gate import Gate
from slotwise.shared.wire.messages import (
    AvailabilityRequest,
    AvailabilityResponse,
    Heartbeat,
    Hello,
    Hold,
    HoldReply,
    MeetingScheduled,
    Ready,
    Release,
)
from tests.helpers import REPO, at, make_scenario, random_scenario, scenario_dict, write_scenario
from tests.mutations import agent_bodies, agent_encoder, feed, mutated, real_frames
from tests.strategies import PEOPLE, agent_messages, meeting_requests, names
from tests.unit.fakenet import FakeNetwork, envelope, t

PAIR = make_scenario({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}])


def test_joining_reports_each_agent_ready() -> None:
    plan = compile_plan(PAIR)
    core, gate = Negotiation(plan), Gate(plan.participants)
    core.start(0.0)
    counts = []
    for name in ("a", "b"):
        codec = Encoder(AgentId(name))
        core.receive(gate.admit(codec.encode(Hello(name=name)), name), 0.1)
        actions = core.receive(gate.admit(codec.encode(Ready()), name), 0.2)
        counts += [a.ready for a in actions if isinstance(a, Joined)]
    assert counts == [1, 2]


S = make_scenario({"a": {}, "b": {}, "c": {}}, [
    {"id": "m1", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 2},
    {"id": "m2", "duration_minutes": 60, "invitees": ["b", "c"], "priority": 1},
    {"id": "m3", "duration_minutes": 60, "invitees": ["a", "c"], "min_participants": 3 - 1},
])


def test_resumed_decisions_stand_and_are_not_asked_again() -> None:
    first = FakeNetwork(S).run()
    kept = [o for o in first if o.meeting_id == "m1"]
    net = FakeNetwork(S)
    net.core = Negotiation(compile_plan(S), decided=kept)
    outcomes = net.run()
    asked = {b.meeting_id for _, _, b in net.sent if isinstance(b, AvailabilityRequest)}
    assert asked == {"m2", "m3"}
    assert [o for o in outcomes if o.meeting_id == "m1"] == kept
    told = [(r, b.meeting_id) for _, r, b in net.sent if isinstance(b, MeetingScheduled)]
    assert ("a", "m1") in told  # the resumed decision is announced again
    assert audit(S, compile_plan(S), outcomes) == []


def test_restarted_agent_is_told_the_meetings_it_holds() -> None:
    net = FakeNetwork(S)
    restarted: list[object] = []

    def deliver(snd: AgentId, rcv: AgentId, body: object) -> bool:
        # The moment m1 is announced, "a" dies and a fresh "a" (no memory) starts.
        if isinstance(body, MeetingScheduled) and body.meeting_id == "m1" and not restarted:
            net.kill(AgentId("a"))
            restarted.append(net.start_agent(AgentId("a")))
            return False
        return True

    net.deliver = deliver
    outcomes = {o.id: o for o in net.run()}
    assert restarted and outcomes["m1"].scheduled and "a" in outcomes["m1"].attendees
    fresh = restarted[0]
    assert "m1" in fresh.calendar.accepted  # type: ignore[attr-defined]
    assert fresh.calendar.accepted["m1"].when == outcomes["m1"].when  # type: ignore[attr-defined]


FRAMES = 100_000


def test_the_coordinator_core_sees_only_peer_faults() -> None:
    s = make_scenario({n: {} for n in ("alice", "bob")},
                      [{"id": "team-sync", "duration_minutes": 60, "invitees": ["alice", "bob"]}])
    plan = compile_plan(s)
    core, gate = Negotiation(plan), Gate(plan.participants)
    core.start(0.0)
    frames = [f for name in ("alice", "bob") for f in real_frames(agent_encoder(name), agent_bodies(name))]
    # Through the gate, as the shell feeds the core: both agents over one connection (a host).
    outcomes = feed(mutated(7, frames, FRAMES), lambda frame: core.receive(gate.admit(frame, "host"), 1.0))
    assert sum(outcomes.values()) == FRAMES and outcomes["undecodable"] > FRAMES // 2
    core.tick(100.0)  # and the core still works through its deadlines


SCENARIO = make_scenario({"a": {}, "b": {}, "c": {}}, [
    {"id": "m1", "duration_minutes": 60, "invitees": ["a", "b"]},
    {"id": "m2", "duration_minutes": 30, "invitees": ["b", "c"], "min_participants": 1},
])


# What the coordinator may learn of calendars: the core's properties hold in every mode.
PRIVACY = ("full", "incremental", "counts")


@pytest.mark.parametrize("privacy", PRIVACY)
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(names, st.booleans(), agent_messages, st.floats(0, 30)), max_size=40))
def test_negotiation_core_survives_any_message_sequence(privacy: str, script: list[tuple[str, bool, Any, float]]) -> None:
    scenario = SCENARIO.model_copy(update={"privacy": privacy})
    net = FakeNetwork(scenario)
    net._coord_actions(net.core.start(0.0))
    net.pump()
    for sender, own_session, body, now in sorted(script, key=lambda x: x[3]):
        session = net.codecs[AgentId(sender)].session if own_session and sender in net.codecs else "forged"
        try:
            net.now = now
            net._coord_actions(net.feed(envelope(sender, session, body)))
            net._coord_actions(net.core.tick(now))
        except ProtocolError:
            pass
    # Whatever happened, the negotiation still ends, soundly.
    from slotwise.report.audit import audit

    outcomes = net.run(limit_s=10_000)
    assert audit(scenario, compile_plan(scenario), outcomes) == []


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
    shown = FakeNetwork(s)  # `--tz`: the same reason, read in another zone
    shown.core = Negotiation(replace(shown.plan, shown_zone=ZoneInfo("Asia/Tokyo")))
    (o,) = shown.run()
    assert o.reason is not None and o.reason.startswith("best slot Mon 22 Jul 19:00 had 2 of 3 required")


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


def test_a_late_joiner_is_asked_for_every_meeting_still_open_and_counted_as_there() -> None:
    # c starts only once negotiation is under way (the first requests are out). m2 needs c and
    # waits behind m1 (they share a and b): when c joins, m2 asks it, and is placed with it.
    s = make_scenario({"a": {}, "b": {}, "c": {}},
                      [{"id": "m1", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 2},
                       {"id": "m2", "duration_minutes": 60, "invitees": ["a", "b", "c"],
                        "rule": {"required": ["c"], "min_participants": 3}}],
                      join_timeout_s=3)
    net = FakeNetwork(s, absent={"c"})

    def deliver(snd: AgentId, rcv: AgentId, body: object) -> bool:
        if isinstance(body, AvailabilityRequest) and "c" not in net.agents:
            net.start_agent(AgentId("c"))
        return True

    net.deliver = deliver
    out = {o.id: o for o in net.run()}
    assert out["m1"].scheduled and out["m2"].scheduled and "c" in out["m2"].attendees
    asked_c = [b for _, r, b in net.sent if r == "c" and isinstance(b, AvailabilityRequest)]
    assert [b.meeting_id for b in asked_c] == ["m2"]  # m1 does not invite c
    assert net.core.joined == ("a", "b", "c") and net.core.missing == ()


def test_a_launched_process_still_starting_extends_joining_and_a_dead_one_is_not_waited_for() -> None:
    s = make_scenario({"a": {}, "b": {}, "c": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b"]},
                       {"id": "with-c", "duration_minutes": 60, "invitees": ["a", "c"], "rule": {"required": ["c"]}}],
                      join_timeout_s=4)
    net = FakeNetwork(s, absent={"a", "b", "c"})
    net.act(net.core.start(0.0))
    # a's and b's process is alive but slow: at 3 s the join timeout starts again.
    net.act(net.core.launching([{AgentId("a"), AgentId("b")}], {}, 3.0))
    net.act(net.core.tick(6.0))
    assert net.core.phase.name == "JOINING"  # past the 4 s timeout, yet only late
    net.now = 6.0
    net.start_agent(AgentId("a"))
    net.start_agent(AgentId("b"))
    net.pump()
    # c's process has died: nobody else to wait for, so negotiation begins now, without c.
    net.act(net.core.launching([], {AgentId("c"): "exited with status 2: c: calendar: login refused"}, 6.5))
    assert net.core.phase.name == "NEGOTIATING" and net.core.missing == ("c",)
    out = {o.id: o for o in net.run()}
    assert out["m"].scheduled  # and what needed c says why c is not there
    assert out["with-c"].reason is not None
    assert "c never joined (its process exited with status 2: c: calendar: login refused)" in out["with-c"].reason
    # Patience has a bound: JOIN_PATIENCE join timeouts after start (but at least a minute),
    # whatever is still starting.
    late = FakeNetwork(s, absent={"a", "b", "c"})
    late.act(late.core.start(0.0))
    began = None
    for now in range(1, 90, 2):
        late.act(late.core.launching([{AgentId("a")}], {}, float(now)))
        late.act(late.core.tick(float(now)))
        if began is None and late.core.phase.name != "JOINING":
            began = now
    assert began == 61 and late.core.missing == ("a", "b", "c")  # a minute (10 timeouts of 4 s are less), then the next tick


def test_a_host_whose_agents_stopped_arriving_is_waited_for_one_join_timeout_more() -> None:
    # One host carries a, b and c; a and b join at 1 s, c never will (its calendar, say). The
    # host is alive, but nothing more arrives from it: one join timeout after the last arrival,
    # negotiation begins without c, long before the patience bound.
    s = make_scenario({"a": {}, "b": {}, "c": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b"]}], join_timeout_s=4)
    net = FakeNetwork(s, absent={"a", "b", "c"})
    net.act(net.core.start(0.0))
    net.now = 1.0
    net.start_agent(AgentId("a"))
    net.start_agent(AgentId("b"))
    net.pump()
    host = [{AgentId("a"), AgentId("b"), AgentId("c")}]
    began = None
    for tenth in range(11, 200):
        now = tenth / 10
        net.act(net.core.launching(host, {}, now))
        net.act(net.core.tick(now))
        if began is None and net.core.phase.name != "JOINING":
            began = now
    assert began is not None and 8.9 <= began <= 9.0 and net.core.missing == ("c",)


def test_a_reason_that_would_name_many_people_counts_them() -> None:
    people = {f"p{i:02}": {} for i in range(12)}
    s = make_scenario({"host": {}} | people,
                      [{"id": "all-hands", "duration_minutes": 60, "invitees": ["host", *people]}],
                      join_timeout_s=1)
    (o,) = FakeNetwork(s, absent=set(people)).run()
    assert o.reason is not None and "12 invitees never joined: p00, p01, p02, … (+9)" in o.reason
    assert "p03" not in o.reason


def test_a_reason_never_outgrows_the_wire_however_many_invitees_and_meetings() -> None:
    # 300 invitees, 296 of them never joined, and the four who did are booked in 40 meetings
    # each: the reason is summarised, never refused (a too-long MeetingFailed used to stop the core).
    people = {f"p{i:03}": {} for i in range(300)}
    here = [f"p{i:03}" for i in range(4)]
    meetings = [{"id": f"busy{k:02}", "duration_minutes": 30, "invitees": here} for k in range(40)]
    meetings.append({"id": "all", "duration_minutes": 30, "invitees": list(people), "min_participants": 300})
    s = make_scenario(people, meetings, hours=(8, 28), join_timeout_s=1)
    out = {o.id: o for o in FakeNetwork(s, absent=set(people) - set(here)).run()}
    reason = out["all"].reason
    assert not out["all"].scheduled and reason is not None and len(reason) <= 4000
    assert "296 invitees never joined: p004, p005, p006, … (+293)" in reason
    assert Decision.failed(MeetingId("x"), "y" * 10_000).announcement("x").reason.endswith("(reason cut)")


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
    # c was there (it answered) and was lost: the results and the reasons agree on that.
    assert net.core.joined == ("a", "b", "c") and net.core.lost == ("c",) and net.core.present == ("a", "b")


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


@pytest.mark.parametrize("privacy", PRIVACY)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), people=st.integers(3, 12), meetings=st.integers(1, 15))
def test_pipelined_placement_matches_one_by_one(privacy: str, seed: int, people: int, meetings: int) -> None:
    # Whatever the coordinator is told (every answer, a few at a time, or only counts), the
    # schedule is the one placing meetings one by one with everyone's calendar in view gives.
    s = Scenario.model_validate({**random_scenario(seed, people, meetings, days=2, slot=30), "privacy": privacy})
    net = FakeNetwork(s)
    net.run()
    got = {o.meeting_id: (o.when.start.isoformat(), *o.attendees)
           for o in net.core.decisions if o.scheduled and o.when}
    assert got == _sequential_reference(s)
    assert audit(s, compile_plan(s), net.core.decisions) == []


@pytest.mark.parametrize("privacy", PRIVACY)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.floats(0.0, 0.6), data=st.randoms(use_true_random=False))
def test_negotiation_ends_with_a_sound_schedule_under_message_loss(privacy: str, seed: int, loss: float, data) -> None:  # type: ignore[no-untyped-def]
    s = Scenario.model_validate({**random_scenario(seed, 6, 8, days=1, slot=30, response_timeout_s=1,
                                                   hold_timeout_s=1, join_timeout_s=2), "privacy": privacy})
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
    assert all(type(a).__name__ in {"Publish", "Decided", "Started", "Lost", "Back"} for a in acts)


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






def test_explanations_are_snapshots_taken_at_decision_time() -> None:
    from slotwise.coordinator.negotiation import Negotiation
    from slotwise.coordinator.placement.reasons import runs

    people = {"a": {"available": [[at(9), at(11)]]}, "b": {}}
    s = make_scenario(people, [
        {"id": "first", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 1},
        {"id": "second", "duration_minutes": 60, "invitees": ["a", "b"],
         "constraints": [{"time-of-day": {"earliest": "09:00"}}]},
    ])
    net = FakeNetwork(s)
    net.core = Negotiation(compile_plan(s), explain=frozenset({MeetingId("first"), MeetingId("second")}))
    net.run()
    first = {r.when.start: r for r in net.explanations["first"]}
    assert first[t(9)].verdict == "chosen"  # not "booked in first": taken before booking
    second = net.explanations["second"]
    assert [r.verdict for r in second[:2]] == ["excluded", "excluded"]  # 08:00, 08:30
    by_start = {r.when.start: r for r in second}
    assert by_start[t(9)].missing == (("a", "booked in first"), ("b", "booked in first"))
    assert by_start[t(10)].verdict == "chosen"
    merged = runs(second)
    assert merged[0][2].verdict == "excluded" and merged[0][1].start == t(8.5)


def test_a_silent_host_loses_all_its_agents_at_once_and_they_come_back_together() -> None:
    s = make_scenario({"a": {}, "b": {}, "c": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "c"]}], join_timeout_s=5)
    plan = compile_plan(s)
    core, gate = Negotiation(plan), Gate(plan.participants)
    core.start(0.0)
    codecs = {n: Encoder(AgentId(n)) for n in "abc"}
    for n, peer in (("a", "host"), ("b", "host"), ("c", "alone")):
        core.receive(gate.admit(codecs[n].encode(Hello(name=n)), peer), 0.0)
        core.receive(gate.admit(codecs[n].encode(Ready()), peer), 0.0)
    timeout = core.liveness.timeout_s
    core.receive(gate.admit(codecs["c"].encode(Heartbeat()), "alone"), timeout - 0.1)
    lost = [a.agent for a in core.tick(timeout + 0.01) if isinstance(a, Lost)]
    assert lost == ["a", "b"]  # the host's connection went quiet; c's did not
    # One of them speaks again over the same connection: both are back.
    core.receive(gate.admit(codecs["a"].encode(Heartbeat()), "host"), timeout + 0.5)
    assert core.lost == ()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(meeting_requests, min_size=1, max_size=4),
       absent=st.sets(st.sampled_from(PEOPLE), max_size=3), privacy=st.sampled_from(PRIVACY))
def test_whatever_validate_accepts_runs_to_an_end_with_a_reason_for_every_meeting_not_placed(
        requests: list[dict[str, Any]], absent: set[str], privacy: str) -> None:
    # The door (`validate`, and so `run`) either refuses a scenario with its problems, or the
    # core runs it to an end: never an exception from the core or the wire.
    import tempfile
    from pathlib import Path

    from slotwise.coordinator.plan import load_plan
    from slotwise.shared.errors import ScenarioError

    data = scenario_dict({p: {} for p in PEOPLE}, requests, hours=(8, 8 + 24 * 3), slot=30) | {"privacy": privacy}
    with tempfile.TemporaryDirectory() as folder:
        path = write_scenario(Path(folder) / "s.yaml", data)
        try:
            scenario, plan = load_plan(path)
        except ScenarioError as refused:
            assert refused.problems
            event("refused")
            return
    event("accepted")
    net = FakeNetwork(scenario, absent={AgentId(a) for a in absent})
    outcomes = net.run(limit_s=10_000)
    assert sorted(o.id for o in outcomes) == sorted(m.id for m in plan.meetings)
    assert all(o.scheduled or o.reason for o in outcomes)
    assert audit(scenario, plan, outcomes) == []
