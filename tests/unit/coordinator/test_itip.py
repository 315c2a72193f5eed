"""iTIP files named by meeting id: bounded in bytes and one file per id, whatever the id holds
(a 384-byte id once took the service down with `File name too long`, at every restart)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from slotwise.coordinator.itip import ItipWriter
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.slots import Interval

WHEN = Interval(datetime(2024, 7, 22, 9, tzinfo=UTC), datetime(2024, 7, 22, 10, tzinfo=UTC))


def _placed(meeting_id: str) -> Decision:
    return Decision.placed(MeetingId(meeting_id), WHEN, (AgentId("ana"), AgentId("bo")))


@pytest.mark.parametrize("meeting_id", ["中" * 128, "x" * 128, "a/b", "../up", ".hidden", "schedule", "sync"])
def test_every_id_gets_a_short_file_of_its_own(tmp_path: Path, meeting_id: str) -> None:
    writer = ItipWriter(tmp_path)
    writer.scheduled(_placed(meeting_id), "Sync")
    path = writer.path(meeting_id)
    assert path.parent == tmp_path and len(path.name.encode()) <= 200 and path.is_file()
    [event] = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Sync"


def test_ids_that_once_shared_a_file_no_longer_do(tmp_path: Path) -> None:
    writer = ItipWriter(tmp_path)
    ids = ["a/b", "a_b", "schedule", "a:b", "中", "丁"]
    for meeting_id in ids:
        writer.scheduled(_placed(meeting_id), f"title of {meeting_id}")
    writer.publish()
    names = {writer.path(i).name for i in ids}
    assert len(names) == len(ids) and "schedule.ics" not in names
    assert {p.name for p in tmp_path.glob("*.ics")} == names | {"schedule.ics"}
    assert writer.path("sync").name == "sync.ics"  # a plain id keeps its plain name
