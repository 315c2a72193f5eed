"""The admin desk (`serve`'s request logic) on a fake network and a hand-moved clock: waiters,
refusals, idempotency, cancellations, moves, conflicts and restarts, with the store's commits
checked against what the agents were told and when."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from loguru import logger

from slotwise.coordinator import admin_desk, conflicts
from slotwise.coordinator.admin_desk import PRIVACY_EVERY_S, AdminDesk
from slotwise.coordinator.negotiation import ConflictReported, LiveNegotiation, MeetingPhase
from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.store import MeetingRow, Status, canonical
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.scenario import Availability
from slotwise.shared.slots import FreeTime, Interval
from slotwise.shared.wire import admin
from slotwise.shared.wire.messages import Freed, MeetingCancelled, MeetingScheduled
from tests.helpers import DAY, at, make_scenario
from tests.strategies import PEOPLE, meeting_requests
from tests.unit.fakenet import FakeNetwork

CLIENT = b"client-1"


class MemoryStore:
    """The Store interface in memory; each commit notes how many messages had been sent by then,
    so a test can tell whether anyone heard of a change before it was committed."""

    def __init__(self, net: FakeNetwork | None = None) -> None:
        self.net = net
        self._requests: dict[str, Any] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self.commits: list[tuple[str, str, int]] = []  # (what, meeting id, messages sent before it)
        self._settings: dict[str, str] = {}
        self._archived: set[str] = set()

    def _note(self, what: str, meeting_id: str) -> None:
        self.commits.append((what, meeting_id, len(self.net.sent) if self.net is not None else 0))

    def requests(self) -> list[tuple[str, Any]]:
        live = {r["series"] for i, r in self._rows.items() if i not in self._archived}
        return [(k, v) for k, v in self._requests.items() if k in live]

    def request(self, series: str) -> Any | None:
        return self._requests.get(series)

    def add(self, requests: Sequence[tuple[str, Any]], occurrences: Sequence[tuple[str, str]]) -> None:
        for series, body in requests:
            self._requests[series] = json.loads(canonical(body))
        for meeting_id, series in occurrences:
            self._rows[meeting_id] = {"series": series, "status": "pending", "decision": None,
                                      "moving": None, "move_failure": None}
            self._note("add", meeting_id)

    def decide(self, decision: Decision) -> None:
        row = self._rows[decision.id]
        row.update(status="scheduled" if decision.scheduled else "failed", decision=decision, moving=None)
        self._note("decide", decision.id)

    def move_started(self, meeting_id: str, window: dict[str, str | None]) -> None:
        self._rows[meeting_id]["moving"] = dict(window)
        self._note("move", meeting_id)

    def move_failed(self, meeting_id: str, reason: str) -> None:
        self._rows[meeting_id].update(moving=None, move_failure=reason)
        self._note("move_failed", meeting_id)

    def cancel(self, meeting_ids: Sequence[str]) -> None:
        for meeting_id in meeting_ids:
            self._rows[meeting_id].update(status="cancelled", moving=None)
            self._note("cancel", meeting_id)

    def meetings(self) -> list[MeetingRow]:
        return [MeetingRow(i, r["series"], r["status"], r["decision"], r["moving"], r["move_failure"])
                for i, r in self._rows.items() if i not in self._archived]

    def archive(self, meeting_ids: Sequence[str]) -> None:
        self._archived.update(meeting_ids)
        for meeting_id in meeting_ids:
            self._note("archive", meeting_id)

    def archived(self, after: str | None, limit: int) -> list[MeetingRow]:
        ids = sorted(i for i in self._archived if i > (after or ""))[:limit]
        return [MeetingRow(i, r["series"], r["status"], r["decision"], r["moving"], r["move_failure"])
                for i in ids for r in [self._rows[i]]]

    def setting(self, key: str, default: str) -> str:
        return str(self._settings.setdefault(key, default))

    def status(self, meeting_id: str) -> Status:
        status: Status = self._rows[meeting_id]["status"]
        return status

    def close(self) -> None:
        pass


class Desk:
    """A desk wired to a fake network: requests in, replies out, the clock moved by hand."""

    def __init__(self, people: dict[str, Any] | None = None, *, store: MemoryStore | None = None,
                 meetings: list[dict[str, Any]] | None = None, wall: datetime = DAY,
                 allow_past: bool = False, itip: Any = None, **negotiation: float) -> None:
        scenario = make_scenario(people or {"ana": {}, "bo": {}, "cy": {}}, meetings or [],
                                 hours=(9, 12), slot=60, **negotiation)
        self._wire(scenario, store or MemoryStore(), wall, allow_past=allow_past, itip=itip)

    @classmethod
    def of(cls, scenario: Any, store: MemoryStore, wall: datetime) -> Desk:
        """A desk for a scenario made by hand (a rolling horizon, say)."""
        d = cls.__new__(cls)
        d._wire(scenario, store, wall)
        return d

    def _wire(self, scenario: Any, store: MemoryStore, wall: datetime, *, allow_past: bool = False,
              itip: Any = None) -> None:
        self.scenario = scenario
        self.net = FakeNetwork(self.scenario, open_ended=True)
        self.store = store
        self.store.net = self.net
        self.wall = wall
        compiled = compile_plan(self.scenario)
        plan = replace(compiled, meetings=(), by_id={})  # as serve does: meetings come from the store
        self.net.core = LiveNegotiation(plan)
        self.desk = AdminDesk(self.scenario, plan, self.net.core, self.store, self.net.act,
                              wall=lambda: self.wall, allow_past=allow_past, itip=itip)
        self.net.observe = self.desk.observe
        self.desk.start(compiled.meetings, self.net.now)
        self._rid = 0
        self.settle()

    def ask(self, op: str, **fields: Any) -> dict[str, Any] | None:
        self._rid += 1
        frame = admin.encode({"v": admin.ADMIN_VERSION, "id": self._rid, "op": op, **fields})
        return self.desk.request(CLIENT, frame, self.net.now)

    def settle(self) -> list[tuple[bytes, dict[str, Any]]]:
        """Negotiate until nothing is open, then answer the clients the shell would."""
        self.net.settle()
        self.desk.resolve_conflicts(self.net.now)
        self.desk.retry_waiting(self.net.now)
        self.net.settle()
        return self.desk.answer_waiters(self.net.now)

    def entry(self, meeting_id: str) -> dict[str, Any]:
        return self.desk.entry(MeetingId(meeting_id))

    def told(self, kind: type, meeting_id: str) -> list[int]:
        """Where in the network's sends the coordinator told anyone `kind` for this meeting."""
        return [i for i, (_, _, body) in enumerate(self.net.sent)
                if isinstance(body, kind) and getattr(body, "meeting_id", None) == meeting_id]


