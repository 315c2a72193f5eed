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


def test_invitations_carry_zone_addresses_organizer_and_reminders_as_clients_read_them(tmp_path: Path) -> None:
    """A Berlin scenario: DTSTART with TZID and its VTIMEZONE, real mailto: addresses with CN
    (one participant without an email keeps the reserved .invalid form), the organizer named,
    a VALARM per reminder; the CANCEL that follows carries no alarm."""
    from zoneinfo import ZoneInfo

    from slotwise.shared.events import Directory, Person

    berlin = ZoneInfo("Europe/Berlin")
    people = {"ana": Person("ana@example.org", "Ana Lima")}
    writer = ItipWriter(tmp_path, Directory(berlin, people, Person("ops@example.org", "Ops team")))
    writer.scheduled(_placed("sync"), "Sync", (900, 86400))
    cal = icalendar.Calendar.from_ical(writer.path("sync").read_bytes())
    assert str(cal["METHOD"]) == "REQUEST"
    [tz] = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/Berlin" and {c.name for c in tz.subcomponents} == {"STANDARD", "DAYLIGHT"}
    [event] = cal.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART") == WHEN.start and event.decoded("DTSTART").hour == 11  # 09:00 UTC in July
    assert str(event["ORGANIZER"]) == "mailto:ops@example.org" and event["ORGANIZER"].params["CN"] == "Ops team"
    attendees = {str(a): a.params["CN"] for a in event["ATTENDEE"]}
    assert attendees == {"mailto:ana@example.org": "Ana Lima", "mailto:bo@slotwise.invalid": "bo"}
    triggers = sorted(a.decoded("TRIGGER").total_seconds() for a in event.walk("VALARM"))
    assert triggers == [-86400, -900] and all(str(a["ACTION"]) == "DISPLAY" for a in event.walk("VALARM"))
    writer.cancelled("sync")
    cancel = icalendar.Calendar.from_ical(writer.path("sync").read_bytes())
    [event] = cancel.walk("VEVENT")
    assert str(cancel["METHOD"]) == "CANCEL" and event.walk("VALARM") == [] and cancel.walk("VTIMEZONE")
    assert int(event["SEQUENCE"]) == 1


def test_a_scenario_names_its_organizer_and_its_people_addresses() -> None:
    from slotwise.shared.events import Directory
    from tests.helpers import make_scenario

    s = make_scenario({"ana": {"email": "ana@example.org", "display_name": "Ana Lima"}, "bo": {}}, [])
    assert Directory.of(s).address("ana") == "mailto:ana@example.org"
    assert Directory.of(s).address("bo") == "mailto:bo@slotwise.invalid" and Directory.of(s).organizer is None
    from slotwise.shared.scenario import Scenario
    from tests.helpers import scenario_dict

    data = scenario_dict({"ana": {"email": "not an address"}}, [])
    with pytest.raises(ValueError, match="email"):
        Scenario.model_validate(data)
    named = Scenario.model_validate({**scenario_dict({"ana": {}}, []), "organizer": {"name": "Ops", "email": "o@x.org"}})
    assert Directory.of(named).organizer is not None and Directory.of(named).organizer.email == "o@x.org"


def test_a_meeting_gone_since_the_last_run_gets_its_cancel(tmp_path: Path) -> None:
    first = ItipWriter(tmp_path)
    for meeting_id in ("stays", "goes", "中" * 40):
        first.scheduled(_placed(meeting_id), meeting_id)
    first.publish()
    second = ItipWriter(tmp_path)  # the next run places only one of them
    second.scheduled(_placed("stays"), "stays")
    assert second.retire() == 2
    methods = {p.name: str(icalendar.Calendar.from_ical(p.read_bytes())["METHOD"]) for p in tmp_path.glob("*.ics")}
    assert methods.pop("stays.ics") == "REQUEST" and methods.pop("schedule.ics") == "PUBLISH"
    assert set(methods.values()) == {"CANCEL"} and len(methods) == 2
    [gone] = icalendar.Calendar.from_ical(second.path("goes").read_bytes()).walk("VEVENT")
    assert int(gone["SEQUENCE"]) == 1
    assert ItipWriter(tmp_path).retire() == 1  # "stays" was not scheduled by this writer; the CANCELs stand
