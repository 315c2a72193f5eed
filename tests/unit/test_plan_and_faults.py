"""Regression tests for the plan, the decision record, the core's error state and bounded input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgpack
import pytest

from slotwise.coordinator.journal import Journal, read_journal
from slotwise.coordinator.negotiation import Negotiation, Phase
from slotwise.coordinator.outcome import RunResult, RunStats
from slotwise.coordinator.plan import compile_plan, load_plan
from slotwise.report.results import Results
from slotwise.shared.errors import CoreError, DecodeError, ProtocolError, ScenarioError
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.codec import Encoder, decode
from slotwise.shared.wire.gate import Gate
from slotwise.shared.wire.messages import PROTOCOL_VERSION, Hello
from tests.helpers import make_scenario, scenario_dict, write_scenario
from tests.unit.fakenet import FakeNetwork


def test_a_rule_minimum_is_what_is_enforced_and_reported() -> None:
    # The rule says 2 of 3; the meeting says nothing. Placed with 2, and reported as needing 2.
    s = make_scenario({"a": {}, "b": {}, "c": {"busy": [["2024-07-22T00:00:00Z", "2024-07-23T00:00:00Z"]]}},
                      [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b", "c"],
                        "rule": {"min_participants": 2}}])
    net = FakeNetwork(s)
    (d,) = net.run()
    assert d.scheduled and d.participants == ("a", "b")
    doc = Results.build(net.plan, RunResult([d], ("a", "b", "c"), (), RunStats())).document()
    assert doc["meetings"][0]["min_participants"] == 2
    assert list(doc["meetings"][0])[:7] == ["id", "name", "scheduled", "start", "end", "participants", "reason"]


def test_several_instances_a_day_get_their_own_ids(tmp_path: Path) -> None:
    data = scenario_dict({"a": {}}, [{"id": "standup", "duration_minutes": 15, "invitees": ["a"],
                                      "recurrence": "FREQ=DAILY;BYHOUR=9,14;COUNT=4"}], hours=(0, 72))
    _, plan = load_plan(write_scenario(tmp_path / "s.yaml", data))
    ids = [m.id for m in plan.meetings]
    assert ids == ["standup@2024-07-22T09:00", "standup@2024-07-22T14:00",
                   "standup@2024-07-23T09:00", "standup@2024-07-23T14:00"]
    assert len({m.title for m in plan.meetings}) == 4


@pytest.mark.parametrize("where, rule", [
    ("meetings", "FREQ=SECONDLY"),
    ("participants", "FREQ=MINUTELY"),
])
def test_recurrence_finer_than_hourly_is_a_validation_error(tmp_path: Path, where: str, rule: str) -> None:
    if where == "meetings":
        data = scenario_dict({"a": {}}, [{"id": "m", "duration_minutes": 15, "invitees": ["a"], "recurrence": rule}])
    else:
        window = {"rrule": rule, "start": "2024-07-22T09:00:00Z", "end": "2024-07-22T09:05:00Z"}
        data = scenario_dict({"a": {"available": [window]}}, [{"id": "m", "duration_minutes": 15, "invitees": ["a"]}])
    with pytest.raises(ScenarioError, match="more often than hourly"):
        load_plan(write_scenario(tmp_path / "s.yaml", data))


def test_too_many_occurrences_is_an_error_not_a_silent_cut(tmp_path: Path) -> None:
    data = scenario_dict({"a": {}}, [{"id": "m", "duration_minutes": 15, "invitees": ["a"],
                                      "recurrence": "FREQ=HOURLY"}], hours=(0, 24 * 60))
    with pytest.raises(ScenarioError, match="more than 1000 occurrences"):
        load_plan(write_scenario(tmp_path / "s.yaml", data))


def test_a_bug_in_the_core_stops_it_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_scenario({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}])
    net = FakeNetwork(s)

    def broken(*args: object) -> None:
        raise AssertionError("a would be double-booked")

    monkeypatch.setattr(net.core.ledger, "book", broken)
    with pytest.raises(CoreError, match="double-booked"):
        net.run()
    assert net.core.phase is Phase.ERROR
    with pytest.raises(CoreError, match="stopped after an internal error"):
        net.core.tick(net.now + 1)
    assert "ERROR" in net.core.describe() and "HOLDING" in net.core.describe()


def test_a_replayed_hello_is_dropped_before_it_can_rebind() -> None:
    s = make_scenario({"a": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a"]}])
    plan = compile_plan(s)
    core, gate = Negotiation(plan), Gate(plan.participants)
    core.start(0.0)
    alice = Encoder(AgentId("a"))
    frame = alice.encode(Hello(name="a"))
    core.receive(gate.admit(frame, "a"), 0.0)
    assert gate.guard.session(AgentId("a")) == alice.session
    with pytest.raises(ProtocolError, match="duplicate or replayed"):
        gate.admit(frame, "a")


def test_deep_nesting_is_a_decode_error_not_a_recursion_error() -> None:
    x: object = 1
    for _ in range(1000):
        x = [x]
    with pytest.raises(DecodeError):
        decode(msgpack.packb({"v": x}))


def test_a_million_wrong_items_are_refused_before_pydantic() -> None:
    frame = msgpack.packb({"v": PROTOCOL_VERSION, "type": "availability_response", "sender": "a", "session": "s", "seq": 1,
                           "body": {"meeting_id": "m", "round": 1, "available": [1] * 1_000_000}})
    with pytest.raises(DecodeError, match=r"items|max_array_len"):
        decode(frame)


@pytest.mark.parametrize("field", [
    [{"a": 1}] * 50_000,  # many small maps
    [msgpack.ExtType(5, b"x")] * 50_000,  # many extension values
])
def test_many_containers_or_exts_are_refused_at_the_first_extra(field: object) -> None:
    frame = msgpack.packb({"v": PROTOCOL_VERSION, "type": "hello", "sender": "a", "session": "s", "seq": 1,
                           "body": {"name": "a", "accepted": field}})
    with pytest.raises(DecodeError, match=r"more than 4 maps|extension type 5"):
        decode(frame)


def test_journal_survives_a_second_resume_after_a_torn_line(tmp_path: Path) -> None:
    s = make_scenario({"a": {}}, [{"id": f"m{i}", "duration_minutes": 30, "invitees": ["a"]} for i in range(3)])
    decisions = FakeNetwork(s).run()
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, s.name)
    journal.record(decisions[0])
    journal.close()
    with path.open("a") as f:
        f.write('{"id": "m1", "sched')  # the crash came mid-write
    journal = Journal(path, s.name)  # resumed: the torn fragment is cut off first
    journal.record(decisions[1])
    journal.close()
    assert read_journal(path, s.name) == decisions[:2]


def test_one_import_name_and_a_light_plugin(tmp_path: Path) -> None:
    code = (
        "import importlib.util, sys\n"
        "assert all(importlib.util.find_spec(n) is None for n in ('shared', 'coordinator', 'participant'))\n"
        "import slotwise.testing.pytest_plugin\n"
        "heavy = [m for m in ('zmq', 'pydantic', 'yaml', 'slotwise.testing.harness') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import slotwise\n"
        "assert slotwise.example_scenario('tutorial').is_file()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