def meeting(mid: str, *who: str, **extra: Any) -> dict[str, Any]:
    return {"id": mid, "duration_minutes": 60, "invitees": list(who), **extra}


def test_an_add_with_a_wait_is_answered_once_decided_and_committed_before_anyone_hears() -> None:
    d = Desk()
    assert d.ask("add", meetings=[meeting("a", "ana", "bo")], wait=30) is None  # the client waits
    assert d.desk.waiting == 1
    assert d.desk.next_deadline() == pytest.approx(d.net.now + 30, abs=5)
    replies = d.settle()
    assert [(c, r["ok"]) for c, r in replies] == [(CLIENT, True)]
    [entry] = replies[0][1]["result"]
    assert entry["status"] == "scheduled" and entry["start"] == at(9)
    decided_at = next(n for what, mid, n in d.store.commits if what == "decide" and mid == "a")
    assert d.told(MeetingScheduled, "a") and min(d.told(MeetingScheduled, "a")) >= decided_at
    assert d.desk.waiting == 0 and d.desk.next_deadline() is None


def test_an_add_without_a_wait_is_answered_at_once_as_pending() -> None:
    d = Desk()
    reply = d.ask("add", meetings=[meeting("a", "ana", "bo")])
    assert reply is not None and reply["ok"] and reply["result"][0]["status"] == "pending"
    d.settle()
    assert d.entry("a")["status"] == "scheduled"


def test_a_wait_that_ends_first_is_answered_with_what_stands() -> None:
    d = Desk({"ana": {}, "bo": {}}, wall=DAY)
    d.net.kill(AgentId("bo"))  # bo never answers: the meeting stays open past the wait
    assert d.ask("add", meetings=[meeting("a", "ana", "bo")], wait=0.5) is None
    d.net.now += 0.6
    [(client, reply)] = d.desk.answer_waiters(d.net.now)
    assert client == CLIENT and reply["result"][0]["status"] == "pending"


def test_an_invalid_add_keeps_nothing_and_says_where() -> None:
    d = Desk()
    reply = d.ask("add", meetings=[meeting("a", "ana", "nobody")])
    assert reply is not None and not reply["ok"] and reply["kind"] == "invalid"
    assert reply["problems"] and reply["problems"][0]["path"].startswith("meetings[0]")
    assert d.store.requests() == [] and d.desk.known() == []
    assert d.ask("add", meetings="not a list")["kind"] == "invalid"  # type: ignore[index]


def test_a_repeated_add_is_the_same_request_and_a_changed_one_is_refused() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    again = d.ask("add", meetings=[meeting("a", "ana", "bo")])
    assert again is not None and again["ok"] and again["result"][0]["status"] == "scheduled"
    assert [what for what, *_ in d.store.commits].count("add") == 1
    changed = d.ask("add", meetings=[meeting("a", "ana", "cy")])
    assert changed is not None and changed["kind"] == "invalid" and "different content" in changed["problems"][0]["message"]


def test_an_id_taken_by_an_occurrence_is_refused() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("s", "ana", "bo", recurrence="FREQ=DAILY;COUNT=1")])
    [occurrence] = d.desk.known()
    reply = d.ask("add", meetings=[meeting(occurrence, "ana", "bo")])
    assert reply is not None and reply["kind"] == "invalid" and "occurrence of another" in reply["problems"][0]["message"]


def test_a_full_service_refuses_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    d = Desk()
    monkeypatch.setattr(admin_desk, "MAX_MEETINGS", 1)
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    reply = d.ask("add", meetings=[meeting("b", "ana", "bo")])
    assert reply is not None and reply["kind"] == "busy" and d.store.request("b") is None


def test_a_cancellation_is_committed_before_the_invitees_are_told() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    reply = d.ask("cancel", meeting_id="a")
    assert reply is not None and reply["result"][0]["status"] == "cancelled"
    cancelled_at = next(n for what, mid, n in d.store.commits if what == "cancel")
    d.settle()
    assert d.told(MeetingCancelled, "a") and min(d.told(MeetingCancelled, "a")) >= cancelled_at
    assert d.store.status("a") == "cancelled"
    twice = d.ask("cancel", meeting_id="a")  # cancelling again changes nothing
    assert twice is not None and twice["ok"] and [w for w, *_ in d.store.commits].count("cancel") == 1
    unknown = d.ask("cancel", meeting_id="nope")
    assert unknown is not None and unknown["kind"] == "unknown"
    assert d.ask("cancel", meeting_id=7)["kind"] == "invalid"  # type: ignore[index]


