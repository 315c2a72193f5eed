"""The batch journal: a torn last line is dropped, and a run resumes more than once from what
was written."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.coordinator.journal import Journal, read_journal
from tests.helpers import make_scenario
from tests.unit.fakenet import FakeNetwork

S = make_scenario({"a": {}, "b": {}, "c": {}}, [
    {"id": "m1", "duration_minutes": 60, "invitees": ["a", "b"], "priority": 2},
    {"id": "m2", "duration_minutes": 60, "invitees": ["b", "c"], "priority": 1},
    {"id": "m3", "duration_minutes": 60, "invitees": ["a", "c"], "min_participants": 3 - 1},
])


def test_journal_round_trip_and_torn_last_line(tmp_path: Path) -> None:
    outcomes = FakeNetwork(S).run()
    path = tmp_path / "j.jsonl"
    journal = Journal(path, S.name)
    for o in outcomes:
        journal.record(o)
    journal.close()
    assert read_journal(path, S.name) == outcomes
    with path.open("a") as f:
        f.write('{"meeting": "m4", "sched')  # the crash came mid-write
    assert read_journal(path, S.name) == outcomes
    with pytest.raises(ValueError, match="journal of scenario 'test', not 'other'"):
        read_journal(path, "other")


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
