"""Agents read their owners' calendars from a real CalDAV server (Radicale, started here)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from slotwise.participant.calendars.caldav import CalDavReader
from slotwise.participant.calendars.ics import busy_from_ics
from slotwise.shared.errors import CalendarError
from slotwise.shared.scenario import CalDavSpec, load_scenario
from slotwise.shared.slots import Interval
from tests.helpers import REPO
from tests.integration.conftest import Children, run_cli, until
from tests.radicale_server import USERS, Radicale, radicale

# Every sample with events. A VFREEBUSY is not something a CalDAV calendar stores (RFC 4791 4.1:
# events, to-dos and journals), so the free/busy sample has no server counterpart.
SAMPLES = sorted(p for p in (REPO / "tests" / "data" / "ics").glob("*.ics") if b"BEGIN:VEVENT" in p.read_bytes())
# Every sample's events begin between 2016 and 2023. A window well inside the expansion's bounds:
# over 2000-2032 the endless weekday series of x_location takes over half the CPU budget, and on a
# busy machine one side could be cut a slice before the other.
WINDOW = Interval(datetime(2015, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with radicale(tmp_path_factory.mktemp("radicale")) as running:
        yield running


def spec(server: Radicale, user: str, **extra: object) -> CalDavSpec:
    return CalDavSpec.model_validate({"url": server.url, "username": user,
                                      "password_file": str(server.password_file(user)), **extra})


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_busy_time_over_caldav_equals_busy_time_from_the_same_file(server: Radicale, sample: Path) -> None:
    cal_id = sample.stem.replace("_", "-")
    assert server.upload("alice", sample, cal_id) > 0
    zone = ZoneInfo("Europe/Berlin")
    reader = CalDavReader(spec(server, "alice", calendars=[cal_id])).open()
    over_caldav = sorted(reader.busy(WINDOW, zone), key=lambda i: (i.start, i.end))
    from_file = sorted(busy_from_ics(sample, WINDOW, zone), key=lambda i: (i.start, i.end))
    assert over_caldav == from_file
    assert from_file  # the comparison is not vacuous


def test_the_server_address_finds_every_calendar_and_a_calendar_address_finds_one(server: Radicale) -> None:
    server.calendar("bob", "home")
    server.calendar("bob", "work")
    reader = CalDavReader(spec(server, "bob")).open()
    assert reader._tokens and all(reader._tokens)
    assert reader.changed() is False  # nothing changed: the tokens say so
    found = reader.calendars
    assert {str(c.url).rstrip("/").rsplit("/", 1)[-1] for c in found} >= {"home", "work"}
    one = CalDavReader(spec(server, "bob", url=f"{server.url}bob/home/")).open().calendars
    assert [str(c.url).rstrip("/").rsplit("/", 1)[-1] for c in one] == ["home"]
    with pytest.raises(CalendarError, match="no calendar 'nope'"):
        CalDavReader(spec(server, "bob", calendars=["nope"])).open()


def test_a_wrong_password_and_an_unreachable_server_are_clear_errors(server: Radicale, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-it")
    bad = CalDavSpec(url=server.url, username="alice", password_file=str(wrong))
    with pytest.raises(CalendarError, match="refused the login as 'alice'") as refused:
        CalDavReader(bad).open()
    assert "not-it" not in str(refused.value)
    with pytest.raises(CalendarError, match="cannot reach the server"):
        CalDavReader(CalDavSpec(url="http://127.0.0.1:9/", username="alice", password_file=str(wrong))).open()
    with pytest.raises(CalendarError, match="SLOTWISE_NO_SUCH_VARIABLE is not set"):
        CalDavReader(CalDavSpec(url=server.url, username="alice", password_env="SLOTWISE_NO_SUCH_VARIABLE")).open()


def test_an_agent_with_a_wrong_password_exits_2_saying_why(server: Radicale, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("wrong")
    availability = tmp_path / "alice.yaml"
    availability.write_text(yaml.safe_dump({"caldav": {"url": server.url, "username": "alice",
                                                       "password_file": "pw"}}))
    done = run_cli("participant", "--connect", f"ipc://{tmp_path}/nobody", "--name", "alice",
                   "--availability", str(availability), timeout=60)
    assert done.returncode == 2, done.stderr
    assert "refused the login as 'alice'" in done.stderr and "wrong" not in done.stderr.replace("wrong user", "")
    assert "Traceback" not in done.stderr


def test_a_servers_error_text_cannot_forge_a_log_line(tmp_path: Path) -> None:
    # Whatever a server answers reaches the log as one line of ours: its line breaks are
    # written as escapes, so its text cannot pass for a line the agent or coordinator wrote.
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    forged = b"oops\r\n12:00:00.000 INFO    coordinator: meeting placed\r\n"

    class _Hostile(BaseHTTPRequestHandler):
        def _any(self) -> None:
            self.send_response(500)
            self.send_header("Content-Length", str(len(forged)))
            self.end_headers()
            self.wfile.write(forged)

        do_GET = do_PROPFIND = do_REPORT = _any

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    hostile = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=hostile.serve_forever, daemon=True).start()
    availability = tmp_path / "alice.yaml"
    availability.write_text(yaml.safe_dump({"caldav": {"url": f"http://127.0.0.1:{hostile.server_address[1]}/"}}))
    try:
        done = run_cli("participant", "--connect", f"ipc://{tmp_path}/nobody", "--name", "alice",
                       "--availability", str(availability), timeout=60)
    finally:
        hostile.shutdown()
        hostile.server_close()
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "oops\\n12:00:00.000 INFO" in line and "calendar:" in line


def test_in_an_agent_host_one_wrong_password_stops_that_agent_alone(server: Radicale, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("wrong")
    scenario = tmp_path / "host.yaml"
    scenario.write_text(yaml.safe_dump({
        "name": "host", "timezone": "UTC", "slot_minutes": 60, "negotiation": {"join_timeout_s": 3},
        "horizon": {"start": "2024-07-22T08:00:00Z", "end": "2024-07-22T17:00:00Z"},
        "participants": {"anna": {"caldav": {"url": server.url, "username": "alice", "password_file": "pw"}},
                         "ben": {}, "cara": {}},
        "meetings": [{"id": "pair", "duration_minutes": 60, "invitees": ["ben", "cara"]},
                     {"id": "with-anna", "duration_minutes": 60, "invitees": ["anna", "ben"],
                      "rule": {"required": ["anna"]}}],
    }))
    out = tmp_path / "results.json"
    done = run_cli("run", str(scenario), "--hosts", "1", "--out", str(out), timeout=120)
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(out.read_text())
    by_id = {m["id"]: m for m in doc["meetings"]}
    assert by_id["pair"]["scheduled"]  # the host's other agents negotiated as usual
    assert not by_id["with-anna"]["scheduled"] and "anna never joined" in by_id["with-anna"]["reason"]
    assert doc["participants"]["missing"] == ["anna"]
    said = [line for line in done.stderr.splitlines() if "this agent does not join" in line]
    assert len(said) == 1 and "anna: calendar:" in said[0] and "refused the login" in said[0]


def test_a_negotiation_avoids_what_is_in_the_calendar(server: Radicale, tmp_path: Path) -> None:
    cal = server.calendar("carol", "work")
    cal.save_event("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
                   "UID:dentist-1\r\nDTSTAMP:20240701T000000Z\r\nDTSTART:20240722T090000Z\r\n"
                   "DTEND:20240722T110000Z\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    scenario = tmp_path / "caldav.yaml"
    scenario.write_text(yaml.safe_dump({
        "name": "caldav", "timezone": "UTC", "slot_minutes": 60,
        "horizon": {"start": "2024-07-22T08:00:00Z", "end": "2024-07-22T17:00:00Z"},
        "participants": {"carol": {"caldav": {"url": server.url, "username": "carol",
                                              "password_file": str(server.password_file("carol"))}},
                         "dave": {}},
        "meetings": [{"id": "sync", "duration_minutes": 60, "invitees": ["carol", "dave"],
                      "not_before": "2024-07-22T09:00:00Z"}],
    }))
    assert USERS["carol"] not in scenario.read_text()
    out = tmp_path / "results.json"
    done = run_cli("run", str(scenario), "--out", str(out), "-q", timeout=120)
    assert done.returncode == 0, done.stderr
    [m] = json.loads(out.read_text())["meetings"]
    assert m["scheduled"] and m["start"] == "2024-07-22T11:00:00+00:00"  # 09:00-11:00 is the dentist
    assert load_scenario(scenario).participants["carol"] is not None


def _events(server: Radicale, user: str, cal_id: str = "work") -> dict[str, Any]:
    import icalendar

    from slotwise.shared.events import meeting_of

    out: dict[str, Any] = {}  # slotwise's events by their meeting, others by UID
    for obj in server.calendar(user, cal_id).events():
        for ev in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            out.setdefault(meeting_of(ev) or str(ev["UID"]), []).append(ev)
    return out


def _live(children: Children, people: dict[str, Any], **extra: Any) -> Any:
    """`serve` on a two-day live scenario of `people`, every agent started and connected."""
    from tests.integration.test_serve import DAY, Service

    path = children.workdir / "live.yaml"
    path.write_text(yaml.safe_dump({
        "name": "live", "timezone": "UTC", "slot_minutes": 60,
        "horizon": {"start": DAY.isoformat(), "end": (DAY + timedelta(days=2)).isoformat()},
        "participants": people, "meetings": [], **extra,
        "negotiation": {"join_timeout_s": 10, "response_timeout_s": 2, "hold_timeout_s": 2, "heartbeat_s": 0.25},
    }))
    svc = Service(children, path, tuple(people))
    svc.start()
    for who in people:
        svc.agent(who)
    svc.wait_connected(len(people))
    return svc


def test_agreed_meetings_are_written_once_moved_and_cancelled(server: Radicale, children: Children) -> None:
    from tests.integration.test_serve import DAY, at, meeting

    server.calendar("carol", "work").save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//someone else//EN\r\nBEGIN:VEVENT\r\nUID:theirs-1\r\n"
        f"DTSTAMP:20240701T000000Z\r\nDTSTART:{DAY:%Y%m%d}T060000Z\r\nDTEND:{DAY:%Y%m%d}T070000Z\r\n"
        "SUMMARY:Not ours\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    people = {who: {"caldav": {"url": server.url, "username": who, "calendars": ["work"], "write": True,
                               "password_file": str(server.password_file(who))}} for who in ("carol", "dave")}
    people["carol"] |= {"email": "carol@example.org", "display_name": "Carol King"}
    server.calendar("dave", "work")
    svc = _live(children, people)
    with svc.client() as c:
        [e] = c.add([meeting("review", "carol", "dave", name="Design review")], wait=30)
    assert e["status"] == "scheduled" and e["start"] == at(0)

    def written(user: str, sequence: int, status: str = "CONFIRMED") -> bool:
        evs = _events(server, user).get("review", [])
        return len(evs) == 1 and int(evs[0].get("SEQUENCE", 0)) == sequence and str(evs[0]["STATUS"]) == status

    for who in ("carol", "dave"):
        until(lambda who=who: written(who, 0), f"{who}'s calendar shows the meeting")
    [ev] = _events(server, "carol")["review"]
    [theirs_copy] = _events(server, "dave")["review"]
    # the UID the coordinator announced, the same in every copy
    assert str(ev["UID"]) == str(theirs_copy["UID"]) == f"review@{load_scenario(svc.scenario).event_domain}"
    assert ev.decoded("DTSTART") == datetime.fromisoformat(e["start"]) and str(ev["SUMMARY"]) == "Design review"
    # carol's agent knows her address and name; of dave it knows only the name.
    assert {str(a): a.params["CN"] for a in ev["ATTENDEE"]} == {"mailto:carol@example.org": "Carol King",
                                                               "mailto:dave@slotwise.invalid": "dave"}
    assert sorted(str(a) for a in theirs_copy["ATTENDEE"]) == ["mailto:carol@slotwise.invalid",
                                                              "mailto:dave@slotwise.invalid"]
    assert "ORGANIZER" in ev and "DTSTAMP" in ev

    # carol's agent dies and comes back: it is told the meeting again and writes nothing new.
    os.kill(svc.agents["carol"].pid, signal.SIGKILL)
    svc.agents["carol"].wait(timeout=10)
    with svc.client() as c:  # the service notices (liveness), so "connected" below is the new agent
        until(lambda: "carol" in c.status()["participants"]["lost"], "carol counted as lost")
    svc.agent("carol")
    svc.wait_connected(2)
    with svc.client() as c:
        moved = c.move("review", not_before=at(26))
    assert moved["start"] == at(26)
    for who in ("carol", "dave"):
        until(lambda who=who: written(who, 1), f"{who}'s calendar shows the move")
    [ev] = _events(server, "dave")["review"]
    assert ev.decoded("DTSTART") == datetime.fromisoformat(at(26))
    with svc.client() as c:
        c.cancel("review")
    for who in ("carol", "dave"):
        until(lambda who=who: written(who, 2, "CANCELLED"), f"{who}'s calendar shows the cancellation")
    theirs = _events(server, "carol")["theirs-1"]
    assert len(theirs) == 1 and str(theirs[0]["SUMMARY"]) == "Not ours"  # never touched


def _itip(path: Path) -> tuple[str, list[Any]]:
    import icalendar

    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return str(cal["METHOD"]), list(cal.walk("VEVENT"))


def test_a_run_writes_itip_requests_and_a_schedule_that_import_into_a_server(server: Radicale,
                                                                             tmp_path: Path) -> None:
    out, ics = tmp_path / "results.json", tmp_path / "itip"
    done = run_cli("run", str(REPO / "scenarios" / "tutorial.yaml"), "--out", str(out), "--ics-out", str(ics), "-q")
    assert done.returncode == 0, done.stderr
    results = {m["id"]: m for m in json.loads(out.read_text())["meetings"]}
    domain = load_scenario(REPO / "scenarios" / "tutorial.yaml").event_domain
    assert domain.endswith(".slotwise.invalid")
    for mid, m in results.items():
        method, [ev] = _itip(ics / f"{mid}.ics")
        assert method == "REQUEST" and str(ev["UID"]) == f"{mid}@{domain}" and int(ev["SEQUENCE"]) == 0
        assert ev.decoded("DTSTART") == datetime.fromisoformat(m["start"])
        assert sorted(a.params["CN"] for a in ev["ATTENDEE"]) == sorted(m["participants"])
        assert server.upload("dave", ics / f"{mid}.ics", "imported") == 1
    method, events = _itip(ics / "schedule.ics")
    assert method == "PUBLISH" and sorted(str(e["UID"]) for e in events) == sorted(f"{m}@{domain}" for m in results)
    before = {p.name: p.read_bytes() for p in ics.iterdir()}
    again = run_cli("run", str(REPO / "scenarios" / "tutorial.yaml"), "--ics-out", str(ics), "-q")
    assert again.returncode == 0 and {p.name: p.read_bytes() for p in ics.iterdir()} == before  # idempotent
    imported = _events(server, "dave", "imported")
    assert sorted(imported) == sorted(results)


def test_a_live_service_writes_a_request_per_change_and_a_cancel(children: Children) -> None:
    from tests.integration.test_serve import PEOPLE, Service, at, meeting, scenario_file

    ics = children.workdir / "itip"
    svc = Service(children, scenario_file(children.workdir))
    svc.extra = ["--ics-out", str(ics)]
    svc.start()
    for who in PEOPLE:
        svc.agent(who)
    svc.wait_connected(len(PEOPLE))
    with svc.client() as c:
        c.add([meeting("plan", "ana", "bo")], wait=30)
        assert _itip(ics / "plan.ics")[0] == "REQUEST" and int(_itip(ics / "plan.ics")[1][0]["SEQUENCE"]) == 0
        c.move("plan", not_before=at(30))
        method, [ev] = _itip(ics / "plan.ics")
        assert method == "REQUEST" and int(ev["SEQUENCE"]) == 1 and ev.decoded("DTSTART") == datetime.fromisoformat(at(30))
        c.cancel("plan")
    method, [ev] = _itip(ics / "plan.ics")
    assert method == "CANCEL" and int(ev["SEQUENCE"]) == 2 and str(ev["STATUS"]) == "CANCELLED"
    assert svc.proc is not None
    svc.proc.send_signal(signal.SIGTERM)
    assert svc.proc.wait(timeout=20) == 0
    assert _itip(ics / "schedule.ics") == ("PUBLISH", [])  # nothing scheduled is left


def _busy_event(uid: str, start: str, end: str) -> str:
    stamp = lambda iso: datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")  # noqa: E731
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//someone//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20240701T000000Z\r\nDTSTART:{stamp(start)}\r\nDTEND:{stamp(end)}\r\n"
            "SUMMARY:Fell ill\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.mark.parametrize("policy", ["move", "drop-attendee", "keep"])
def test_a_calendar_change_under_a_meeting_is_answered_by_its_policy(server: Radicale, children: Children,
                                                                     policy: str) -> None:
    from tests.integration.test_serve import at, meeting

    user = {"move": "alice", "drop-attendee": "bob", "keep": "carol"}[policy]
    cal_id = f"conflict-{policy}"
    cal = server.calendar(user, cal_id)
    people: dict[str, Any] = {"p1": {}, "p2": {}}
    people[user] = {"caldav": {"url": server.url, "username": user, "calendars": [cal_id], "poll_s": 0.3,
                               "password_file": str(server.password_file(user))}}
    svc = _live(children, people, policies={"on_conflict": policy})
    with svc.client() as c:
        [first] = c.add([meeting("sync", user, "p1", "p2", min_participants=2)], wait=30)
        assert first["start"] == at(0) and user in first["participants"]
        cal.save_event(_busy_event("ill-1", at(0), at(1)))  # the owner's own event, over the meeting

        def answered() -> bool:
            [now] = [e for e in c.list() if e["id"] == "sync"]
            if policy == "move":
                return now["start"] != first["start"] and now.get("move") is None
            if policy == "drop-attendee":
                return user not in now["participants"]
            return f"{user}'s calendar no longer leaves room for sync: keep" in svc.children.log("serve1")

        until(answered, f"the conflict answered by {policy}")
        [after] = [e for e in c.list() if e["id"] == "sync"]
    if policy == "move":
        assert after["start"] == at(1) and sorted(after["participants"]) == sorted([user, "p1", "p2"])
    elif policy == "drop-attendee":
        assert after["start"] == first["start"] and sorted(after["participants"]) == ["p1", "p2"]
    else:
        assert after == first


def test_a_meeting_waiting_for_a_full_calendar_is_placed_once_that_calendar_frees_time(
        server: Radicale, children: Children) -> None:
    """The agent tells the service that time was freed (never where) and the service retries."""
    from tests.integration.test_serve import at, meeting

    cal = server.calendar("dave", "freed")
    cal.save_event(_busy_event("away", at(0), at(48)))  # away for the whole horizon
    people: dict[str, Any] = {"p1": {}, "dave": {"caldav": {
        "url": server.url, "username": "dave", "calendars": ["freed"], "poll_s": 0.3,
        "password_file": str(server.password_file("dave"))}}}
    svc = _live(children, people)
    with svc.client() as c:
        [first] = c.add([meeting("sync", "dave", "p1")], wait=30)
        assert first["status"] == "waiting" and first["reason"]
        cal.save_event(_busy_event("away", at(0), at(5)))  # back from 05:00

        def placed() -> bool:
            [now] = [e for e in c.list() if e["id"] == "sync"]
            return bool(now["status"] == "scheduled")

        until(placed, "the waiting meeting placed after dave's calendar freed time")
        [after] = [e for e in c.list() if e["id"] == "sync"]
        assert after["start"] == at(5) and sorted(after["participants"]) == ["dave", "p1"]
        assert c.status()["retries"] == 1


def test_a_published_feed_reads_as_its_file_and_a_304_changes_nothing(server: Radicale) -> None:
    from slotwise.participant.calendars.feeds import FeedReader

    sample = next(p for p in SAMPLES if p.stem == "each_week_but_two_deleted")
    server.upload("bob", sample, "published")
    feed = FeedReader(f"http://bob:{USERS['bob']}@127.0.0.1:{server.port}/bob/published/")
    assert feed.fetch() is True
    zone = ZoneInfo("Europe/Berlin")
    key = lambda i: (i.start, i.end)  # noqa: E731
    assert sorted(feed.busy(WINDOW, zone), key=key) == sorted(busy_from_ics(sample, WINDOW, zone), key=key)
    assert feed.fetch() is False  # conditional GET: unchanged
    server.calendar("bob", "published").save_event(_busy_event("new-1", "2024-07-22T09:00:00+00:00",
                                                                "2024-07-22T10:00:00+00:00"))
    assert feed.fetch() is True
    bad = FeedReader(f"http://bob:nope@127.0.0.1:{server.port}/bob/published/")
    with pytest.raises(CalendarError, match="answered 401") as refused:
        bad.fetch()
    assert "nope" not in str(refused.value)


def test_the_documented_caldav_demo_runs() -> None:
    """examples/caldav_demo.py, as the README tells a new user to run it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO / "examples" / "caldav_demo.py")], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "anna's calendar: Kick-off 11:00-12:00" in done.stdout and "ben's calendar: Kick-off 11:00-12:00" in done.stdout
    assert "anna's calendar: Dentist 09:00-11:00" in done.stdout