def test_a_move_waits_for_its_end_and_goes_elsewhere() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    assert d.entry("a")["start"] == at(9)
    assert d.ask("move", meeting_id="a", not_before=at(10), wait=30) is None
    assert d.entry("a")["move"] == {"status": "pending", "reason": None}
    [(_, reply)] = d.settle()
    assert reply["result"][0]["start"] == at(10) and "move" not in reply["result"][0]
    assert [w for w, *_ in d.store.commits] == ["add", "decide", "move", "decide"]


def test_a_move_that_cannot_be_done_leaves_the_meeting_and_says_why() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    d.ask("move", meeting_id="a", not_before=at(11.5))  # no whole hour left after 11:30
    d.settle()
    entry = d.entry("a")
    assert entry["start"] == at(9) and entry["move"]["status"] == "failed" and entry["move"]["reason"]


def test_moves_that_cannot_be_asked_are_refused() -> None:
    d = Desk({"ana": {}, "bo": {}})
    d.net.kill(AgentId("bo"))
    d.ask("add", meetings=[meeting("open", "ana", "bo"),
                           meeting("s", "ana", recurrence="FREQ=DAILY;COUNT=1")])
    pending = d.ask("move", meeting_id="open")
    assert pending is not None and pending["kind"] == "conflict" and "still being negotiated" in pending["error"]
    series = d.ask("move", meeting_id="s")
    assert series is not None and series["kind"] == "refused" and "recurring" in series["error"]


def test_a_move_window_that_does_not_compile_keeps_nothing() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    reply = d.ask("move", meeting_id="a", not_before="not a time")
    assert reply is not None and reply["kind"] == "invalid"
    assert "move" not in [w for w, *_ in d.store.commits]
    typed = d.ask("move", meeting_id="a", not_after=3)
    assert typed is not None and typed["kind"] == "invalid" and "not_after" in typed["error"]


def _busy(d: Desk, who: str, hour: float) -> None:
    """`who`'s calendar gains an event over the hour at `hour`; the agent reads it again and
    reports what no longer fits, as it does when its calendar changes."""
    agent = d.net.agents[AgentId(who)]
    start, end = datetime.fromisoformat(at(hour)), datetime.fromisoformat(at(hour + 1))
    horizon_start, horizon_end = datetime.fromisoformat(at(0)), datetime.fromisoformat(at(24))
    agent.calendar._source = FreeTime([Interval(horizon_start, start), Interval(end, horizon_end)])
    d.net._agent_actions(AgentId(who), agent.calendar_changed())


@pytest.mark.parametrize(("policy", "expect"), [("keep", at(9)), ("move", at(10))])
def test_a_conflict_is_handled_by_the_meetings_policy(policy: str, expect: str) -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo", on_conflict=policy)])
    d.settle()
    _busy(d, "bo", 9)
    d.settle()
    assert d.entry("a")["start"] == expect
    assert d.entry("a")["status"] == "scheduled"


def test_a_conflict_drops_the_attendee_when_the_rule_holds_without_them() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo", "cy", min_participants=2, on_conflict="drop-attendee")])
    d.settle()
    _busy(d, "cy", 9)
    d.settle()
    entry = d.entry("a")
    assert entry["start"] == at(9) and entry["participants"] == ["ana", "bo"]


def test_a_conflict_that_leaves_too_few_moves_the_meeting_instead() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo", on_conflict="drop-attendee")])
    d.settle()
    _busy(d, "bo", 9)
    d.settle()
    assert d.entry("a")["start"] == at(10)


def test_a_restart_rebuilds_from_the_store() -> None:
    first = Desk()
    first.ask("add", meetings=[meeting("a", "ana", "bo"), meeting("c", "ana", "cy")])
    first.settle()
    first.ask("cancel", meeting_id="c")
    first.settle()
    again = Desk(store=first.store)  # same store, a new core and new agents
    assert again.entry("a")["status"] == "scheduled" and again.entry("a")["start"] == at(9)
    assert again.entry("c")["status"] == "cancelled"
    assert [w for w, *_ in again.store.commits].count("add") == 2  # nothing added twice


def test_a_restart_negotiates_what_was_pending_and_finishes_moves() -> None:
    store = MemoryStore()
    store.add([("p", meeting("p", "ana", "bo")), ("m", meeting("m", "ana", "cy"))], [("p", "p"), ("m", "m")])
    store.decide(Decision(id="m", scheduled=True, start=datetime.fromisoformat(at(9)),
                          end=datetime.fromisoformat(at(10)), participants=("ana", "cy")))
    store.move_started("m", {"not_before": at(11), "not_after": None})
    d = Desk(store=store)
    assert d.entry("p")["status"] == "scheduled"
    assert d.entry("m")["start"] == at(11) and "move" not in d.entry("m")


def test_the_scenarios_own_meetings_are_stored_once() -> None:
    store = MemoryStore()
    Desk(store=store, meetings=[meeting("own", "ana", "bo")])
    assert store.request("own") is not None
    again = Desk(store=store, meetings=[meeting("own", "ana", "bo")])
    assert [w for w, *_ in store.commits].count("add") == 1
    assert again.entry("own")["status"] == "scheduled"


def test_candidates_that_have_begun_are_left_out_unless_allowed() -> None:
    late = Desk(wall=datetime.fromisoformat(at(10, 0)).astimezone(UTC))
    late.ask("add", meetings=[meeting("a", "ana", "bo")])
    late.settle()
    assert late.entry("a")["start"] == at(10)
    past = Desk(wall=datetime.fromisoformat(at(10, 0)), allow_past=True)
    past.ask("add", meetings=[meeting("a", "ana", "bo")])
    past.settle()
    assert past.entry("a")["start"] == at(9)


