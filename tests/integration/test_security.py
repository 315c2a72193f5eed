"""CURVE: only allow-listed keys get in, and a key speaks only for its own name."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import pytest
import zmq
import zmq.asyncio
import zmq.auth

from slotwise.coordinator.negotiation import Action, Started
from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.service import CoordinatorService
from slotwise.shared.endpoints import parse_endpoints
from slotwise.shared.ids import AgentId
from slotwise.shared.keys import ServerKeys, generate
from slotwise.shared.scenario import dump_agents, dump_availability
from slotwise.shared.wire.codec import Encoder
from slotwise.shared.wire.messages import Hello
from tests.helpers import REPO, make_scenario
from tests.integration.conftest import SLOTWISE, Children, run_cli

pytestmark = pytest.mark.integration


def test_keys_generate_writes_a_private_secret_and_refuses_to_overwrite(workdir: Path) -> None:
    done = run_cli("keys", "generate", "alice", "--dir", str(workdir / "k"))
    assert done.returncode == 0, done.stderr
    secret = workdir / "k" / "alice.key_secret"
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert (workdir / "k" / "alice.key").exists()
    again = run_cli("keys", "generate", "alice", "--dir", str(workdir / "k"))
    assert again.returncode == 2 and "exists" in again.stderr


def test_secure_run_of_the_tutorial(workdir: Path) -> None:
    done = run_cli("run", str(REPO / "scenarios/tutorial.yaml"), "--secure", "--out", str(workdir / "r.json"), "-q")
    assert done.returncode == 0, done.stderr
    assert '"participants": [\n        "alice",\n        "bob",\n        "charlie"' in (workdir / "r.json").read_text()


def test_coordinator_refuses_keys_that_leave_participants_out(workdir: Path) -> None:
    for name in ("coordinator", "alice"):
        generate(workdir / "k", name)
    done = run_cli("coordinator", str(REPO / "scenarios/tutorial.yaml"), "--keys", str(workdir / "k"))
    assert done.returncode == 2 and "no public key for bob, charlie, diana" in done.stderr


class _CurveDealers:
    """Raw DEALERs holding a key pair each, connected to the coordinator: peers the allow-list
    may admit, saying whatever a test makes them say. Closed together at the test's end."""

    def __init__(self, server: ServerKeys) -> None:
        self.server = server
        self.address = ""  # the coordinator's, once bound
        self.socks: list[zmq.asyncio.Socket] = []

    def open(self, cert: Path) -> zmq.asyncio.Socket:
        public, secret = zmq.auth.load_certificate(str(cert))
        sock = zmq.asyncio.Context.instance().socket(zmq.DEALER)
        sock.linger = 0
        sock.curve_secretkey, sock.curve_publickey, sock.curve_serverkey = secret, public, self.server.public
        sock.connect(self.address)
        self.socks.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


async def test_impostors_and_name_thieves_change_nothing(workdir: Path, children: Children) -> None:
    s = make_scenario({"alice": {}, "bob": {}, "mallory": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["alice", "bob"]}], join_timeout_s=3)
    keys = workdir / "keys"
    for name in ("coordinator", "alice", "bob", "mallory"):
        generate(keys, name)
    generate(workdir / "stranger", "eve")  # a valid key pair that nobody allowed in
    server = ServerKeys.load(keys)
    service = CoordinatorService(compile_plan(s), parse_endpoints("tcp://127.0.0.1:*"), keys=server)
    dealers = _CurveDealers(server)

    stolen = Encoder(AgentId("alice")).encode(Hello(name="alice"))

    def on_action(action: Action) -> None:
        if isinstance(action, Started):  # allowed in as mallory, speaking as alice
            mallory.send(stolen)

    service.on_action = on_action
    try:
        endpoints = service.bind()
        dealers.address = endpoints.reply
        agents = {}
        for name in ("alice", "bob"):
            path = workdir / f"{name}.json"
            path.write_text(dump_availability(s.availability(name)))
            agents[name] = children.participant(str(endpoints), name, availability=path, keys=keys)
        dealers.open(workdir / "stranger" / "eve.key_secret").send(stolen)  # never gets past the handshake
        mallory = dealers.open(keys / "mallory.key_secret")
        result = await asyncio.wait_for(service.run(), 30)
    finally:
        dealers.close()
        service.close()
    (o,) = result.decisions
    assert o.scheduled and o.attendees == ("alice", "bob")
    assert result.missing == ("mallory",)  # mallory never said Hello as herself
    assert result.stats.dropped == 1  # the stolen-name Hello; eve's never arrived at all
    for name, proc in agents.items():
        assert proc.wait(timeout=15) == 0, children.log(name)
        assert children.record(name)["accepted"][0]["id"] == "m"