def test_a_calendar_seen_only_as_free_busy_gives_the_same_busy_time(server: Radicale) -> None:
    sample = next(p for p in SAMPLES if p.stem == "each_week_but_two_deleted")
    server.upload("carol", sample, "fb")
    zone = ZoneInfo("Europe/Berlin")
    window = Interval(datetime(2019, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC))
    reader = CalDavReader(spec(server, "carol", calendars=["fb"], read="freebusy")).open()
    key = lambda i: (i.start, i.end)  # noqa: E731
    assert sorted(reader.busy(window, zone), key=key) == sorted(busy_from_ics(sample, window, zone), key=key)
    with pytest.raises(ValueError, match="read: freebusy cannot tell"):
        spec(server, "carol", read="freebusy", write=True)


def test_a_refresh_fetches_and_parses_only_the_events_that_changed(server: Radicale) -> None:
    # RFC 6578: after the first read, a changed calendar is asked what changed since its sync
    # token, and only that is fetched and parsed; the busy time is what a fresh read gives.
    cal = server.calendar("carol", "many")
    day = datetime(2024, 7, 22, 8, tzinfo=UTC)
    for n in range(60):
        start = day + timedelta(hours=n)
        cal.save_event(_busy_event(f"e{n}", start.isoformat(), (start + timedelta(minutes=30)).isoformat()))
    reader = CalDavReader(spec(server, "carol", calendars=["many"])).open()
    assert reader.parsed == 60
    window = Interval(day, day + timedelta(days=5))
    assert len(reader.busy(window, UTC)) == 60
    cal.save_event(_busy_event("new", "2024-07-26T13:10:00+00:00", "2024-07-26T13:20:00+00:00"))
    cal.event_by_uid("e1").delete()
    moved = cal.event_by_uid("e2")
    moved.data = _busy_event("e2", "2024-07-25T07:00:00+00:00", "2024-07-25T07:15:00+00:00")
    moved.save()
    before, version = reader.parsed, reader.version
    whole: list[object] = []
    read_whole = reader._read_whole
    reader._read_whole = lambda *a: (whole.append(a), read_whole(*a))  # type: ignore[method-assign]
    reader.refresh()
    assert reader.version == version + 1 and not whole  # the changes asked for, not everything
    assert reader.parsed - before == 2  # the new event and the moved one; nothing else again
    key = lambda i: (i.start, i.end)  # noqa: E731
    fresh = CalDavReader(spec(server, "carol", calendars=["many"])).open()
    assert sorted(reader.busy(window, UTC), key=key) == sorted(fresh.busy(window, UTC), key=key)
    assert len(fresh.busy(window, UTC)) == 60
    reader.refresh()
    assert reader.parsed - before == 2 and reader.version == version + 1  # unchanged: nothing read