def test_list_and_status_count_every_meeting() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo"), meeting("b", "ana", "bo"), meeting("c", "cy")])
    d.settle()
    d.ask("cancel", meeting_id="c")
    listed = d.ask("list")
    assert listed is not None and [e["id"] for e in listed["result"]] == ["a", "b", "c"]
    d.net.now += 2.5
    status = d.ask("status")
    assert status is not None
    result = status["result"]
    assert result["meetings"] == {"scheduled": 2, "failed": 0, "waiting": 0, "cancelled": 1, "pending": 0}
    assert result["participants"]["expected"] == 3 and sorted(result["participants"]["connected"]) == ["ana", "bo", "cy"]
    assert result["uptime_s"] == pytest.approx(d.net.now - (d.desk.started_at or 0.0)) and result["uptime_s"] >= 2.5
    assert result["requests_served"] == 3  # add, cancel, list (this one is counted once answered)


@pytest.mark.parametrize("frame", [b"not json", b"[1]", b'{"v": 99, "id": 1, "op": "list"}',
                                   b'{"v": 1, "id": "x", "op": "list"}', b'{"v": 1, "id": 1, "op": "drop"}',
                                   b'{"v": 1, "id": 1, "op": "add", "meetings": [], "wait": -1}'])
def test_a_frame_that_is_not_a_request_is_answered_invalid(frame: bytes) -> None:
    d = Desk()
    reply = d.desk.request(CLIENT, frame, d.net.now)
    assert reply is not None and not reply["ok"] and reply["kind"] == "invalid"


class Invitations:
    def __init__(self) -> None:
        self.scheduled_ids: list[str] = []
        self.unplaced_ids: list[str] = []  # failed or cancelled (an occurrence's EXDATE)
        self.cancelled_ids: list[str] = []
        self.flushes = 0

    def scheduled(self, decision: Decision, invitation: Any) -> None:
        (self.scheduled_ids if decision.scheduled else self.unplaced_ids).append(decision.id)

    def cancelled(self, meeting_id: str) -> None:
        self.cancelled_ids.append(meeting_id)

    def flush(self) -> None:
        self.flushes += 1

    def occurrences(self, key: str, recurrence: Any) -> list[str]:
        return [key]


def test_invitations_follow_decisions_cancellations_and_restarts() -> None:
    itip = Invitations()
    d = Desk(itip=itip)
    assert d.desk.itip_dirty  # schedule.ics is written at least once
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    d.ask("cancel", meeting_id="a")
    d.settle()
    assert itip.scheduled_ids == ["a"] and itip.cancelled_ids == ["a"]
    d.ask("add", meetings=[meeting("b", "ana", "bo")])
    d.settle()
    again = Invitations()
    Desk(store=d.store, itip=again)
    assert again.scheduled_ids == ["b"] and again.unplaced_ids == ["a"]  # what stands, and what does not
    assert again.flushes == 1  # written once, after every row is known


def test_the_desk_never_holds_a_view_the_core_does_not() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    for meeting_id in d.desk.known():
        view = d.net.core.meeting(meeting_id)
        assert view is not None and view.phase is MeetingPhase.DECIDED
        assert d.desk.entry_status(meeting_id) == "scheduled"


def _wait(d: Desk, seconds: float) -> None:
    """Let `seconds` pass on the fake clock, heartbeats and all (agents stay connected)."""
    net, target = d.net, d.net.now + seconds
    while net.now < target:
        due = [t for t in [net.core.next_deadline(), d.desk.next_deadline()] if t is not None]
        due += [a.next_deadline() for a in net.agents.values()]
        net.now = min([target, *due]) if due else target
        net.act(net.core.tick(net.now))
        for name, agent in list(net.agents.items()):
            net._agent_actions(name, agent.tick(net.now))
        net.pump()
        d.desk.resolve_conflicts(net.now)  # as the shell does after each turn


def test_a_calendar_that_conflicts_after_every_move_moves_its_meeting_only_as_damping_allows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conflicts, "DAY_S", 30.0)  # a short "day", so the test need not live one
    d = Desk(conflict_quiet_s=10, conflict_moves_per_day=2)
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    _busy(d, "bo", 9)
    d.settle()
    assert d.entry("a")["start"] == at(10)  # the first conflict moves it
    _busy(d, "bo", 10)  # and now the new slot conflicts too
    d.settle()
    assert d.entry("a")["start"] == at(10)  # within the quiet window: it waits
    assert d.desk.next_deadline() == pytest.approx(d.net.now + 10, abs=0.5)
    _wait(d, 10)
    d.settle()
    assert d.entry("a")["start"] == at(9)  # the quiet window passed: moved again
    _busy(d, "bo", 9)
    _wait(d, 11)
    d.settle()
    assert d.entry("a")["start"] == at(9)  # two conflict moves this "day" already: not a third
    _wait(d, 30)
    d.settle()
    assert d.entry("a")["start"] != at(9)  # a "day" on, it may move again
    assert [w for w, *_ in d.store.commits].count("move_failed") == 0


def test_repeated_reports_of_one_conflict_are_answered_once() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    moves_before = [w for w, *_ in d.store.commits].count("move")
    for _ in range(5):
        d.desk.observe(ConflictReported(MeetingId("a"), AgentId("bo")))
    _busy(d, "bo", 9)
    d.settle()
    assert [w for w, *_ in d.store.commits].count("move") == moves_before + 1


