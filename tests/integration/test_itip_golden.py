"""The iTIP files of a Berlin scenario, against files checked by hand and by two servers.

The scenario (tests/data/golden/berlin.yaml) has what clients trip over: a zone with a DST change
inside the horizon, reminders, an organizer and people with and without addresses, and a weekly
meeting with one occurrence placed at another time (an override) and one not placed (an EXDATE).
The files must equal the golden ones but for DTSTAMP, say in their own terms what the results
file says (expanded as a client expands them), and import into Radicale and Xandikos as
calendar programs put them there. Regenerate the golden files with SLOTWISE_REGOLD=1 after a deliberate change,
and read the diff."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from tests.helpers import REPO
from tests.integration.conftest import run_cli
from tests.radicale_server import Radicale, radicale
from tests.xandikos_server import Xandikos, xandikos

GOLDEN = REPO / "tests" / "data" / "golden"
SCENARIO = GOLDEN / "berlin.yaml"
STAMP = re.compile(rb"^DTSTAMP:\d{8}T\d{6}Z\r?$", re.MULTILINE)
HORIZON = (datetime.fromisoformat("2024-10-21T00:00:00+02:00"), datetime.fromisoformat("2024-11-16T00:00:00+01:00"))


def _normal(data: bytes) -> bytes:
    return STAMP.sub(b"DTSTAMP:(when written)", data)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("golden")
    done = run_cli("run", str(SCENARIO), "--ics-out", str(out / "itip"), "--out", str(out / "results.json"), "-q")
    assert done.returncode == 0, done.stderr
    return out / "itip", json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with radicale(tmp_path_factory.mktemp("radicale")) as running:
        yield running


@pytest.fixture(scope="module")
def scheduling_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Xandikos]:
    with xandikos(tmp_path_factory.mktemp("xandikos"), users=("di",)) as running:
        yield running


def test_the_files_are_the_golden_ones(written: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = written
    if os.environ.get("SLOTWISE_REGOLD"):
        for path in folder.glob("*.ics"):
            (GOLDEN / "itip" / path.name).write_bytes(_normal(path.read_bytes()))
    names = sorted(p.name for p in folder.glob("*.ics"))
    assert names == sorted(p.name for p in (GOLDEN / "itip").glob("*.ics")) == ["kickoff.ics", "schedule.ics",
                                                                               "team-sync.ics"]
    for name in names:
        assert _normal((folder / name).read_bytes()) == (GOLDEN / "itip" / name).read_bytes(), name


def _instances(cal: icalendar.Calendar) -> dict[str, list[tuple[datetime, datetime, list[str]]]]:
    """Each event's instances as a client shows them: the series expanded, overrides applied."""
    from slotwise.shared.events import meeting_of

    out: dict[str, list[tuple[datetime, datetime, list[str]]]] = {}
    for ev in recurring_ical_events.of(cal).between(*HORIZON):
        who = ev.get("ATTENDEE")
        out.setdefault(meeting_of(ev) or "", []).append(
            (ev.decoded("DTSTART"), ev.decoded("DTEND"), sorted(str(a) for a in (who if isinstance(who, list) else [who]))))
    return {k: sorted(v) for k, v in out.items()}


def _expected(results: dict[str, Any]) -> dict[str, list[tuple[datetime, datetime, list[str]]]]:
    mail = {"ana": "mailto:ana@example.org", "bo": "mailto:bo@example.org", "cem": "mailto:cem@slotwise.invalid"}
    out: dict[str, list[tuple[datetime, datetime, list[str]]]] = {}
    for m in results["meetings"]:
        if m["scheduled"]:
            out.setdefault(m["series"] or m["id"], []).append(
                (datetime.fromisoformat(m["start"]), datetime.fromisoformat(m["end"]),
                 sorted(mail[p] for p in m["participants"])))
    return {k: sorted(v) for k, v in out.items()}