def test_an_answer_given_on_the_agents_event_reaches_the_service(server: Radicale, children: Children) -> None:
    """carol declines, in her own client, the event her agent wrote: her agent tells the service
    (Answer), which shows it and answers by the meeting's on_decline (drop-attendee: the rule
    holds with dave alone), and her agent then marks her copy cancelled."""
    import icalendar

    from tests.integration.test_serve import meeting

    people = {who: {"caldav": {"url": server.url, "username": who, "calendars": ["answers"], "write": True,
                               "poll_s": 1, "password_file": str(server.password_file(who))},
                    "email": f"{who}@example.org"} for who in ("carol", "dave")}
    for who in people:
        server.calendar(who, "answers")
    svc = _live(children, people)
    with svc.client() as c:
        [e] = c.add([meeting("talk", "carol", "dave", min_participants=1)], wait=30)
    assert e["participants"] == ["carol", "dave"]
    until(lambda: len(_events(server, "carol", "answers").get("talk", [])) == 1, "carol's copy written")

    [obj] = [o for o in server.calendar("carol", "answers").events() if "talk" in o.data]
    cal = icalendar.Calendar.from_ical(obj.data)
    for ev in cal.walk("VEVENT"):  # what her calendar client does when she declines
        for a in ev["ATTENDEE"]:
            if str(a) == "mailto:carol@example.org":
                a.params["PARTSTAT"] = "DECLINED"
    obj.data = cal.to_ical().decode()
    obj.save()

    def entry() -> dict[str, Any]:
        with svc.client() as c:
            [one] = c.get("talk")
            return one

    until(lambda: entry()["participants"] == ["dave"], "the service goes on without carol")
    assert entry()["answers"] == {"carol": "declined"}
    until(lambda: str(_events(server, "carol", "answers")["talk"][0]["STATUS"]) == "CANCELLED",
          "carol's copy marked cancelled by her agent")