def test_list_pages_through_every_meeting_in_id_order() -> None:
    d = Desk()
    ids = [f"m{i:02}" for i in range(25)]
    for mid in reversed(ids):  # added in the reverse order: listed by id all the same
        d.ask("add", meetings=[meeting(mid, "ana")])
    d.settle()
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        reply = d.ask("list", limit=10, **({"after": after} if after else {}))
        assert reply is not None and reply["ok"]
        seen += [e["id"] for e in reply["result"]]
        pages += 1
        after = reply["next"]
        if after is None:
            break
        assert after == seen[-1]
    assert seen == ids and pages == 3
    whole = d.ask("list")  # no limit: the first page of at most MAX_PAGE
    assert whole is not None and [e["id"] for e in whole["result"]] == ids and whole["next"] is None
    for bad in ({"limit": 0}, {"limit": admin.MAX_PAGE + 1}, {"limit": "10"}, {"after": 7}):
        refused = d.ask("list", **bad)
        assert refused is not None and refused["kind"] == "invalid", bad


def test_an_occurrence_that_would_take_a_held_meetings_id_is_refused_and_nothing_kept() -> None:
    d = Desk()
    plain = d.ask("add", meetings=[meeting("x@2024-07-22", "ana", "bo")])
    assert plain is not None and plain["ok"]
    commits = len(d.store.commits)
    daily = d.ask("add", meetings=[meeting("x", "ana", "bo", recurrence="FREQ=DAILY;COUNT=2")])
    assert daily is not None and daily["kind"] == "invalid"
    assert "'x@2024-07-22' has the id of a meeting the service holds" in daily["problems"][0]["message"]
    assert len(d.store.commits) == commits  # nothing of it was kept


def test_a_stored_request_that_no_longer_compiles_is_left_out_and_the_service_starts() -> None:
    # An older version admitted a 600-character name; this one refuses it at the door. Its
    # stored request must not stop the service from starting, now or at any restart.
    store = MemoryStore()
    store.add([("old", meeting("old", "ana", "bo", name="n" * 600)), ("good", meeting("good", "ana", "bo"))],
              [("old", "old"), ("good", "good")])
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="ERROR")
    try:
        d = Desk(store=store)
    finally:
        logger.remove(sink)
    assert d.entry("good")["status"] == "scheduled"
    assert d.ask("cancel", meeting_id="old") == {"id": 1, "ok": False, "kind": "unknown", "error": "no meeting 'old'",
                                                "problems": []}
    assert [line for line in lines if "stored request old is left out" in line and "500" in line], lines
    assert store.request("old") is not None  # kept in the store as it was


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                     max_leaves=12)
_requests = st.fixed_dictionaries(
    {"v": st.sampled_from([1, 1, 1, 2, "1"]), "id": st.integers(0, 99) | st.text(max_size=3),
     "op": st.sampled_from(["add", "cancel", "move", "list", "status", "launch"])},
    optional={"meetings": st.lists(st.fixed_dictionaries({"id": st.text(max_size=8)},
                                                         optional={"duration_minutes": _json, "invitees": _json,
                                                                   "recurrence": _json, "name": _json}), max_size=3) | _json,
              "meeting_id": _json, "wait": _json, "limit": _json, "after": _json,
              "not_before": _json, "not_after": _json})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_requests | st.binary(max_size=40).map(lambda b: {"raw": b}), max_size=6))
def test_any_admin_request_is_answered_never_raised(requests: list[dict[str, Any]]) -> None:
    # Fuzzing the admin protocol in process: whatever arrives, the desk answers (or, for a wait,
    # answers later) with an ok or a documented kind, and its meetings stay sound.
    d = Desk()
    for req in requests:
        frame = req["raw"] if "raw" in req else admin.encode(req)
        reply = d.desk.request(CLIENT, frame, d.net.now)
        assert reply is None or reply["ok"] is True or reply["kind"] in {"invalid", "unknown", "conflict", "refused", "busy"}
    d.settle()
    assert d.desk.status(d.net.now)["meetings"]["pending"] == 0


def test_many_stored_requests_that_no_longer_compile_are_said_in_a_few_lines() -> None:
    # 1,000 stored requests naming people this scenario does not have: three are named, the
    # rest counted, and the service starts with the ones that compile.
    store = MemoryStore()
    bad = [(f"m{i}", meeting(f"m{i}", "ana", "zed")) for i in range(1000)]
    store.add([*bad, ("good", meeting("good", "ana", "bo"))], [(i, i) for i, _ in bad] + [("good", "good")])
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    try:
        d = Desk(store=store)
    finally:
        logger.remove(sink)
    assert d.entry("good")["status"] == "scheduled"
    assert len(lines) == 4, lines
    assert "997 more stored requests left out" in lines[-1] and "(1 of 1001 restored)" in lines[-1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(meeting_requests, min_size=1, max_size=4), absent=st.sets(st.sampled_from(PEOPLE), max_size=2))
