"""`slotwise serve`: the coordinator as a long-running service, with an admin socket and a store.

The agents' side is the batch run's transport and loop (coordinator/transport.py, loop.py); the
core is the open-ended one; what a request does is the admin desk's (coordinator/admin_desk.py,
sans-IO). This shell adds only the sockets and the clocks:

- an admin socket (ROUTER, JSON, see shared/wire/admin.py), admitting only admin keys with CURVE
  and bound to loopback or ipc without;
- solves run aside (in a worker thread), so the admin socket and the agents are served while the
  optimizer works;
- agents hear of a decision before the client that asked for it; schedule.ics (`--ics-out`) is
  rewritten at most every PUBLISH_EVERY_S.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import zmq
import zmq.asyncio

from slotwise.coordinator.admin_desk import AdminDesk
from slotwise.coordinator.http_api import HTTP_ID, HttpApi, Tokens
from slotwise.coordinator.itip import ItipWriter
from slotwise.coordinator.lease import Lease
from slotwise.coordinator.loop import CoreLoop, Solver, Source
from slotwise.coordinator.metrics import Metrics, TimedStore
from slotwise.coordinator.negotiation import Action, Cancelled, Decided, LiveNegotiation
from slotwise.coordinator.organizer_calendar import OrganizerCalendar
from slotwise.coordinator.pg_store import Deposed
from slotwise.coordinator.placement.solver import solve, solver_available
from slotwise.coordinator.plan import Plan
from slotwise.coordinator.store import Store
from slotwise.coordinator.transport import AgentTransport
from slotwise.coordinator.zap import make_curve_server
from slotwise.shared.endpoints import Endpoints, is_loopback_address
from slotwise.shared.errors import EndpointError
from slotwise.shared.ids import MeetingId
from slotwise.shared.keys import ServerKeys
from slotwise.shared.scenario import Scenario
from slotwise.shared.wire import admin

PUBLISH_EVERY_S = 5.0  # schedule.ics is the whole schedule: not rewritten for every decision
ADMIN_BATCH = 100  # admin requests handled per wake-up, so agents' messages are never starved
ADMIN_QUEUE = 1000  # admin requests queued before ZeroMQ drops
ANSWERS_EVERY_S = 1.0  # how often answers read from the organizer's calendar are taken in


class LiveService:
    def __init__(self, scenario: Scenario, plan: Plan, endpoints: Endpoints, admin_address: str,
                 store: Store, *, keys: ServerKeys | None = None, allow_past: bool = False,
                 context: zmq.asyncio.Context | None = None, itip: ItipWriter | None = None,
                 solver: Solver = solve, http: str | None = None, http_tokens: Tokens | None = None,
                 http_tls: ssl.SSLContext | None = None, organizer: OrganizerCalendar | None = None,
                 lease: Lease | None = None) -> None:
        """`http`: HOST:PORT for the HTTP API, metrics and health checks (coordinator/http_api.py);
        `organizer`: the organizer's calendar on a scheduling server, whose answers come back;
        `lease`: this instance leads a shared store by it, and acts only while it holds it."""
        if keys is None and not is_loopback_address(admin_address):
            raise EndpointError(f"refusing to bind the admin socket to {admin_address} without keys: "
                                "anyone who reaches it could cancel every meeting. Bind a loopback or "
                                "ipc address, or pass --keys DIR with admins/NAME.key in it.")
        if keys is not None and not keys.admins:
            raise EndpointError(f"{keys.directory / 'admins'} holds no admin public keys: nobody could use "
                                "the admin socket (create one with: slotwise keys generate NAME --admin)")
        self.plan = replace(plan, meetings=(), by_id={})  # meetings come from the store and requests
        self._initial = plan.meetings
        self.metrics = Metrics()
        store = TimedStore(store, self.metrics)
        self.store = store
        self.itip = itip
        self.organizer = organizer
        self.lease = lease
        self._published_at = 0.0
        self.transport = AgentTransport(endpoints, plan.participants, keys=keys, context=context)
        self.log = self.transport.log
        self.core = LiveNegotiation(self.plan)
        # The desk commits what the loop is about to perform; the loop performs what the desk asks.
        self._loop = CoreLoop(self.transport, self.core, observe=self._observe, solver=solver, solve_aside=True)
        self.desk = AdminDesk(scenario, self.plan, self.core, store, self._loop.perform,
                              wall=lambda: datetime.now(UTC), allow_past=allow_past, itip=itip)
        self._admin = self.transport.context.socket(zmq.ROUTER)
        self._admin_sync: zmq.Socket[bytes] = zmq.Socket.shadow(self._admin.underlying)
        # Read up to the hard bound, so a request over the limit is answered "too large" (past
        # it, ZeroMQ drops the connection: memory stays bounded either way).
        self._admin.setsockopt(zmq.MAXMSGSIZE, admin.MAX_ADMIN_READ)
        self._admin.setsockopt(zmq.LINGER, 0)
        self._admin.setsockopt(zmq.RCVHWM, ADMIN_QUEUE)
        if keys is not None:
            make_curve_server(self._admin, keys, admin.ADMIN_DOMAIN)  # admitted by the admin allow-list only
        self._admin_requested = admin_address
        self.admin_endpoint: str | None = None
        self._admin_inproc = f"inproc://slotwise-admin-{id(self)}"  # the HTTP API's way in
        self.metrics.watch(self.status)
        if lease is not None:
            self.desk.status_extra = self._lease_status
        self.http = None if http is None else HttpApi(http, self._admin_inproc, self.transport.context, self.metrics,
                                                      tokens=http_tokens, ready=lambda: self.desk.started_at is not None,
                                                      title=plan.name, tls=http_tls)
        self.http_url: str | None = None

    def _observe(self, action: Action) -> None:
        self._still_leading()
        self.desk.observe(action)
        if isinstance(action, Decided | Cancelled):
            meeting_id = action.decision.id if isinstance(action, Decided) else action.meeting_id
            asked = self.desk.submitted_at.pop(MeetingId(meeting_id), None)
            if asked is not None and isinstance(action, Decided):
                self.metrics.negotiation.observe(time.monotonic() - asked)

    @property
    def requests_served(self) -> int:
        return self.desk.requests_served

    def bind(self) -> tuple[Endpoints, str]:
        endpoints = self.transport.bind()
        try:
            self._admin.bind(self._admin_requested)
        except zmq.ZMQError as exc:
            raise EndpointError(f"cannot bind {self._admin_requested}: {exc.strerror}") from None
        self.admin_endpoint = self._admin.getsockopt_string(zmq.LAST_ENDPOINT)
        self._admin.bind(self._admin_inproc)
        return endpoints, self.admin_endpoint

    async def start_http(self) -> str | None:
        """Serve HTTP (on the running loop); its address, or None without `http`."""
        if self.http is not None:
            self.http_url = await self.http.start()
        return self.http_url

    def close(self) -> None:
        self._admin.close()
        self.transport.close()
        self.store.close()

    async def run(self, stop: asyncio.Event) -> None:
        if self.plan.optimize_s:
            solver_available()  # imported now: an import mid-solve would hold every thread's lock
        self.desk.start(self._initial, time.monotonic())
        try:
            await self._loop.run(stop=stop, sources=[Source(self._admin, self._drain_admin)],
                                 settle=self._settle, deadlines=self._deadlines)
        finally:
            if self.http is not None:
                await self.http.stop()
            self._publish_schedule(None)

    def _deadlines(self) -> tuple[float, ...]:
        due = self.desk.next_deadline()
        answers = (time.monotonic() + ANSWERS_EVERY_S,) if self.organizer is not None else ()
        return answers if due is None else (due, *answers)

    def status(self) -> dict[str, Any]:
        return self.desk.status(time.monotonic())

    def _lease_status(self) -> dict[str, Any]:
        """The role, epoch and lease of this instance, and the instances standing by."""
        assert self.lease is not None
        return {"role": "leader", "epoch": self.lease.epoch, "lease": self.lease.current(),
                "instances": self.lease.instances()}

    def _still_leading(self) -> None:
        """Nothing is committed, sent or announced past the lease's local deadline (a leader
        paused past its lease finds so first thing on waking)."""
        if self.lease is not None and not self.lease.valid():
            raise Deposed(f"the lease of epoch {self.lease.epoch} has run out")

    def _settle(self, now: float) -> None:
        self._still_leading()
        if self.organizer is not None:
            for a in self.organizer.answers():
                self.desk.answered(a.key, a.recurrence, a.address, a.partstat, now)
        self.desk.resolve_conflicts(now)
        self.desk.retry_waiting(now)
        self.desk.archive_ended(now)
        self.transport.flush()  # agents hear of a decision before the client that asked for it
        for client, message in self.desk.answer_waiters(time.monotonic()):
            self._reply(client, message)
        self._publish_schedule(time.monotonic())

    def _drain_admin(self) -> None:
        replies: list[tuple[bytes, dict[str, Any]]] = []
        for _ in range(ADMIN_BATCH):
            try:
                frames = self._admin_sync.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            client, parts = frames[0], frames[1:]
            if len(parts) != 1:
                reply: dict[str, Any] | None = admin.error(None, "invalid", f"a request is one frame, not {len(parts)}")
            elif len(parts[0]) > admin.MAX_ADMIN_FRAME:
                reply = admin.error(None, "invalid", f"a request of {len(parts[0]):,} bytes is too large "
                                                      f"(at most {admin.MAX_ADMIN_FRAME:,})")
            else:
                began = time.perf_counter()
                reply = self.desk.request(client, parts[0], time.monotonic())
                if client != HTTP_ID:  # the HTTP side times its own, waits included
                    self.metrics.admin_latency.labels(door="zmq", op="request").observe(time.perf_counter() - began)
            if reply is not None:
                replies.append((client, reply))
        if replies:
            self.transport.flush()  # what a request changed reaches the agents first
        for client, reply in replies:
            self._reply(client, reply)

    def _reply(self, client: bytes, message: dict[str, Any]) -> None:
        try:
            self._admin_sync.send_multipart([client, admin.encode(message)], zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            self.log.warning("admin reply not sent: {}", exc)

    def _publish_schedule(self, now: float | None) -> None:
        """schedule.ics holds every meeting: rewritten at most every PUBLISH_EVERY_S, and on stop."""
        if self.itip is None or not self.desk.itip_dirty:
            return
        if now is not None and now - self._published_at < PUBLISH_EVERY_S:
            return
        self.itip.publish()
        self.desk.itip_dirty = False
        self._published_at = now or time.monotonic()

    # --- views, for `serve --out` -------------------------------------------------------------

    def known(self) -> list[MeetingId]:
        return self.desk.known()

    def entry(self, meeting_id: MeetingId) -> dict[str, Any]:
        return self.desk.entry(meeting_id)