async def test_a_host_key_speaks_only_for_the_names_it_is_bound_to(workdir: Path, children: Children) -> None:
    s = make_scenario({"alice": {}, "bob": {}, "carol": {}, "mallory": {}},
                      [{"id": "m", "duration_minutes": 60, "invitees": ["alice", "bob", "carol"]}], join_timeout_s=3)
    keys = workdir / "keys"
    generate(keys, "coordinator")
    generate(keys, "carol")
    generate(keys, "h1", host_for=["alice", "bob"])
    generate(keys, "h2", host_for=["mallory"])
    server = ServerKeys.load(keys)
    service = CoordinatorService(compile_plan(s), parse_endpoints("tcp://127.0.0.1:*"), keys=server)
    dealers = _CurveDealers(server)

    def on_action(action: Action) -> None:
        if isinstance(action, Started):
            # mallory's host, allowed in, speaking for alice; and h1's key (alice and bob's
            # host) used again to speak for carol, who is not on its list.
            mallory.send(Encoder(AgentId("alice")).encode(Hello(name="alice")))
            rogue_h1.send(Encoder(AgentId("carol")).encode(Hello(name="carol")))

    service.on_action = on_action
    try:
        endpoints = service.bind()
        dealers.address = endpoints.reply
        host_file = workdir / "h1.agents.json"
        host_file.write_text(dump_agents({n: s.availability(n) for n in ("alice", "bob")}))
        host = children.start([*SLOTWISE, "participant", "--connect", str(endpoints), "--keys", str(keys),
                               "--host", "h1", "--name", "alice", "--name", "bob", "--availability", str(host_file),
                               "--record", str(workdir), "--coordinator-timeout", "20"], "h1")
        path = workdir / "carol.json"
        path.write_text(dump_availability(s.availability("carol")))
        carol = children.participant(str(endpoints), "carol", availability=path, keys=keys)
        mallory = dealers.open(keys / "hosts" / "h2.key_secret")
        rogue_h1 = dealers.open(keys / "hosts" / "h1.key_secret")
        result = await asyncio.wait_for(service.run(), 30)
    finally:
        dealers.close()
        service.close()
    (o,) = result.decisions
    assert o.scheduled and o.attendees == ("alice", "bob", "carol")
    assert result.missing == ("mallory",)
    assert result.stats.dropped == 2  # both stolen Hellos, refused before their bodies were read
    assert host.wait(timeout=15) == 0, children.log("h1")
    assert carol.wait(timeout=15) == 0, children.log("carol")
    for name in ("alice", "bob", "carol"):
        assert children.record(name)["accepted"][0]["id"] == "m"


def test_scenario_security_section_switches_keys_on(workdir: Path, children: Children) -> None:
    """security.keys in the scenario does what --keys does, for coordinator and agents alike."""
    import json

    from tests.integration.conftest import SLOTWISE

    text = (REPO / "scenarios/tutorial.yaml").read_text() + "security: {keys: keys}\n"
    path = workdir / "secure.yaml"
    path.write_text(text)
    for name in ("coordinator", "alice", "bob", "charlie", "diana"):
        generate(workdir / "keys", name)
    address = f"ipc://{workdir}/sw"
    agents = [children.participant(address, n, scenario=path) for n in ("alice", "bob", "charlie", "diana")]
    coord = children.start([*SLOTWISE, "coordinator", str(path), "--bind", address, "-q",
                            "--out", str(workdir / "r.json")], "coordinator")
    assert coord.wait(timeout=60) == 0, children.log("coordinator")
    assert all(a.wait(timeout=20) == 0 for a in agents)
    doc = json.loads((workdir / "r.json").read_text())
    assert doc["meetings"][0]["participants"] == ["alice", "bob", "charlie"]
    # The coordinator names the keys directory in its start-up hint only when CURVE is on.
    assert "--keys DIR (its own keys folder)" in children.log("coordinator")  # not the coordinator's secret folder


@pytest.mark.parametrize("who", ["no keys", "a key not on the allow-list"])
def test_a_participant_shut_out_by_curve_exits_1_with_the_reason(who: str, workdir: Path, children: Children) -> None:
    keys = workdir / "keys"
    for name in ("coordinator", "alice", "bob", "charlie", "diana"):
        generate(keys, name)
    address = f"ipc://{workdir}/sw"
    children.start([*SLOTWISE, "coordinator", str(REPO / "scenarios/tutorial.yaml"), "--bind", address,
                    "--keys", str(keys), "--join-timeout", "60", "-q"], "coordinator")
    own = None
    if who != "no keys":
        own = workdir / "stranger"
        generate(own, "alice")  # a valid pair for the name, but not the one the coordinator allowed
        (own / "coordinator.key").write_bytes((keys / "coordinator.key").read_bytes())
    proc = children.participant(address, "alice", timeout_s=60.0, keys=own)
    started = time.monotonic()
    assert proc.wait(timeout=30) == 1  # well before its 60 s coordinator timeout
    assert time.monotonic() - started < 20
    log = children.log("alice")
    assert ("refused this agent's key" in log) if own else ("may require CURVE keys" in log), log
    if own is not None:  # the coordinator says whom it refused, with the key and where from, once
        public, _ = zmq.auth.load_certificate(str(own / "alice.key"))
        refusals = [line for line in children.log("coordinator").splitlines() if "refused a connection from" in line]
        assert len(refusals) == 1 and public.decode() in refusals[0], refusals
