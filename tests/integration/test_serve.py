"""`slotwise serve` with real agents over real sockets: meetings added, cancelled and moved while
agents stay connected; SIGKILLs of the service and of an agent; admin keys; reminders on time.

Every test ends by checking the schedule from the service's own listing, independently of it:
attendees invited and free, each meeting's minimum met, nobody double-booked; and the agents'
records (written when they stop) agree with it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from slotwise.client import Client
from slotwise.participant.calendars.sources import free_time
from slotwise.participant.launch import participant_command
from slotwise.shared.errors import AdminError, ScenarioError
from slotwise.shared.keys import generate
from slotwise.shared.scenario import Scenario, load_scenario, offset_seconds
from slotwise.shared.slots import Interval
from slotwise.shared.wire import admin
from tests.integration.conftest import SLOTWISE, Children, run_cli, until

PEOPLE = ("ana", "bo", "cy", "di")
REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)


def at(hour: float) -> str:
    return (DAY + timedelta(hours=hour)).isoformat()


def scenario_file(folder: Path, *, start: datetime = DAY, hours: int = 24 * 3, slot: int = 60,
                  people: tuple[str, ...] = PEOPLE, **extra: Any) -> Path:
    data = {
        "name": "live", "timezone": "UTC", "slot_minutes": slot,
        "horizon": {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()},
        "participants": {p: ({"busy": [[at(9), at(10)]]} if p == "cy" else {}) for p in people},
        "meetings": [],
        "negotiation": {"join_timeout_s": 10, "response_timeout_s": 1, "hold_timeout_s": 1, "heartbeat_s": 0.25},
        **extra,
    }
    path = folder / "live.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Service:
    """A `slotwise serve` and its agents, all children of the test (killed by pid at teardown)."""

    def __init__(self, children: Children, scenario: Path, people: tuple[str, ...] = PEOPLE,
                 keys: Path | None = None, notify: Path | None = None) -> None:
        self.children, self.scenario, self.people, self.keys, self.notify = children, scenario, people, keys, notify
        work = children.workdir
        self.agents_at, self.admin_at, self.store = f"ipc://{work}/ag", f"ipc://{work}/adm", work / "state.db"
        self.proc: subprocess.Popen[str] | None = None
        self.agents: dict[str, subprocess.Popen[str]] = {}
        self.extra: list[str] = []  # more `serve` options
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        args = [*SLOTWISE, "serve", str(self.scenario), "--bind", self.agents_at, "--admin", self.admin_at,
                "--store", str(self.store)]
        if self.keys is not None:
            args += ["--keys", str(self.keys)]
        self.proc = self.children.start(args + self.extra, f"serve{self.starts}")

    def agent(self, name: str) -> None:
        extra = ["--notify-command", self.notify_command()] if self.notify is not None else []
        keys = self.keys if self.keys is not None else None
        argv = participant_command(self.agents_at, name, scenario=self.scenario,
                                   record=self.children.record_path(name), coordinator_timeout_s=0,
                                   keys_dir=keys, extra=extra)
        self.agents[name] = self.children.start(argv, f"{name}-{len(self.children.procs)}")

    def notify_command(self) -> str:
        code = f"import sys; open({str(self.notify)!r}, 'a').write(sys.stdin.read())"
        return shlex.join([sys.executable, "-c", code])

    def client(self, timeout: float = 10.0) -> Client:
        admin_keys = self.keys.parent / "admin-side" if self.keys is not None else None
        return Client(self.admin_at, admin_keys, timeout=timeout)

    def wait_connected(self, count: int, within: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                with self.client(timeout=2.0) as c:
                    last = c.status()
            except AdminError:
                continue  # not listening yet: the call itself waited, bounded
            if len(last["participants"]["connected"]) >= count:
                return last
            time.sleep(0.1)  # ok-sleep: a status poll's pace under a deadline, not a synchronisation
        raise AssertionError(f"{count} agents not connected within {within}s: {last}")

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--connect", self.admin_at, timeout=timeout)

    def stop_agents(self) -> None:
        for proc in self.agents.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.agents.values():
            proc.wait(timeout=20)


@pytest.fixture
def service(children: Children) -> Iterator[Service]:
    svc = Service(children, scenario_file(children.workdir))
    svc.start()
    for p in PEOPLE:
        svc.agent(p)
    svc.wait_connected(len(PEOPLE))
    yield svc


def meeting(mid: str, *who: str, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    return {"id": mid, "duration_minutes": minutes, "invitees": list(who), **extra}


def check_schedule(scenario: Scenario, entries: list[dict[str, Any]]) -> None:
    """The promises a schedule makes, recomputed from the listing and the scenario alone."""
    busy: dict[str, list[tuple[str, Interval]]] = {}
    assert len({e["id"] for e in entries}) == len(entries), "an id listed twice"
    for e in entries:
        assert e["status"] in {"scheduled", "failed", "waiting", "cancelled", "pending"}
        if e["status"] != "scheduled":
            assert e["status"] == "pending" or e["reason"], f"{e['id']} not placed without a reason"
            continue
        when = Interval(datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]))
        assert set(e["participants"]) <= set(e["invitees"]), e
        assert len(e["participants"]) >= e["min_participants"], e
        assert scenario.horizon_interval.contains(when)
        for who in e["participants"]:
            assert free_time(scenario.availability(who), scenario.horizon_interval).covers(when), f"{who} busy: {e}"
            for other, span in busy.get(who, []):
                assert not when.overlaps(span), f"{who} double-booked: {e['id']} and {other}"
            busy.setdefault(who, []).append((e["id"], when))


def check_agents_agree(children: Children, entries: list[dict[str, Any]], people: tuple[str, ...]) -> None:
    for who in people:
        record = children.record(who)
        theirs = {d["id"]: (d["start"], d["end"]) for d in record["accepted"]}
        ours = {e["id"]: (e["start"], e["end"]) for e in entries
                if e["status"] == "scheduled" and who in e["participants"]}
        assert theirs == ours, f"{who} disagrees with the service"


def test_meetings_are_added_cancelled_and_moved_while_agents_stay_connected(service: Service) -> None:
    scenario = load_scenario(service.scenario)
    work = service.children.workdir
    # Two submitters at once: the Python client, and the command line with a YAML file.
    batch_a = [meeting(f"a{i}", "ana", "bo", "cy", min_participants=2) for i in range(6)]
    batch_b = [meeting(f"b{i}", "bo", "di") for i in range(6)] + [meeting("weekly", "ana", "di", minutes=30,
                                                                          recurrence="FREQ=DAILY;COUNT=3")]
    (work / "b.yaml").write_text(yaml.safe_dump({"meetings": batch_b}))
    got: dict[str, Any] = {}

    def via_client() -> None:
        with service.client() as c:
            got["a"] = c.add(batch_a, wait=30)

    thread = threading.Thread(target=via_client)
    thread.start()
    cli = service.cli("meetings", "add", str(work / "b.yaml"), "--wait", "30")
    thread.join(timeout=60)
    assert cli.returncode == 0, cli.stderr
    by_cli = json.loads(cli.stdout)
    assert [e["id"] for e in by_cli][-3:] == [f"weekly@{(DAY + timedelta(days=d)).date()}" for d in range(3)]
    assert all(e["status"] == "scheduled" for e in got["a"] + by_cli)

    # The same request again is the same meetings; the same id with other content is refused.
    again = service.cli("meetings", "add", str(work / "b.yaml"), "--wait", "0")
    assert again.returncode == 0 and json.loads(again.stdout) == by_cli
    (work / "clash.yaml").write_text(yaml.safe_dump([meeting("b0", "bo", "di", minutes=30)]))
    clash = service.cli("meetings", "add", str(work / "clash.yaml"))
    assert clash.returncode == 2 and "meetings[0].id: meeting 'b0' exists with different content" in clash.stderr
    (work / "bad.yaml").write_text("- id: fine\n  duration_minutes: 30\n  invitees: [ana]\n"
                                   "- id: bad\n  duration_minutes: 30\n  invitees: [ana, zed]\n")
    bad = service.cli("meetings", "add", str(work / "bad.yaml"))
    assert bad.returncode == 2
    assert "bad.yaml:6: meetings[1].invitees[1]: 'zed' is not listed under participants" in bad.stderr
    assert "Traceback" not in bad.stderr
    with service.client() as c:
        assert "fine" not in {e["id"] for e in c.list()}  # nothing of a refused request is kept

        # A cancel frees a slot that a later request takes: one slot, wanted three times.
        window = {"not_before": at(30), "not_after": at(31)}
        # The second waits (policies.retry) and takes the slot the moment the first is cancelled.
        [first] = c.add([meeting("only", "ana", "bo", **window)])
        [second] = c.add([meeting("only-too", "ana", "bo", **window)])
        assert first["status"] == "scheduled" and second["status"] == "waiting" and second["reason"]
        assert c.cancel("only")[0]["status"] == "cancelled"
        until(lambda: c.get("only-too")[0]["status"] == "scheduled", "the waiting meeting placed")
        assert c.get("only-too")[0]["start"] == first["start"]
        [third] = c.add([meeting("only-three", "ana", "bo", **window)])
        assert third["status"] == "waiting"
        c.cancel("only-three")

        # A move that succeeds frees the old slot; one that cannot keeps the meeting where it was.
        [m] = c.add([meeting("review", "ana", "di", not_before=at(40), not_after=at(42))])
        moved = c.move("review", not_before=at(44), not_after=at(46))
        assert moved["status"] == "scheduled" and moved["start"] == at(44) and moved["participants"] == m["participants"]
        [taker] = c.add([meeting("old-slot", "ana", "di", not_before=m["start"], not_after=m["end"])])
        assert taker["status"] == "scheduled" and taker["start"] == m["start"]
    stuck = service.cli("meetings", "move", "review", "--not-before", at(30), "--not-after", at(31))
    assert stuck.returncode == 1, stuck.stderr  # ana is booked in only-too then
    [kept] = json.loads(stuck.stdout)
    assert kept["start"] == at(44) and kept["move"]["status"] == "failed" and "ana" in kept["move"]["reason"]
    unknown = service.cli("meetings", "cancel", "nope")
    assert unknown.returncode == 2 and "no meeting 'nope'" in unknown.stderr

    listing = service.cli("meetings", "list", "--json")
    entries = json.loads(listing.stdout)
    starts = [e["start"] for e in entries if e["start"]]
    assert starts == sorted(starts) and len(starts) < len(entries) and not entries[-1]["start"]  # by time
    di = json.loads(service.cli("meetings", "list", "--json", "--person", "di", "--status", "scheduled",
                                "--from", at(40), "--to", at(47)).stdout)
    assert [e["id"] for e in di] == ["old-slot", "review"]
    shown = service.cli("meetings", "list", "--person", "di", "--status", "scheduled", "--tz", "Asia/Tokyo").stdout
    tokyo = datetime.fromisoformat(at(44)).astimezone(ZoneInfo("Asia/Tokyo"))
    assert "when (Asia/Tokyo)" in shown and f"{tokyo:%a %d %b %H:%M}" in shown  # a table, in the zone asked for
    assert "when (UTC)" in service.cli("meetings", "list").stdout  # by default the scenario's, labelled
    # One page at a time, as a script pages through a large service: the same meetings.
    paged: list[dict[str, Any]] = []
    after: list[str] = []
    while True:
        page = service.cli("meetings", "list", "--json", "--limit", "3", *after)
        assert page.returncode == 0, page.stderr
        paged += json.loads(page.stdout)
        more = [line for line in page.stderr.splitlines() if line.startswith("more: --after ")]
        if not more:
            break
        after = ["--after", more[0].removeprefix("more: --after ")]
    assert [e["id"] for e in paged] == sorted(e["id"] for e in entries)  # pages: in id order
    assert sorted(paged, key=lambda e: e["id"]) == sorted(entries, key=lambda e: e["id"])
    status = json.loads(service.cli("status", "--json").stdout)
    counts = status["meetings"]
    assert counts["pending"] == 0 and counts["cancelled"] == 2
    assert counts["scheduled"] + counts["failed"] + counts["waiting"] + 2 == len(entries)
    assert sorted(status["participants"]["connected"]) == sorted(PEOPLE)
    check_schedule(scenario, entries)
    # Where the service is, said once: in the environment, or in the config file.
    env = {**os.environ, "SLOTWISE_CONNECT": service.admin_at}
    by_env = subprocess.run([*SLOTWISE, "status", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert by_env.returncode == 0 and json.loads(by_env.stdout)["meetings"] == counts, by_env.stderr
    (work / "xdg" / "slotwise").mkdir(parents=True)
    (work / "xdg" / "slotwise" / "config.toml").write_text(f'connect = "{service.admin_at}"\ntimeout = 20\n')
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "xdg")}
    env.pop("SLOTWISE_CONNECT", None)
    by_file = subprocess.run([*SLOTWISE, "meetings", "get", "review"], capture_output=True, text=True, env=env, timeout=60)
    assert by_file.returncode == 0 and json.loads(by_file.stdout)[0]["start"] == at(44), by_file.stderr
    (work / "xdg" / "slotwise" / "config.toml").write_text('conect = "typo"\n')
    typo = subprocess.run([*SLOTWISE, "status"], capture_output=True, text=True, env=env, timeout=60)
    assert typo.returncode == 2 and "unknown setting 'conect'" in typo.stderr
    service.stop_agents()
    check_agents_agree(service.children, entries, PEOPLE)


def test_a_sigkilled_service_restarts_on_its_store_with_nothing_lost(service: Service) -> None:
    scenario = load_scenario(service.scenario)
    wanted = [meeting(f"m{i}", *PEOPLE[i % 3:i % 3 + 2], minutes=60) for i in range(16)]
    with service.client() as c:
        decided = {e["id"]: e for e in c.add(wanted[:8], wait=30)}
        c.add(wanted[8:], wait=0)  # in flight when the service dies
        c.cancel("m0")
    assert service.proc is not None
    os.kill(service.proc.pid, signal.SIGKILL)
    service.proc.wait(timeout=10)
    service.start()  # same store; the agents were never told to go and rejoin by themselves
    service.wait_connected(len(PEOPLE))
    with service.client() as c:
        after = {e["id"]: e for e in c.add(wanted, wait=60)}  # the same request: waits for the rest
        entries = c.list()
    assert after["m0"]["status"] == "cancelled"
    for mid, before in decided.items():
        if mid != "m0":
            assert after[mid] == before, "a decided meeting changed"
    assert all(after[m["id"]]["status"] in {"scheduled", "failed"} for m in wanted[1:])
    check_schedule(scenario, entries)
    service.stop_agents()
    check_agents_agree(service.children, entries, PEOPLE)


def test_admin_operations_need_an_admin_key(children: Children) -> None:
    keys, admin_side = children.workdir / "keys", children.workdir / "admin-side"
    for name in ("coordinator", *PEOPLE[:2]):
        generate(keys, name)
    generate(keys, "ops", admin=True)
    admin_side.mkdir()
    (admin_side / "admins").mkdir()
    shutil.copy(keys / "coordinator.key", admin_side)
    for suffix in (".key", ".key_secret"):
        shutil.copy(keys / "admins" / f"ops{suffix}", admin_side / "admins")
    svc = Service(children, scenario_file(children.workdir, people=PEOPLE[:2]), PEOPLE[:2], keys=keys)
    svc.start()
    for p in svc.people:
        svc.agent(p)
    svc.wait_connected(2)
    with svc.client() as c:
        assert c.add([meeting("x", "ana", "bo")], wait=30)[0]["status"] == "scheduled"
    # A participant's key, however valid for joining, is refused on the admin socket.
    impostor = children.workdir / "impostor"
    (impostor / "admins").mkdir(parents=True)
    shutil.copy(keys / "coordinator.key", impostor)
    for suffix in (".key", ".key_secret"):
        shutil.copy(keys / f"ana{suffix}", impostor / "admins" / f"ana{suffix}")
    with pytest.raises(AdminError) as refused, Client(svc.admin_at, impostor, timeout=5) as c:
        c.cancel("x")
    assert refused.value.kind == "handshake"
    cli = run_cli("meetings", "cancel", "x", "--connect", svc.admin_at, "--keys", str(impostor), "--timeout", "5")
    assert cli.returncode == 1 and "refused this admin key" in cli.stderr
    with svc.client() as c:
        assert c.list()[0]["status"] == "scheduled"  # nothing was cancelled
    # Without keys, an admin socket off this machine is refused before anything starts.
    open_admin = run_cli("serve", str(svc.scenario), "--admin", "tcp://0.0.0.0:0", "--store",
                         str(children.workdir / "x.db"), "--bind", f"ipc://{children.workdir}/o")
    assert open_admin.returncode == 2 and "refusing to bind the admin socket" in open_admin.stderr


def test_reminders_fire_on_time_and_a_restarted_agent_relearns_them(children: Children) -> None:
    notify = children.workdir / "reminders.jsonl"
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0)
    slot = start + timedelta(minutes=2)  # at least a minute ahead
    svc = Service(children, scenario_file(children.workdir, start=start, hours=2, slot=1, people=("ana", "bo")),
                  ("ana", "bo"), notify=notify)
    svc.start()
    for p in svc.people:
        svc.agent(p)
    svc.wait_connected(2)
    lead = int((slot - datetime.now(UTC)).total_seconds()) - 6  # due about six seconds from now
    with svc.client() as c:
        [e] = c.add([meeting("soon", "ana", "bo", minutes=1, not_before=slot.isoformat(),
                             not_after=(slot + timedelta(minutes=1)).isoformat(), remind=[f"{lead}s"])], wait=30)
    assert e["status"] == "scheduled" and e["start"] == slot.isoformat()

    def fired(count: int, within: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            lines = notify.read_text().splitlines() if notify.exists() else []
            if len(lines) >= count:
                return [json.loads(line) for line in lines]
            time.sleep(0.05)  # ok-sleep: polling another process's output file, under a deadline
        raise AssertionError(f"{count} reminders not fired within {within}s")

    on_time = fired(2)
    assert {r["participant"] for r in on_time} == {"ana", "bo"}
    for r in on_time:
        lateness = (datetime.fromisoformat(r["fired_at"]) - datetime.fromisoformat(r["due"])).total_seconds()
        assert r["late"] is False and 0 <= lateness < 1.0, r
        assert r["meeting_id"] == "soon" and offset_seconds(r["offset"]) == lead
    # ana's agent dies and comes back knowing nothing: it relearns the meeting, and the reminder
    # whose time passed while it was down fires once, marked late (the meeting has not started).
    os.kill(svc.agents["ana"].pid, signal.SIGKILL)
    svc.agents["ana"].wait(timeout=10)
    svc.agent("ana")
    again = fired(3)[2]
    assert again["participant"] == "ana" and again["late"] is True and again["meeting_id"] == "soon"
    svc.stop_agents()
    assert [d["id"] for d in children.record("ana")["accepted"]] == ["soon"]


def test_bad_requests_on_the_admin_socket_are_answered_not_fatal(service: Service) -> None:
    import zmq

    ctx = zmq.Context.instance()
    raw = ctx.socket(zmq.DEALER)
    raw.setsockopt(zmq.LINGER, 0)
    raw.connect(service.admin_at)
    try:
        for frame in (b"\xff\xfe", b"[1,2]", b'{"v":1,"id":1,"op":"launch"}', b"[" * 100_000,
                      b'{"v":1,"id":2,"op":"add","meetings":"x"}', b'{"v":1,"id":3,"op":"move","meeting_id":7}'):
            raw.send(frame)
            assert raw.poll(10_000), f"no answer to {frame[:20]!r}"
            reply = json.loads(raw.recv())
            assert reply["ok"] is False and reply["kind"] == "invalid", reply
        # Too large, or not one frame: answered too (it used to be dropped, the client timing out).
        raw.send(b"{" + b" " * (admin.MAX_ADMIN_FRAME + 10) + b"}")
        assert raw.poll(10_000), "no answer to a request over the limit"
        big = json.loads(raw.recv())
        assert big["kind"] == "invalid" and "too large" in big["error"]
        raw.send_multipart([b'{"v":1,"id":4,"op":"status"}', b"more"])
        assert raw.poll(10_000), "no answer to a request of two frames"
        assert "one frame, not 2" in json.loads(raw.recv())["error"]
    finally:
        raw.close()
    with service.client() as c:
        assert c.status()["requests_served"] >= 6
        with pytest.raises(AdminError, match="a service takes at most"):  # said before sending
            c.add([{"id": f"m{i}", "name": "n" * 400, "duration_minutes": 60, "invitees": ["ana"]}
                   for i in range(12_000)])
    with pytest.raises(ScenarioError), service.client() as c:
        c.add([{"id": "x"}])


def test_a_second_service_on_the_same_store_exits_2_naming_the_first(service: Service) -> None:
    service.wait_connected(len(PEOPLE))  # the first service is up, holding its store
    assert service.proc is not None
    second = run_cli("serve", str(service.scenario), "--bind", f"{service.agents_at}-2",
                     "--admin", f"{service.admin_at}-2", "--store", str(service.store), timeout=30)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [
        f"serve: {service.store}: in use by another slotwise serve (pid {service.proc.pid}); one service per store"]
    with service.client() as c:
        assert c.status()["participants"]["expected"] == len(PEOPLE)  # the first is untouched


def test_a_store_of_another_scenario_is_refused_in_one_line(tmp_path: Path) -> None:
    # A store holds one scenario's meetings: started with another scenario, `serve` would find
    # every stored request naming people it does not have. It says so once, and exits 2.
    from slotwise.coordinator.store import SqliteStore

    store = tmp_path / "state.db"
    SqliteStore(store, "team-a").close()
    path = scenario_file(tmp_path)  # named "live"
    done = run_cli("serve", str(path), "--bind", f"ipc://{tmp_path}/ag", "--admin", f"ipc://{tmp_path}/adm",
                   "--store", str(store), timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"serve: {store}: holds the meetings of scenario 'team-a', not 'live'; give this scenario a store of its own"]


def test_a_horizon_that_has_ended_is_refused_at_start_and_a_relative_one_is_served(children: Children) -> None:
    work = children.workdir
    ended = run_cli("serve", str(REPO_SCENARIOS / "tutorial.yaml"), "--bind", f"ipc://{work}/a0",
                    "--admin", f"ipc://{work}/b0", "--store", str(work / "old.db"), timeout=30)
    assert ended.returncode == 2 and len(ended.stderr.strip().splitlines()) == 1
    assert "its horizon ended at 2024-07-21T19:00:00+00:00" in ended.stderr and "--allow-past" in ended.stderr
    path = work / "rolling.yaml"
    path.write_text(yaml.safe_dump({"name": "rolling", "timezone": "UTC", "slot_minutes": 60,
                                    "horizon": {"days": 3}, "participants": {"ana": {}, "bo": {}},
                                    "negotiation": {"join_timeout_s": 10, "heartbeat_s": 0.25}}))
    svc = Service(children, path, ("ana", "bo"))
    svc.start()
    for p in ("ana", "bo"):
        svc.agent(p)
    svc.wait_connected(2)
    with svc.client() as c:
        [entry] = c.add([meeting("soon", "ana", "bo")], wait=30)
    assert entry["status"] == "scheduled"
    assert datetime.now(UTC) <= datetime.fromisoformat(entry["start"]) < datetime.now(UTC) + timedelta(days=3)
