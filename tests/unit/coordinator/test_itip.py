"""iTIP files named by meeting id: bounded in bytes and one file per id, whatever the id holds
(a 384-byte id once took the service down with `File name too long`, at every restart)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from slotwise.coordinator.invitation import Invitation
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
    writer.scheduled(_placed(meeting_id), Invitation("Sync"))
    writer.flush()
    path = writer.path(meeting_id)
    assert path.parent == tmp_path and len(path.name.encode()) <= 200 and path.is_file()
    [event] = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Sync"


def test_ids_that_once_shared_a_file_no_longer_do(tmp_path: Path) -> None:
    writer = ItipWriter(tmp_path)
    ids = ["a/b", "a_b", "schedule", "a:b", "中", "丁"]
    for meeting_id in ids:
        writer.scheduled(_placed(meeting_id), Invitation(f"title of {meeting_id}"))
    writer.flush()
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
    writer.scheduled(_placed("sync"), Invitation("Sync", (900, 86400)))
    writer.flush()
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
    writer.flush()
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
        first.scheduled(_placed(meeting_id), Invitation(meeting_id))
    first.flush()
    first.publish()
    second = ItipWriter(tmp_path)  # the next run places only one of them
    second.scheduled(_placed("stays"), Invitation("stays"))
    second.flush()
    assert second.retire() == 2
    methods = {p.name: str(icalendar.Calendar.from_ical(p.read_bytes())["METHOD"]) for p in tmp_path.glob("*.ics")}
    assert methods.pop("stays.ics") == "REQUEST" and methods.pop("schedule.ics") == "PUBLISH"
    assert set(methods.values()) == {"CANCEL"} and len(methods) == 2
    [gone] = icalendar.Calendar.from_ical(second.path("goes").read_bytes()).walk("VEVENT")
    assert int(gone["SEQUENCE"]) == 1
    assert ItipWriter(tmp_path).retire() == 1  # "stays" was not scheduled by this writer; the CANCELs stand


def test_a_series_stays_one_event_through_moves_and_cancellations(tmp_path: Path) -> None:
    """The live service changes a series an occurrence at a time: the master keeps its time
    (RECURRENCE-IDs stay put), a cancelled occurrence becomes an EXDATE, SEQUENCE goes up with
    every change, and the last occurrence cancelled makes the whole series a CANCEL."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from slotwise.shared.events import Directory

    berlin = ZoneInfo("Europe/Berlin")
    instances = tuple(datetime(2024, 10, 22, tzinfo=berlin) + timedelta(weeks=k) for k in range(3))
    ids = [f"sync@{i.date().isoformat()}" for i in instances]

    def invitation(k: int) -> Invitation:
        return Invitation(f"Sync ({k})", (), f"{ids[k]}@x.org", "sync", "Sync", instances[k],
                          "FREQ=WEEKLY;COUNT=3", instances)

    def at(k: int, hour: int) -> Decision:
        start = instances[k].replace(hour=hour)
        return Decision.placed(MeetingId(ids[k]), Interval(start, start + timedelta(hours=1)),
                               (AgentId("ana"), AgentId("bo")))

    def read() -> tuple[str, list[icalendar.cal.Component]]:
        cal = icalendar.Calendar.from_ical(writer.path("sync").read_bytes())
        return str(cal["METHOD"]), list(cal.walk("VEVENT"))

    writer = ItipWriter(tmp_path, Directory(berlin, uid_domain="x.org"))
    for k in range(3):
        writer.scheduled(at(k, 10), invitation(k))
    writer.flush()
    method, [master] = read()
    assert method == "REQUEST" and str(master["UID"]) == "sync@x.org" and int(master["SEQUENCE"]) == 0
    assert master.decoded("DTSTART") == instances[0].replace(hour=10) and "RRULE" in master
    writer.scheduled(at(1, 15), invitation(1))  # moved for a conflict
    writer.flush()
    method, [master, moved] = read()
    assert int(master["SEQUENCE"]) == int(moved["SEQUENCE"]) == 1
    assert master.decoded("DTSTART").hour == 10 and moved.decoded("RECURRENCE-ID") == instances[1].replace(hour=10)
    assert moved.decoded("DTSTART") == instances[1].replace(hour=15)
    writer.flush()  # nothing new: nothing written
    assert int(read()[1][0]["SEQUENCE"]) == 1
    writer.cancelled(ids[0])
    writer.flush()
    method, [master, moved] = read()
    assert [d.dt for d in master["EXDATE"].dts] == [instances[0].replace(hour=10)] and int(master["SEQUENCE"]) == 2
    writer.cancelled(ids[1])
    writer.cancelled(ids[2])
    writer.flush()
    method, [gone] = read()
    assert method == "CANCEL" and str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 3
    assert "RECURRENCE-ID" not in gone  # the whole series