def test_an_event_written_before_uids_had_a_domain_is_replaced_not_doubled(server: Radicale,
                                                                           children: Children) -> None:
    """An agent that wrote `review@slotwise` (the form of earlier versions) writes the meeting
    under its new UID and takes the old event away: one event in the calendar, not two."""
    from tests.integration.test_serve import DAY, meeting

    server.calendar("carol", "legacy").save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//slotwise//slotwise//EN\r\nBEGIN:VEVENT\r\nUID:review@slotwise\r\n"
        f"DTSTAMP:20240701T000000Z\r\nDTSTART:{DAY:%Y%m%d}T000000Z\r\nDTEND:{DAY:%Y%m%d}T010000Z\r\n"
        "SUMMARY:review\r\nX-SLOTWISE-OWNER:carol\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    people = {"carol": {"caldav": {"url": server.url, "username": "carol", "calendars": ["legacy"], "write": True,
                                   "password_file": str(server.password_file("carol"))}}}
    svc = _live(children, people)
    with svc.client() as c:
        [e] = c.add([meeting("review", "carol")], wait=30)
    assert e["status"] == "scheduled"
    until(lambda: [str(ev["UID"]) for ev in _events(server, "carol", "legacy").get("review", [])]
          == [f"review@{load_scenario(svc.scenario).event_domain}"], "the new UID in place of the old")