def test_the_files_say_what_the_results_say_as_a_client_reads_them(written: tuple[Path, dict[str, Any]]) -> None:
    folder, results = written
    placed = {m["id"]: m for m in results["meetings"]}
    assert not placed["team-sync@2024-11-05"]["scheduled"]  # the scenario's point: one not placed
    local = {k: datetime.fromisoformat(placed[k]["start"]).astimezone(ZoneInfo("Europe/Berlin")).time()
             for k in ("team-sync@2024-10-22", "team-sync@2024-10-29")}
    assert local["team-sync@2024-10-22"] != local["team-sync@2024-10-29"]  # and one placed at another time
    got: dict[str, list[tuple[datetime, datetime, list[str]]]] = {}
    for name in ("kickoff.ics", "team-sync.ics"):
        cal = icalendar.Calendar.from_ical((folder / name).read_bytes())
        assert str(cal["METHOD"]) == "REQUEST" and [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
        for ev in cal.walk("VEVENT"):
            assert ev["DTSTART"].params["TZID"] == "Europe/Berlin" and str(ev["UID"]).endswith("@team.example.org")
            assert str(ev["ORGANIZER"]) == "mailto:ops@example.org"
        got |= _instances(cal)
    assert got == _expected(results)
    [master, moved] = icalendar.Calendar.from_ical((folder / "team-sync.ics").read_bytes()).walk("VEVENT")
    assert "RRULE" in master and len(master["EXDATE"].dts) == 1 and "RECURRENCE-ID" in moved
    assert sorted(a.decoded("TRIGGER").total_seconds() for a in master.walk("VALARM")) == [-86400, -900]
    [kickoff] = icalendar.Calendar.from_ical((folder / "kickoff.ics").read_bytes()).walk("VEVENT")
    assert [a.decoded("TRIGGER").total_seconds() for a in kickoff.walk("VALARM")] == [-1800]  # its own remind
    assert _instances(icalendar.Calendar.from_ical((folder / "schedule.ics").read_bytes())) == got


def test_the_files_import_into_a_caldav_server_as_the_same_instances(written: tuple[Path, dict[str, Any]],
                                                                     server: Radicale) -> None:
    folder, results = written
    for name in ("kickoff.ics", "team-sync.ics"):
        assert server.upload("alice", folder / name, "golden") == 1  # one resource each: a series is one event
    cal = server.calendar("alice", "golden")
    stored = icalendar.Calendar()
    for obj in cal.events():  # what the server kept, read back as a client would
        for component in icalendar.Calendar.from_ical(obj.data).subcomponents:
            stored.add_component(component)
    assert _instances(stored) == _expected(results)
    found = cal.search(start=HORIZON[0], end=HORIZON[1], event=True, expand=True)  # the server's own expansion
    assert len(found) == sum(len(v) for v in _expected(results).values())


def test_the_files_import_into_a_scheduling_server_as_the_same_instances(
        written: tuple[Path, dict[str, Any]], scheduling_server: Xandikos) -> None:
    """Xandikos checks what it is given more strictly (it is a scheduling server); imported by
    someone who is not an attendee, so it schedules nothing."""
    folder, results = written
    cal = scheduling_server.calendar("di")
    for name in ("kickoff.ics", "team-sync.ics"):
        data = icalendar.Calendar.from_ical((folder / name).read_bytes())
        data.pop("METHOD")  # a calendar resource carries no METHOD (RFC 4791 4.1)
        cal.save_event(data.to_ical().decode())
    stored = icalendar.Calendar()
    for obj in cal.events():
        for component in icalendar.Calendar.from_ical(obj.data).subcomponents:
            stored.add_component(component)
    assert len(cal.events()) == 2 and _instances(stored) == _expected(results)
    found = cal.search(start=HORIZON[0], end=HORIZON[1], event=True, expand=True)
    assert len(found) == sum(len(v) for v in _expected(results).values())
