"""`slotwise serve`: the coordinator as a long-running service, with an admin socket and a store.

The agents' side is the batch coordinator's, unchanged (`CoordinatorService`: sockets, CURVE,
drops, rate limits); the core runs open-ended. What this shell adds:

- an admin socket (ROUTER, JSON, see shared/wire/admin.py), admitting only admin keys with CURVE and
  bound to loopback or ipc without;
- the store: every request and decision is committed before it is acknowledged or announced,
  and a restart rebuilds the core from it (decided meetings booked, in-flight ones asked again);
- waiting: an `add` or `move` is answered when its meetings are decided, or when its wait ends.

Nothing here decides where a meeting goes; that is the core's, as in a batch run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import zmq
import zmq.asyncio
from loguru import logger

from slotwise.coordinator.itip import ItipWriter
from slotwise.coordinator.negotiation import (
    Action,
    Cancelled,
    ConflictReported,
    Decided,
    LiveNegotiation,
    MeetingPhase,
    MeetingView,
    MoveFailed,
)
from slotwise.coordinator.plan import Plan, compile_submission
from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.coordinator.service import CoordinatorService
from slotwise.coordinator.store import Store, canonical
from slotwise.shared.decision import Decision
from slotwise.shared.endpoints import Endpoints, is_loopback_address
from slotwise.shared.errors import EndpointError, Problem, ScenarioError, UsageError
from slotwise.shared.ids import MeetingId
from slotwise.shared.keys import ServerKeys
from slotwise.shared.scenario import Scenario, render_path
from slotwise.shared.wire import admin

if TYPE_CHECKING:
    from loguru import Logger

PUBLISH_EVERY_S = 5.0  # schedule.ics is the whole schedule: not rewritten for every decision
MAX_MEETINGS = 200_000  # occurrences one service holds; beyond, adds are refused ("busy")
ADMIN_BATCH = 100  # admin requests handled per wake-up, so agents' messages are never starved


@dataclass
class _Waiter:
    identity: bytes
    rid: int
    ids: tuple[MeetingId, ...]
    deadline: float
    move: MeetingId | None = None  # for a move: answered when the move ends


class LiveService:
    def __init__(self, scenario: Scenario, plan: Plan, endpoints: Endpoints, admin_address: str,
                 store: Store, *, keys: ServerKeys | None = None, allow_past: bool = False,
                 context: zmq.asyncio.Context | None = None, itip: ItipWriter | None = None) -> None:
        if keys is None and not is_loopback_address(admin_address):
            raise EndpointError(f"refusing to bind the admin socket to {admin_address} without keys: "
                                "anyone who reaches it could cancel every meeting. Bind a loopback or "
                                "ipc address, or pass --keys DIR with admins/NAME.key in it.")
        if keys is not None and not keys.admins:
            raise EndpointError(f"{keys.directory / 'admins'} holds no admin public keys: nobody could use "
                                "the admin socket (create one with: slotwise keys generate NAME --admin)")
        self.scenario = scenario
        self.plan = replace(plan, meetings=(), by_id={})  # meetings come from the store and requests
        self._initial = plan.meetings
        self.store = store
        self.itip = itip  # --ics-out: iTIP files, rewritten as meetings change
        self._published_at = 0.0
        self._itip_dirty = itip is not None  # schedule.ics is written at least once
        self.allow_past = allow_past
        self.log: Logger = logger.bind(role="coordinator")
        self.agents = CoordinatorService(self.plan, endpoints, keys=keys, context=context, on_action=self._on_action)
        ctx = context or zmq.asyncio.Context.instance()
        self._admin = ctx.socket(zmq.ROUTER)
        self._admin_sync: zmq.Socket[bytes] = zmq.Socket.shadow(self._admin.underlying)
        self._admin.setsockopt(zmq.MAXMSGSIZE, admin.MAX_ADMIN_FRAME)
        self._admin.setsockopt(zmq.LINGER, 0)
        self._admin.setsockopt(zmq.RCVHWM, 1000)
        if keys is not None:
            self._admin.zap_domain = admin.ADMIN_DOMAIN.encode()  # admitted by the admin allow-list only
            self._admin.curve_server = True
            self._admin.curve_secretkey = keys.secret
            self._admin.curve_publickey = keys.public
        self._admin_requested = admin_address
        self.admin_endpoint: str | None = None
        self.core = LiveNegotiation(self.plan)
        self._specs: dict[MeetingId, MeetingSpec] = {}
        self._series: dict[MeetingId, list[MeetingId]] = {}  # submitted id -> its occurrences
        self._waiters: list[_Waiter] = []
        self._conflicts: list[ConflictReported] = []
        self._changed = False  # something was decided, moved or cancelled since waiters were checked
        self._order = 0
        self.requests_served = 0
        self.started_at = time.monotonic()

    # --- start-up -------------------------------------------------------------------------------

    def bind(self) -> tuple[Endpoints, str]:
        endpoints = self.agents.bind()
        try:
            self._admin.bind(self._admin_requested)
        except zmq.ZMQError as exc:
            raise EndpointError(f"cannot bind {self._admin_requested}: {exc.strerror}") from None
        self.admin_endpoint = self._admin.getsockopt_string(zmq.LAST_ENDPOINT)
        return endpoints, self.admin_endpoint

    def close(self) -> None:
        self._admin.close()
        self.agents.close()
        self.store.close()

    def _compile(self, data: list[Any], source: str, *, bounded: bool = True) -> tuple[list[Any], tuple[MeetingSpec, ...]]:
        meetings, specs = compile_submission(self.scenario, data, source, order_from=self._order, bounded=bounded)
        self._order += len(specs)
        return meetings, specs

    def _restore(self) -> tuple[list[MeetingSpec], list[tuple[MeetingSpec, dict[str, str | None]]]]:
        """Rebuild the core from the store; returns what must be negotiated again once started."""
        requests = self.store.requests()
        for i in range(0, len(requests), 500):  # compiled in slices, as requests were
            chunk = requests[i:i + 500]
            _, specs = self._compile([body for _, body in chunk], str(self.store), bounded=False)
            self._remember(specs)
        pending: list[MeetingSpec] = []
        moves: list[tuple[MeetingSpec, dict[str, str | None]]] = []
        rows = self.store.meetings()
        for row in rows:
            spec = self._specs.get(MeetingId(row.id))
            if spec is None:
                self.log.warning("stored meeting {} no longer compiles from its request; left out", row.id)
                continue
            if row.status == "pending":
                pending.append(spec)
                continue
            self.core.restore(spec, row.decision, cancelled=row.status == "cancelled")
            if self.itip is not None and row.status == "scheduled" and row.decision is not None:
                self.itip.scheduled(row.decision, spec.title)  # unchanged files stay as they are
            if row.moving is not None and row.status != "cancelled":
                moves.append((spec, row.moving))
        self.log.info("store {}: {} meetings ({} to negotiate again, {} moves to finish)", self.store,
                      len(rows), len(pending), len(moves))
        return pending, moves

    def _remember(self, specs: Sequence[MeetingSpec]) -> None:
        for spec in specs:
            self._specs[spec.id] = spec
            self._series.setdefault(spec.series or spec.id, []).append(spec.id)

    def _upcoming(self, spec: MeetingSpec, exclude: datetime | None = None) -> MeetingSpec:
        """Only candidates that have not begun (unless --allow-past), and not `exclude`."""
        if self.allow_past and exclude is None:
            return spec
        now = datetime.now(UTC)
        grid = self.plan.grid
        why: dict[int, str] = {}
        for c in spec.candidates:
            if grid.start(c) == exclude:
                why[c] = "where it is now"
            elif not self.allow_past and grid.start(c) < now:
                why[c] = "already begun"
        if not why:
            return spec
        return replace(spec, candidates=tuple(c for c in spec.candidates if c not in why),
                       excluded_at=MappingProxyType({**spec.excluded_at, **why}))

    # --- the loop -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        pending, moves = self._restore()
        fresh = [m for m in self._initial if m.id not in self._specs]
        now = time.monotonic()
        self.agents.perform(self.core.start(now), self.log, self.core)
        if fresh:  # the scenario's own meetings, the first time this store sees them
            self._add_specs(fresh, self._scenario_requests(fresh))
        self.agents.perform(self.core.submit([self._upcoming(s) for s in pending], now), self.log, self.core)
        for spec, window in moves:
            self._start_move(spec, window)
        poller = zmq.asyncio.Poller()
        poller.register(self.agents.router, zmq.POLLIN)
        poller.register(self._admin, zmq.POLLIN)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                times = [t for t in [self.core.next_deadline()] + [w.deadline for w in self._waiters] if t is not None]
                wait_s = max(0.0, min(times) - time.monotonic()) if times else 1.0
                polling = asyncio.ensure_future(poller.poll(int(min(wait_s, 1.0) * 1000) + 1))
                await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not polling.done():
                    polling.cancel()
                    break
                ready = dict(polling.result())
                backlog = False
                if self.agents.router in ready:
                    backlog = self.agents.drain(self.core, self.log)
                if self._admin in ready:
                    self._drain_admin()
                self.agents.perform(self.core.tick(time.monotonic(), backlog=self.agents.behind(backlog)), self.log, self.core)
                self._resolve_conflicts()
                self.agents.flush()  # agents hear of a decision before the client that asked for it
                self._answer_waiters(time.monotonic())
                self._publish_schedule(time.monotonic())
                self.agents.flush()
        finally:
            stopping.cancel()
            self._publish_schedule(None)

    def _publish_schedule(self, now: float | None) -> None:
        """schedule.ics holds every meeting: rewritten at most every PUBLISH_EVERY_S, and on stop."""
        if self.itip is None or not self._itip_dirty:
            return
        if now is not None and now - self._published_at < PUBLISH_EVERY_S:
            return
        self.itip.publish()
        self._itip_dirty = False
        self._published_at = now or time.monotonic()

    def _resolve_conflicts(self) -> None:
        """By each meeting's `on_conflict`: move it (the default), keep it, or drop the attendee
        if its rule holds without them (else move)."""
        while self._conflicts:
            c = self._conflicts.pop(0)
            spec = self._specs.get(c.meeting_id)
            if spec is None or self._phase(c.meeting_id) is not MeetingPhase.DECIDED:
                continue  # cancelled, or being moved already
            policy = spec.on_conflict
            self.log.info("{}'s calendar no longer leaves room for {}: {}", c.agent, c.meeting_id, policy)
            if policy == "keep":
                continue
            if policy == "drop-attendee":
                actions = self.core.drop_attendee(c.meeting_id, c.agent, time.monotonic())
                if actions:
                    self.agents.perform(actions, self.log, self.core)
                    continue
                self.log.info("{} cannot go on without {}: moving it instead", c.meeting_id, c.agent)
            self.store.move_started(c.meeting_id, {})
            self._start_move(spec, {})

    def _scenario_requests(self, specs: Sequence[MeetingSpec]) -> list[tuple[str, Any]]:
        by_id = {m.id: m for m in self.scenario.meetings}
        seen: dict[str, Any] = {}
        for spec in specs:
            key = spec.series or spec.id
            seen.setdefault(key, by_id[key].model_dump(mode="json", exclude_none=True, exclude_defaults=True))
        return list(seen.items())

    def _on_action(self, action: Action) -> None:
        """Committed to the store before anything is announced (the core announces later)."""
        if isinstance(action, Decided):
            self.store.decide(action.decision)
            self._changed = True
            if self.itip is not None:
                spec = self._specs.get(MeetingId(action.decision.id))
                self.itip.scheduled(action.decision, spec.title if spec else action.decision.id)
                self._itip_dirty = True
        elif isinstance(action, MoveFailed):
            self.store.move_failed(action.decision.id, action.reason)
            self._changed = True
        elif isinstance(action, ConflictReported):
            self._conflicts.append(action)  # answered after this batch of actions: it may move
        elif isinstance(action, Cancelled):
            self._changed = True
            if self.itip is not None:
                self.itip.cancelled(action.meeting_id)
                self._itip_dirty = True

    # --- admin requests -------------------------------------------------------------------------

    def _drain_admin(self) -> None:
        for _ in range(ADMIN_BATCH):
            try:
                frames = self._admin_sync.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 2:
                continue  # not our client's shape; nothing to answer to
            identity, frame = frames
            reply = self._request(identity, frame)
            if reply is not None:
                self._reply(identity, reply)

    def _reply(self, identity: bytes, message: dict[str, Any]) -> None:
        try:
            self._admin_sync.send_multipart([identity, admin.encode(message)], zmq.NOBLOCK)
            self.requests_served += 1
        except zmq.ZMQError as exc:
            self.log.warning("admin reply not sent: {}", exc)

    def _request(self, identity: bytes, frame: bytes) -> dict[str, Any] | None:
        rid: int | None = None
        try:
            req = admin.decode(frame)
            rid, op = admin.request_fields(req)
            if op == "add":
                return self._op_add(identity, rid, req)
            if op == "cancel":
                return self._op_cancel(rid, req)
            if op == "move":
                return self._op_move(identity, rid, req)
            if op == "list":
                return admin.ok(rid, [self.entry(i) for i in self._specs])
            return admin.ok(rid, self.status())
        except admin.AdminProtocolError as exc:
            return admin.error(rid, "invalid", str(exc))
        except ScenarioError as exc:
            return admin.error(rid, "invalid", "the meetings were not accepted; nothing was kept",
                               [{"path": p.path, "message": p.message} for p in exc.problems])
        except _Refusal as exc:
            return admin.error(rid, exc.kind, str(exc))

    def _op_add(self, identity: bytes, rid: int, req: dict[str, Any]) -> dict[str, Any] | None:
        wait = admin.wait_of(req)
        data = req.get("meetings")
        if not isinstance(data, list):
            raise admin.AdminProtocolError("'meetings' must be a list of meetings")
        meetings, specs = self._compile(data, "request")  # ScenarioError: nothing is kept
        ids: list[MeetingId] = []
        new: list[tuple[str, Any]] = []
        for i, m in enumerate(meetings):
            stored = self.store.request(m.id)
            if stored is None:
                if m.id in self._specs:
                    raise ScenarioError("request", [_problem(i, f"{m.id!r} is an occurrence of another meeting")])
                new.append((m.id, data[i]))
            elif canonical(stored) != canonical(data[i]):
                raise ScenarioError("request", [_problem(i, f"meeting {m.id!r} exists with different content "
                                                         "(cancel it, or use another id)")])
            ids += self._series.get(MeetingId(m.id), [])
        new_ids = {n for n, _ in new}
        added = [s for s in specs if (s.series or s.id) in new_ids]
        if len(self._specs) + len(added) > MAX_MEETINGS:
            raise _Refusal("busy", f"the service holds {len(self._specs)} meetings; at most {MAX_MEETINGS}")
        self._add_specs(added, new)
        ids += [s.id for s in added]
        return self._wait_or_answer(identity, rid, tuple(dict.fromkeys(ids)), wait)

    def _add_specs(self, specs: Sequence[MeetingSpec], requests: list[tuple[str, Any]]) -> None:
        if not specs:
            return
        self.store.add(requests, [(s.id, s.series or s.id) for s in specs])  # committed first
        self._remember(specs)
        self.agents.perform(self.core.submit([self._upcoming(s) for s in specs], time.monotonic()), self.log, self.core)

    def _resolve_ids(self, req: dict[str, Any]) -> list[MeetingId]:
        meeting_id = req.get("meeting_id")
        if not isinstance(meeting_id, str):
            raise admin.AdminProtocolError("'meeting_id' must be a string")
        ids = self._series.get(MeetingId(meeting_id)) or ([MeetingId(meeting_id)] if meeting_id in self._specs else [])
        if not ids:
            raise _Refusal("unknown", f"no meeting {meeting_id[:200]!r}")
        return ids

    def _op_cancel(self, rid: int, req: dict[str, Any]) -> dict[str, Any]:
        ids = self._resolve_ids(req)
        live = [i for i in ids if self._phase(i) is not MeetingPhase.CANCELLED]
        self.store.cancel(live)  # committed before anyone is told
        now = time.monotonic()
        for meeting_id in live:
            self.agents.perform(self.core.cancel(meeting_id, now), self.log, self.core)
        return admin.ok(rid, [self.entry(i) for i in ids])

    def _op_move(self, identity: bytes, rid: int, req: dict[str, Any]) -> dict[str, Any] | None:
        wait = admin.wait_of(req)
        ids = self._resolve_ids(req)
        if len(ids) != 1 or ids[0] != req["meeting_id"]:
            raise _Refusal("refused", f"{req['meeting_id']} is a recurring meeting: move one occurrence "
                                      f"({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''})")
        meeting_id = ids[0]
        phase = self._phase(meeting_id)
        if phase is not MeetingPhase.DECIDED:
            state = "cancelled" if phase is MeetingPhase.CANCELLED else "still being negotiated"
            raise _Refusal("conflict", f"{meeting_id} is {state}; only a decided meeting can be moved")
        window = {k: req.get(k) for k in ("not_before", "not_after")}
        for k, v in window.items():
            if v is not None and not isinstance(v, str):
                raise admin.AdminProtocolError(f"'{k}' must be an ISO 8601 time or null")
        spec = self._specs[meeting_id]
        self._start_move(spec, window, check_only=True)  # ScenarioError before anything is kept
        self.store.move_started(meeting_id, window)
        self._start_move(spec, window)
        return self._wait_or_answer(identity, rid, (meeting_id,), wait, move=meeting_id)

    def _start_move(self, spec: MeetingSpec, window: dict[str, str | None], *, check_only: bool = False) -> None:
        """Recompile the meeting as one meeting in the new window and negotiate it."""
        series = spec.series or spec.id
        raw = dict(self.store.request(series) or {})
        raw.pop("recurrence", None)
        raw["id"] = spec.id
        raw["not_before"] = window.get("not_before") or (spec.not_before.isoformat() if spec.not_before else None)
        raw["not_after"] = window.get("not_after") or (spec.not_after.isoformat() if spec.not_after else None)
        raw = {k: v for k, v in raw.items() if v is not None}
        _, compiled = compile_submission(self.scenario, [raw], "request")
        moved = replace(compiled[0], title=spec.title, series=spec.series, order=spec.order)
        current = self._decision(spec.id)
        exclude = current.start if current is not None and current.scheduled else None
        if not check_only:
            self.agents.perform(self.core.move(self._upcoming(moved, exclude), time.monotonic()), self.log, self.core)
            self._changed = True

    def _wait_or_answer(self, identity: bytes, rid: int, ids: tuple[MeetingId, ...], wait: float,
                        move: MeetingId | None = None) -> dict[str, Any] | None:
        waiter = _Waiter(identity, rid, ids, time.monotonic() + wait, move)
        if wait <= 0 or self._settled(waiter):
            return admin.ok(rid, [self.entry(i) for i in ids])
        self._waiters.append(waiter)
        return None

    def _settled(self, w: _Waiter) -> bool:
        if w.move is not None:
            return not self.core.moving(w.move)
        return all(self._phase(i) is not None and self._phase(i) not in _UNDECIDED for i in w.ids)

    def _answer_waiters(self, now: float) -> None:
        """Answer requests whose meetings are decided, once the agents have been told too."""
        if not self._waiters or (not self._changed and all(now < w.deadline for w in self._waiters)):
            return
        if self.core.announcing and all(now < w.deadline for w in self._waiters):
            return  # the burst goes out within ANNOUNCE_EVERY_S; answer after it
        self._changed = False
        still = []
        for w in self._waiters:
            if now >= w.deadline or self._settled(w):
                self._reply(w.identity, admin.ok(w.rid, [self.entry(i) for i in w.ids]))
            else:
                still.append(w)
        self._waiters = still

    # --- views ----------------------------------------------------------------------------------

    def known(self) -> list[MeetingId]:
        """Every meeting (occurrence) ever requested, in request order."""
        return list(self._specs)

    def _state(self, meeting_id: MeetingId) -> MeetingView | None:
        return self.core.meeting(meeting_id)

    def _phase(self, meeting_id: MeetingId) -> MeetingPhase | None:
        view = self._state(meeting_id)
        return None if view is None else view.phase

    def _decision(self, meeting_id: MeetingId) -> Decision | None:
        view = self._state(meeting_id)
        return None if view is None else view.decision

    def entry(self, meeting_id: MeetingId) -> dict[str, Any]:
        """A meeting in the results file's shape, plus "status" (and "move" while or after moving)."""
        from slotwise.report.results import MeetingResult

        view = self._state(meeting_id)
        assert view is not None, f"{meeting_id} is known to the service but not to its core"
        spec, phase, decision, move_failure, moving = view.spec, view.phase, view.decision, view.move_failure, view.moving
        status = self.entry_status(meeting_id)
        shown = decision or Decision(id=spec.id, scheduled=False)
        if phase is MeetingPhase.CANCELLED:
            shown = shown.model_copy(update={"scheduled": False, "reason": "cancelled"})
        entry: dict[str, Any] = MeetingResult.of(spec, shown).model_dump(mode="json")
        entry["status"] = status
        if moving:
            entry["move"] = {"status": "pending", "reason": None}
        elif move_failure is not None:
            entry["move"] = {"status": "failed", "reason": move_failure}
        return entry

    def status(self) -> dict[str, Any]:
        counts = {"scheduled": 0, "failed": 0, "cancelled": 0, "pending": 0}
        for meeting_id in self._specs:
            counts[self.entry_status(meeting_id)] += 1
        lost = self.core.lost
        return {
            "participants": {"expected": len(self.plan.participants), "connected": list(self.core.joined),
                             "lost": list(lost),
                             "never_joined": [a for a in self.core.missing if a not in lost]},
            "meetings": counts,
            "moving": sum(1 for m in self._specs if self.core.moving(m)),
            "requests_served": self.requests_served,
            "uptime_s": round(time.monotonic() - self.started_at, 3),
        }

    def entry_status(self, meeting_id: MeetingId) -> str:
        view = self._state(meeting_id)
        assert view is not None
        phase, decision = view.phase, view.decision
        if phase is MeetingPhase.CANCELLED:
            return "cancelled"
        if decision is None:
            return "pending"
        return "scheduled" if decision.scheduled else "failed"


_UNDECIDED = frozenset({MeetingPhase.PENDING, MeetingPhase.ASKING, MeetingPhase.ANSWERED, MeetingPhase.HOLDING})


class _Refusal(UsageError):
    """An admin request that cannot be done as asked; the reply carries `kind` and the reason."""

    def __init__(self, kind: admin.ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: admin.ErrorKind = kind


def _problem(i: int, message: str) -> Problem:
    return Problem(render_path(("meetings", i, "id")), message)


