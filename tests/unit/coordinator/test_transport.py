"""The coordinator's transport over a real ROUTER on an ipc path: what reaches the core, what
is dropped and how often that is said, how sends are batched per connection, and the token
bucket and backlog rules on a hand-moved clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq
import zmq.asyncio
from loguru import logger

from slotwise.coordinator import transport as transport_module
from slotwise.coordinator.plan import compile_plan
from slotwise.coordinator.service import CoordinatorService
from slotwise.coordinator.transport import MAX_BACKLOG_S, RATE_BURST, AgentTransport, _Bucket
from slotwise.shared.endpoints import parse_endpoints
from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.codec import Encoder, decode
from slotwise.shared.wire.flow import MAX_BATCH
from slotwise.shared.wire.gate import Admitted
from slotwise.shared.wire.messages import Hello, Release
from slotwise.shared.wire.routing import parse_recipients
from tests.helpers import make_scenario

NAMES = [AgentId(f"p{i}") for i in range(3)]


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[AgentTransport, zmq.Socket[bytes]]]:
    """A bound transport and one host's DEALER connected to it (blocking API, with timeouts)."""
    transport = AgentTransport(parse_endpoints(f"ipc://{tmp_path}/agents"), NAMES, context=zmq.asyncio.Context())
    endpoints = transport.bind()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    host = ctx.socket(zmq.DEALER)
    host.identity = b"host-1"
    host.setsockopt(zmq.RCVTIMEO, 5000)
    host.setsockopt(zmq.LINGER, 0)
    host.connect(endpoints.reply)
    try:
        yield transport, host
    finally:
        host.close()
        ctx.term()
        transport.close()
        transport.context.term()


def _drain_until(transport: AgentTransport, got: list[Admitted], count: int) -> None:
    """Read what arrives until `count` envelopes were delivered (bounded)."""
    poller = zmq.Poller()
    poller.register(zmq.Socket.shadow(transport.router.underlying), zmq.POLLIN)
    for _ in range(100):
        if len(got) >= count:
            return
        poller.poll(100)
        transport.drain(got.append)
    raise AssertionError(f"{len(got)} of {count} envelopes delivered")


def test_a_hosts_envelopes_reach_the_core_and_its_replies_leave_batched(
        wired: tuple[AgentTransport, zmq.Socket[bytes]]) -> None:
    transport, host = wired
    host.send_multipart([Encoder(name).encode(Hello(name=name)) for name in NAMES])  # one message, three agents
    got: list[Admitted] = []
    _drain_until(transport, got, 3)
    assert [a.env.sender for a in got] == NAMES and transport.gate.names_on(b"host-1".hex()) == 3
    for i in range(MAX_BATCH + 5):  # more than one message's worth, for two agents of the host
        transport.publish(Release(meeting_id=f"m{i}", round=1), (NAMES[0], NAMES[1]))
    assert transport.stats.sent == MAX_BATCH + 5
    transport.flush()
    first, second = host.recv_multipart(), host.recv_multipart()
    assert len(first) == 2 * MAX_BATCH and len(second) == 2 * 5  # (recipients, envelope) pairs
    assert parse_recipients(first[0], NAMES) == [NAMES[0], NAMES[1]]
    assert decode(second[-1]).body == Release(meeting_id=f"m{MAX_BATCH + 4}", round=1)


def test_a_message_of_too_many_envelopes_is_dropped_and_said_once_per_interval(
        wired: tuple[AgentTransport, zmq.Socket[bytes]]) -> None:
    transport, host = wired
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    try:
        for _ in range(5):
            host.send_multipart([b"x"] * (MAX_BATCH + 1))
        host.send_multipart([Encoder(NAMES[0]).encode(Hello(name=NAMES[0]))])  # the honest one behind them
        got: list[Admitted] = []
        _drain_until(transport, got, 1)
    finally:
        logger.remove(sink)
    assert transport.stats.dropped == 5 and [a.env.sender for a in got] == [NAMES[0]]
    assert len([line for line in lines if "payload frames" in line]) == 1, lines


def test_garbage_and_a_core_refusal_cost_the_peer_its_message_only(
        wired: tuple[AgentTransport, zmq.Socket[bytes]]) -> None:
    transport, host = wired
    host.send_multipart([b"\x93not msgpack", Encoder(NAMES[1]).encode(Hello(name=NAMES[1]))])
    host.send_multipart([Encoder(NAMES[2]).encode(Hello(name=NAMES[2]))])
    got: list[Admitted] = []

    def picky(admitted: Admitted) -> None:
        if admitted.env.sender == NAMES[1]:
            raise ProtocolError("the core refuses this one")
        got.append(admitted)

    poller = zmq.Poller()
    poller.register(zmq.Socket.shadow(transport.router.underlying), zmq.POLLIN)
    for _ in range(50):
        if got:
            break
        poller.poll(100)
        transport.drain(picky)
    assert [a.env.sender for a in got] == [NAMES[2]] and transport.stats.dropped == 2


def test_a_send_to_an_agent_without_a_connection_is_not_counted(
        wired: tuple[AgentTransport, zmq.Socket[bytes]]) -> None:
    transport, _ = wired
    transport.publish(Release(meeting_id="m", round=1), (NAMES[0],))
    transport.flush()
    assert transport.stats.sent == 0


def test_the_bucket_drops_a_flood_and_grows_with_a_hosts_agents() -> None:
    bucket = _Bucket(stamp=0.0)
    taken = sum(bucket.take(0.0) for _ in range(int(RATE_BURST) + 10))
    assert taken == int(RATE_BURST)  # the burst, then nothing at the same instant
    assert bucket.take(0.001)  # refilled at RATE_PER_S
    host = _Bucket(tokens=0.0, stamp=0.0)
    assert sum(host.take(1.0, agents=10) for _ in range(30_000)) == pytest.approx(20_000, abs=2)
    assert bucket.should_log() and not bucket.should_log()  # one line a second, not one per message


def test_silence_waits_for_a_backlog_but_not_for_ever(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clock = [100.0]
    monkeypatch.setattr(transport_module.time, "monotonic", lambda: clock[0])
    transport = AgentTransport(parse_endpoints(f"ipc://{tmp_path}/a"), NAMES, context=zmq.asyncio.Context())
    try:
        assert transport.behind(True)  # more is waiting: do not judge anyone silent yet
        clock[0] += MAX_BACKLOG_S - 1
        assert transport.behind(True)
        clock[0] += 2
        assert not transport.behind(True)  # behind for too long: deadlines are judged anyway
        assert not transport.behind(False)
        assert transport.behind(True)  # a new backlog starts a new allowance
    finally:
        transport.close()
        transport.context.term()


S = make_scenario({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}])


def test_a_send_to_a_vanished_peer_is_seen_and_not_counted(tmp_path: object) -> None:
    service = CoordinatorService(compile_plan(S), parse_endpoints("tcp://127.0.0.1:*"))
    try:
        service.bind()
        # "a" said Hello over a connection that no longer exists.
        service.gate.admit(Encoder(AgentId("a")).encode(Hello(name="a")), b"\x00gone".hex())
        lines: list[str] = []
        sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
        try:
            service.transport.publish(Release(meeting_id="m", round=1), (AgentId("a"),))
            service.transport.flush()  # sends go out together, at the end of each wake-up
        finally:
            logger.remove(sink)
        assert service.stats.sent == 0
        assert any("Release to a not sent" in line for line in lines), lines
    finally:
        service.close()