def test_whatever_an_add_accepts_is_negotiated_and_survives_a_restart(requests: list[dict[str, Any]],
                                                                      absent: set[str]) -> None:
    # `meetings add` either refuses a request with its problems and keeps nothing, or the
    # service negotiates it to an end (placed, or failed with a reason) and starts again on its
    # SQLite store with the same meetings: never an exception from the core, the wire or the store.
    import tempfile
    from pathlib import Path

    from slotwise.coordinator.store import SqliteStore

    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "state.db", "test")
        d = Desk({p: {} for p in PEOPLE}, store=store)  # type: ignore[arg-type]
        for name in absent:
            d.net.kill(AgentId(name))
        reply = d.ask("add", meetings=requests)
        assert reply is not None
        if not reply["ok"]:
            assert reply["kind"] in ("invalid", "busy") and store.requests() == []
            store.close()
            event("refused")
            return
        event("accepted")
        d.settle()
        entries = {e["id"]: e for e in (d.entry(i) for i in d.desk.known())}
        assert entries and all(e["status"] == "scheduled" or e["reason"] for e in entries.values())
        store.close()
        again = Desk({p: {} for p in PEOPLE}, store=SqliteStore(Path(folder) / "state.db", "test"))  # type: ignore[arg-type]
        assert {i: again.entry(i)["status"] for i in again.desk.known()} == {i: e["status"] for i, e in entries.items()}
        again.store.close()


def test_a_meeting_failed_for_an_agent_down_waits_and_is_placed_when_the_agent_is_back() -> None:
    d = Desk({"ana": {}, "bo": {}})
    d.net.kill(AgentId("bo"))
    d.ask("add", meetings=[meeting("sync", "ana", "bo")])
    d.settle()
    entry = d.entry("sync")
    assert entry["status"] == "waiting" and entry["reason"]
    assert d.ask("status")["result"]["meetings"]["waiting"] == 1  # type: ignore[index]
    d.net.start_agent(AgentId("bo"))  # bo's agent restarts and joins again
    d.settle()
    assert d.entry("sync")["status"] == "scheduled" and sorted(d.entry("sync")["participants"]) == ["ana", "bo"]
    assert d.store.status("sync") == "scheduled"
    assert d.ask("status")["result"]["retries"] == 1  # type: ignore[index]


def test_a_cancellation_that_frees_the_only_slot_places_the_meeting_waiting_for_it() -> None:
    d = Desk({"ana": {}, "bo": {}})  # three one-hour slots, 9 to 12
    d.ask("add", meetings=[meeting(f"m{i}", "ana", "bo") for i in range(4)])
    d.settle()
    assert [d.entry(f"m{i}")["status"] for i in range(4)] == ["scheduled"] * 3 + ["waiting"]
    d.ask("cancel", meeting_id="m1")
    d.settle()
    assert d.entry("m3")["status"] == "scheduled" and d.entry("m3")["start"] == at(10)


def test_a_meeting_failed_for_a_full_calendar_is_placed_when_that_calendar_frees_time() -> None:
    full = {"busy": [[at(9), at(12)]]}
    d = Desk({"ana": {}, "bo": full, "cy": full})
    d.ask("add", meetings=[meeting("sync", "ana", "bo"), meeting("other", "ana", "cy")])
    d.settle()
    assert d.entry("sync")["status"] == d.entry("other")["status"] == "waiting"
    # Only where something is busier: no Freed, nothing retried.
    d.net.change_calendar(AgentId("bo"), Availability.model_validate({"busy": [[at(8), at(12)]]}))
    d.settle()
    assert d.desk.retries.made == 0 and not any(isinstance(b, Freed) for _, _, b in d.net.sent)
    d.net.change_calendar(AgentId("bo"), Availability.model_validate({"busy": [[at(9), at(10)], [at(11), at(12)]]}))
    [(sender, freed)] = [(s, b) for s, _, b in d.net.sent if isinstance(b, Freed)]
    assert sender == "bo" and freed.model_dump() == {"type": "freed"}  # that time freed, never where
    d.settle()
    assert d.entry("sync")["status"] == "scheduled" and d.entry("sync")["start"] == at(10)
    # cy's calendar did not change: its meeting was not retried, and its attempts are intact.
    assert d.entry("other")["status"] == "waiting" and d.desk.retries.made == 1


def test_a_cancellation_retries_only_the_waiting_meetings_of_people_it_frees() -> None:
    d = Desk({"ana": {}, "bo": {}, "cy": {}, "dee": {}})  # three one-hour slots, 9 to 12
    d.ask("add", meetings=[meeting(f"m{i}", "ana", "bo") for i in range(4)]
                          + [meeting(f"n{i}", "cy", "dee") for i in range(3)])
    d.settle()
    assert d.entry("m3")["status"] == "waiting"
    d.ask("cancel", meeting_id="n0")  # frees cy and dee: nothing of ana's or bo's
    d.settle()
    assert d.entry("m3")["status"] == "waiting" and d.desk.retries.made == 0
    d.ask("cancel", meeting_id="m0")
    d.settle()
    assert d.entry("m3")["status"] == "scheduled" and d.desk.retries.made == 1


def test_retries_stop_after_their_attempts_and_when_the_window_closes() -> None:
    d = Desk({"ana": {}, "bo": {}}, meetings=[], )
    d.desk.retries.attempts = 1
    d.ask("add", meetings=[meeting(f"m{i}", "ana", "bo") for i in range(5)])
    d.settle()
    assert [d.entry(f"m{i}")["status"] for i in (3, 4)] == ["waiting", "waiting"]
    d.ask("cancel", meeting_id="m0")
    d.settle()  # m3 takes the slot; m4 is tried once and fails again: no attempts left
    assert d.entry("m3")["status"] == "scheduled" and d.entry("m4")["status"] == "failed"
    d.ask("cancel", meeting_id="m1")
    d.settle()
    assert d.entry("m4")["status"] == "failed"  # not tried again on its own
    retried = d.ask("retry", meeting_id="m4", wait=30)
    assert retried is None  # by hand it may be, and the client waits for the outcome
    [(_, reply)] = d.settle()
    assert reply["result"][0]["status"] == "scheduled"
    late = Desk({"ana": {}, "bo": {}})
    late.ask("add", meetings=[meeting(f"m{i}", "ana", "bo") for i in range(4)])
    late.settle()
    late.wall = late.wall.replace(hour=13)  # every slot has begun: its window closed
    late.ask("cancel", meeting_id="m1")
    late.settle()
    assert late.entry("m3")["status"] == "failed"


def test_only_a_failed_meeting_can_be_retried_and_get_shows_one_meeting() -> None:
    d = Desk()
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    refused = d.ask("retry", meeting_id="a")
    assert refused is not None and refused["kind"] == "conflict" and "has not failed (scheduled)" in refused["error"]
    got = d.ask("get", meeting_id="a")
    assert got is not None and [e["id"] for e in got["result"]] == ["a"] and got["result"][0]["status"] == "scheduled"
    assert d.ask("get", meeting_id="nope")["kind"] == "unknown"  # type: ignore[index]


def test_a_relative_horizon_rolls_forward_with_the_days_and_a_restart_keeps_its_grid() -> None:
    # horizon: {days: 2} on DAY: DAY and DAY+1. Two days later the service takes meetings on
    # DAY+2 and DAY+3; restarted then, it still holds the meeting placed on DAY, at its time.
    from datetime import timedelta

    from slotwise.shared.scenario.models import Horizon

    def desk(wall: datetime, store: MemoryStore | None = None) -> Desk:
        store = store or MemoryStore()
        scenario = make_scenario({"ana": {}, "bo": {}}, [], hours=(0, 48), slot=60)
        first = datetime.fromisoformat(store.setting("grid_origin", DAY.isoformat()))  # as serve does
        today = Horizon(start=wall.replace(hour=0), end=wall.replace(hour=0) + timedelta(days=2), days=2)
        return Desk.of(scenario.model_copy(update={"horizon": today.from_origin(first)}), store, wall)

    d = desk(DAY + timedelta(hours=8))
    assert d.ask("add", meetings=[meeting("first", "ana", "bo"),
                                  meeting("windowed", "ana", "bo", not_before=at(14), not_after=at(16))], wait=30) is None
    [(_, placed)] = d.settle()
    assert [e["start"] for e in placed["result"]] == [at(8), at(14)]
    later = meeting("later", "ana", "bo", not_before=at(10, day=3), not_after=at(12, day=3))
    assert d.ask("add", meetings=[later])["kind"] == "invalid"  # type: ignore[index]  # past the horizon, today
    d.wall = DAY + timedelta(days=2, hours=8)
    reply = d.ask("add", meetings=[later], wait=30)
    [(_, answer)] = d.settle() if reply is None else [(CLIENT, reply)]
    assert answer["result"][0]["status"] == "scheduled" and answer["result"][0]["start"] == at(10, day=3)
    status = d.ask("status")["result"]  # type: ignore[index]
    assert status["horizon"] == {"start": at(0, day=2), "end": at(0, day=4)}
    again = desk(DAY + timedelta(days=2, hours=9), store=d.store)  # restarted two days on
    assert again.entry("first")["start"] == at(8) and again.entry("later")["start"] == at(10, day=3)
    assert again.entry("windowed")["start"] == at(14)  # its window lies before today's horizon: kept all the same
    assert again.ask("add", meetings=[meeting("beside", "ana", "bo", not_before=at(10, day=3),
                                              not_after=at(12, day=3))], wait=30) is None
    [(_, beside)] = again.settle()
    assert beside["result"][0]["start"] == at(11, day=3)  # the restored meeting's slot is taken


def test_meetings_whose_time_has_passed_leave_the_core_and_stay_listed_from_the_store() -> None:
    from datetime import timedelta

    d = Desk({"ana": {}, "bo": {}}, wall=DAY + timedelta(hours=8))
    d.ask("add", meetings=[meeting("a", "ana", "bo"), meeting("b", "ana", "bo"),
                           meeting("w", "ana", "bo", not_before=at(9), not_after=at(10))])
    d.settle()
    assert [d.entry(i)["start"] for i in ("a", "b")] == [at(9), at(10)] and d.entry("w")["status"] == "waiting"
    d.wall = DAY + timedelta(hours=11, minutes=30)  # a ended at 10:00, more than an hour ago; b at 11:00
    assert d.desk.archive_ended(d.net.now) == 2  # a, and w: its window has passed, waiting or not
    assert d.desk.known() == ["b"] and d.net.core.meeting(MeetingId("a")) is None
    assert d.desk.archive_ended(d.net.now) == 0  # not looked at again before ARCHIVE_EVERY_S
    listed = d.ask("list")
    assert listed is not None and [e["id"] for e in listed["result"]] == ["b"]
    archived = d.ask("list", archived=True)
    assert archived is not None and archived["next"] is None
    [old, waited] = archived["result"]
    assert waited["id"] == "w" and waited["status"] == "failed" and waited["reason"]
    assert old["id"] == "a" and old["status"] == "scheduled" and old["start"] == at(9) and old["archived"] is True
    assert sorted(old["participants"]) == ["ana", "bo"] and old["invitees"] == ["ana", "bo"]
    again = Desk({"ana": {}, "bo": {}}, store=d.store, wall=d.wall)  # a restart restores what is ahead only
    assert again.desk.known() == ["b"] and again.entry("b")["start"] == at(10)
    d.wall += timedelta(hours=2)
    assert d.desk.archive_ended(d.net.now) == 1 and d.desk.known() == []


def test_within_is_a_window_of_whole_days_from_today_resolved_at_the_door() -> None:
    from datetime import date
    from zoneinfo import ZoneInfo

    from slotwise.coordinator.within import resolve_within

    friday = date(2024, 7, 26)
    [m], problems = resolve_within([{"id": "x", "within": {"working_days": 2}}], friday, ZoneInfo("Europe/Berlin"))
    assert problems == [] and m == {"id": "x", "not_after": "2024-07-30T00:00:00+02:00"}  # Friday and Monday
    d = Desk({"ana": {}, "bo": {}})
    reply = d.ask("add", meetings=[meeting("soon", "ana", "bo", within={"days": 1})])
    assert reply is not None and reply["ok"]
    d.settle()
    assert d.entry("soon")["status"] == "scheduled" and d.store.request("soon")["not_after"] == at(24)
    again = d.ask("add", meetings=[meeting("soon", "ana", "bo", within={"days": 1})])  # the same, the same day
    assert again is not None and again["ok"] and again["result"][0]["start"] == d.entry("soon")["start"]
    bad = d.ask("add", meetings=[meeting("b", "ana", within={"weeks": 1}), meeting("c", "ana", within={"days": 0})])
    assert bad is not None and bad["kind"] == "invalid"
    assert [p["path"] for p in bad["problems"]] == ["meetings[0].within", "meetings[1].within"]


MAILED = {"ana": {"email": "ana@example.org"}, "bo": {"email": "bo@example.org"}, "cy": {"email": "cy@example.org"}}


@pytest.mark.parametrize(("policy", "start", "participants"), [
    ("keep", at(9), ["ana", "bo", "cy"]), ("move", at(10), ["ana", "bo", "cy"]),
    ("drop-attendee", at(9), ["ana", "bo"])])
def test_a_decline_is_answered_by_the_meetings_on_decline(policy: str, start: str, participants: list[str]) -> None:
    """From the organizer's scheduling server (an address) or the attendee's agent (Answer):
    shown with the meeting, and answered by `on_decline`, not `on_conflict`."""
    d = Desk(MAILED)
    d.ask("add", meetings=[meeting("a", "ana", "bo", "cy", min_participants=2, on_decline=policy, on_conflict="keep")])
    d.settle()
    d.desk.answered("a", None, "MAILTO:cy@example.org", "DECLINED", d.net.now)
    d.settle()
    entry = d.entry("a")
    assert (entry["start"], entry["participants"]) == (start, participants)
    assert entry.get("answers", {}).get("cy") == ("declined" if policy != "move" else None)  # a move asks again


def test_a_decline_moves_a_meeting_only_as_often_as_the_damping_allows() -> None:
    d = Desk(MAILED, conflict_quiet_s=10)
    d.ask("add", meetings=[meeting("a", "ana", "bo", on_decline="move")])
    d.settle()
    d.desk.answered("a", None, "mailto:bo@example.org", "DECLINED", d.net.now)
    d.settle()
    assert d.entry("a")["start"] == at(10)
    d.desk.answered("a", None, "mailto:bo@example.org", "DECLINED", d.net.now)  # declines the new time at once
    d.settle()
    assert d.entry("a")["start"] == at(10)  # held back: it moved for bo moments ago
    assert d.entry("a")["answers"] == {"bo": "declined"}
    _wait(d, 10)
    d.settle()
    assert d.entry("a")["start"] == at(9)  # and answered once the quiet time is over (10:00 excluded)


def test_answers_from_strangers_or_to_meetings_not_placed_change_nothing() -> None:
    d = Desk(MAILED)
    d.ask("add", meetings=[meeting("a", "ana", "bo")])
    d.settle()
    d.desk.answered("a", None, "mailto:mallory@example.org", "DECLINED", d.net.now)
    d.desk.answered("nope", None, "mailto:ana@example.org", "DECLINED", d.net.now)
    d.desk.answered("a", None, "mailto:ana@example.org", "MAYBE", d.net.now)  # no such PARTSTAT
    d.settle()
    assert "answers" not in d.entry("a") and d.entry("a")["participants"] == ["ana", "bo"]
    d.desk.answered("a", None, "mailto:ana@example.org", "TENTATIVE", d.net.now)
    assert d.entry("a")["answers"] == {"ana": "tentative"} and d.desk.status(d.net.now)["answers"] == {"tentative": 1}


def test_status_says_what_the_coordinator_could_infer_of_calendars() -> None:
    d = Desk()  # 09:00-12:00 in hours: three one-hour slots each
    d.ask("add", meetings=[meeting("a", "ana", "bo")], wait=30)
    d.settle()
    privacy = d.desk.status(d.net.now)["privacy"]
    # ana and bo answered all three candidates (free: all revealed); cy was asked nothing. The
    # meeting's own hour is the schedule: two of the six revealed slots are that.
    seen = privacy["coordinator"]
    assert seen["revealed"] == round(6 / 9, 4) and seen["beyond_schedule"] == round(4 / 9, 4)
    assert seen["most_revealed"] == [["ana", 1.0], ["bo", 1.0], ["cy", 0.0]]
    assert privacy["attendees"] == {"max": round(1 / 3, 4)}
    # Worked out again only once PRIVACY_EVERY_S has passed: a poll a second later reads the same.
    d.ask("add", meetings=[meeting("b", "cy", "ana")], wait=30)
    d.settle()
    again = d.desk.status(d.net.now + 1)["privacy"]
    assert again["coordinator"] == seen and again["age_s"] >= 1
    later = d.desk.status(d.net.now + PRIVACY_EVERY_S)["privacy"]
    assert later["coordinator"]["revealed"] > seen["revealed"] and later["age_s"] == 0
