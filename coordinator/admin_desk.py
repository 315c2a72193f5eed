"""What `serve` does with an admin request: sans-IO, so it can be tested on a fake clock.

The desk owns the service's bookkeeping around the live core: the specs of every meeting ever
requested (by occurrence and by series), the clients waiting for their meetings to be decided,
the conflicts agents report, and the store, through its interface. It never touches a socket or
a clock: the shell hands it a request's bytes and the time, performs the core's actions through
the `perform` it was given, and sends back the replies it returns.

Its promises:
- every request and decision is committed to the store before it is acknowledged or announced
  (a decision through `observe`, which sees each action before it is performed);
- a request that is refused (invalid, unknown, busy, a conflict) leaves nothing behind;
- an `add` or `move` with a wait is answered when its meetings are decided (and the agents were
  told first), or when its wait ends;
- a restart rebuilds the core from the store: decided meetings booked as before, in-flight ones
  negotiated again, moves finished.

Nothing here decides where a meeting goes; that is the core's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from loguru import logger

from slotwise.coordinator.answers import Answers
from slotwise.coordinator.archive import ARCHIVE_EVERY_S, archived_entry, has_ended
from slotwise.coordinator.conflicts import Conflicts
from slotwise.coordinator.disclosure import horizon_slots, status_summary
from slotwise.coordinator.entries import entry_of, status_of
from slotwise.coordinator.invitation import Invitation
from slotwise.coordinator.negotiation import (
    Action,
    AnswerGiven,
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
from slotwise.coordinator.requested import Requested
from slotwise.coordinator.restore import compile_stored
from slotwise.coordinator.retries import Retries
from slotwise.coordinator.store import Store, canonical
from slotwise.coordinator.upcoming import upcoming
from slotwise.coordinator.waiters import Reply, Waiters
from slotwise.coordinator.within import resolve_within
from slotwise.shared.decision import Decision
from slotwise.shared.errors import Problem, ScenarioError, UsageError
from slotwise.shared.events import Directory, Person
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.scenario import Scenario, render_path
from slotwise.shared.slots import Interval
from slotwise.shared.wire import admin

MAX_MEETINGS = 200_000  # occurrences one service holds; beyond, adds are refused ("busy")
# `status` works its privacy figures out again at most this often: for an organisation (10,000
# people, 20,000 meetings placed) they take about 2 s, too long to spend on every poll.
PRIVACY_EVERY_S = 60.0

Perform = Callable[[list[Action]], None]


class Invitations(Protocol):
    """Where decisions are published as iTIP files (`--ics-out`); see coordinator/itip.py."""

    def scheduled(self, decision: Decision, invitation: Invitation) -> None: ...
    def cancelled(self, meeting_id: str) -> None: ...
    def flush(self) -> None: ...
    def occurrences(self, key: str, recurrence: datetime | None) -> list[str]: ...


class AdminDesk:
    def __init__(self, scenario: Scenario, plan: Plan, core: LiveNegotiation, store: Store, perform: Perform, *,
                 wall: Callable[[], datetime], allow_past: bool = False, itip: Invitations | None = None) -> None:
        """`wall` tells the time of day (which candidates have begun); `perform` carries the
        core's actions out (the shell's loop, or a test's network)."""
        self.scenario = scenario
        self._current = scenario  # rolled forward as the days pass (see _today)
        self.plan = plan
        self.core = core
        self.store = store
        self._perform = perform
        self._wall = wall
        self.allow_past = allow_past
        self.itip = itip
        self.itip_dirty = itip is not None  # schedule.ics is written at least once
        self.log = logger.bind(role="coordinator")
        self._requested = Requested()
        self._waiters = Waiters(core, self.entry)
        self._conflicts = Conflicts(plan.settings.conflict_quiet_s, plan.settings.conflict_moves_per_day, self.log)
        directory = Directory.of(scenario)
        self._answers = Answers({directory.address(p): AgentId(p) for p in scenario.participants
                                 if directory.people.get(p, Person()).email})
        self.retries = Retries(scenario.policies.retry.attempts, self._invitees)
        self._order = 0
        self._served_now = 0  # replies sent at once; those after a wait are the waiters'
        self.started_at: float | None = None
        self.submitted_at: dict[MeetingId, float] = {}
        self._archived_at: datetime | None = None  # open meetings: when asked for (for the metrics)
        self._privacy: tuple[float, dict[str, object]] | None = None  # status's privacy figures, and when
        self.status_extra: Callable[[], dict[str, Any]] | None = None  # what the shell adds (the lease)

    # --- start-up -------------------------------------------------------------------------------

    def start(self, initial: Sequence[MeetingSpec], now: float) -> None:
        """Rebuild from the store, start the core, and negotiate what is still open: the
        scenario's own meetings the first time this store sees them, meetings stored as
        pending, and moves that were in flight."""
        self.started_at = now
        pending, moves = self._restore()
        fresh = [m for m in initial if m.id not in self._requested and self.store.request(m.series or m.id) is None]
        self._perform(self.core.start(now))
        if fresh:
            self._add_specs(fresh, _scenario_requests(self.scenario, fresh), now)
        self._perform(self.core.submit([self._upcoming(s) for s in pending], now))
        for spec, window in moves:
            self._start_move(spec, window, now)

    def _today(self) -> Scenario:
        """The scenario as of today: a relative horizon (`days: N`) rolled forward, its grid kept.
        New requests and moves are compiled against it; a restart's stored meetings against the
        horizon as it was from the service's first day (`self.scenario`)."""
        zone = self.scenario.zone
        rolled = self._current.horizon.rolled(zone, self._wall().astimezone(zone).date())
        if rolled is not self._current.horizon:
            self._current = self._current.model_copy(update={"horizon": rolled})
            self.log.info("horizon rolled forward: {} to {}", rolled.start.isoformat(), rolled.end.isoformat())
            self.core.disclosure.roll(*horizon_slots(self.plan.grid, Interval(rolled.start, rolled.end)))
        return self._current

    def _compile(self, data: list[Any], source: str, *, bounded: bool = True,
                 restoring: bool = False) -> tuple[list[Any], tuple[MeetingSpec, ...]]:
        scenario = self.scenario if restoring else self._today()
        meetings, specs = compile_submission(scenario, data, source, order_from=self._order, bounded=bounded)
        self._order += len(specs)
        return meetings, specs

    def _restore(self) -> tuple[list[MeetingSpec], list[tuple[MeetingSpec, dict[str, str | None]]]]:
        rows = self.store.meetings()  # archived ones (their time has passed) stay in the store alone
        live = {MeetingId(row.id) for row in rows}
        specs = compile_stored(self.store.requests(), lambda bodies: self._compile(
            bodies, str(self.store), bounded=False, restoring=True)[1], self.log)
        self._requested.remember([s for s in specs if s.id in live])
        pending: list[MeetingSpec] = []
        moves: list[tuple[MeetingSpec, dict[str, str | None]]] = []
        for row in rows:
            spec = self._requested.get(MeetingId(row.id))
            if spec is None:  # its request was left out, and said so above
                continue
            if row.status == "pending":
                pending.append(spec)
                continue
            if row.status == "failed":
                self.retries.failed(spec.id)
            self.core.restore(spec, row.decision, cancelled=row.status == "cancelled")
            if self.itip is not None and row.decision is not None:  # unchanged files stay as they are
                self.itip.scheduled(row.decision if row.status != "cancelled" else
                                    Decision.failed(spec.id, "cancelled"), Invitation.of(spec))
            if row.moving is not None and row.status != "cancelled":
                moves.append((spec, row.moving))
        if self.itip is not None:
            self.itip.flush()
        self.log.info("store {}: {} meetings ({} to negotiate again, {} moves to finish)", self.store,
                      len(rows), len(pending), len(moves))
        return pending, moves

    def _upcoming(self, spec: MeetingSpec, exclude: datetime | None = None) -> MeetingSpec:
        return upcoming(spec, self.plan.grid, self._wall(), allow_past=self.allow_past, exclude=exclude)

    # --- what the core did ------------------------------------------------------------------

    def observe(self, action: Action) -> None:
        """Committed to the store before anything is announced (the core announces later)."""
        self.retries.note(action)
        if isinstance(action, Decided):
            self.store.decide(action.decision)
            self._waiters.changed()
            if self.itip is not None:
                self.itip.scheduled(action.decision, Invitation.of(self._requested.get(MeetingId(action.decision.id)),
                                                                   action.decision.id))
                self.itip.flush()
                self.itip_dirty = True
        elif isinstance(action, MoveFailed):
            self.store.move_failed(action.decision.id, action.reason)
            self._waiters.changed()
        elif isinstance(action, AnswerGiven):  # from the attendee's own copy, by their agent
            self._take_answer(action.meeting_id, action.agent, action.partstat)  # answered as conflicts are
        elif isinstance(action, ConflictReported):
            self._conflicts.report(action.meeting_id, action.agent)  # answered after this batch of actions: it may move
        elif isinstance(action, Cancelled):
            self._waiters.changed()
            self._answers.forget(MeetingId(action.meeting_id))
            if self.itip is not None:
                self.itip.cancelled(action.meeting_id)
                self.itip.flush()
                self.itip_dirty = True

    def resolve_conflicts(self, now: float) -> None:
        """By each meeting's `on_conflict`: move it (the default), keep it, or drop the attendee
        if its rule holds without them (else move). Damped: repeated reports of one conflict
        count once, and a conflict that moved its meeting lately waits (coordinator/conflicts.py)."""
        for meeting_id, agent, policy in self._conflicts.answerable(now, self._on_conflict, self._attends):
            if policy == "drop-attendee":
                actions = self.core.drop_attendee(meeting_id, agent, now)
                if actions:
                    self._perform(actions)
                    continue
                self.log.info("{} cannot go on without {}: moving it instead", meeting_id, agent)
            self.store.move_started(meeting_id, {})
            self._start_move(self._requested[meeting_id], {}, now)

    def _on_conflict(self, meeting_id: MeetingId) -> str | None:
        spec = self._requested.get(meeting_id)
        return None if spec is None else spec.on_conflict

    def answered(self, key: str, recurrence: datetime | None, address: str, partstat: str, now: float) -> None:
        """An attendee's answer from their calendar client, as the organizer's scheduling server
        has it: to a meeting or a whole series (`key`), or to one occurrence (`recurrence`). A
        decline is answered by the meeting's `on_decline`, damped as conflicts are."""
        agent = self._answers.name_of(address)
        if agent is None:
            self.log.info("an answer from {}, who is no participant: ignored", address)
            return
        ids = self.itip.occurrences(key, recurrence) if self.itip is not None else [key]
        for meeting_id in map(MeetingId, ids):
            self._take_answer(meeting_id, agent, partstat)
        self.resolve_conflicts(now)

    def _take_answer(self, meeting_id: MeetingId, agent: AgentId, partstat: str) -> None:
        """Shown with the meeting; a new decline reported, to be answered by `on_decline`."""
        spec, decision = self._requested.get(meeting_id), self._decision(meeting_id)
        if spec is None or decision is None or not decision.scheduled:
            return
        if self._answers.record(meeting_id, agent, partstat, decision.start) and self._attends(meeting_id, agent):
            self._conflicts.report(meeting_id, agent, spec.on_decline)

    def _attends(self, meeting_id: MeetingId, agent: AgentId) -> bool:
        """Booked and attending, not being moved or cancelled."""
        view = self.core.meeting(meeting_id)
        return view is not None and view.phase is MeetingPhase.DECIDED and view.decision is not None \
            and agent in view.decision.participants

    # --- requests -----------------------------------------------------------------------------

    def request(self, client: bytes, frame: bytes, now: float) -> dict[str, Any] | None:
        """The reply to send now, or None when the client waits (see `answer_waiters`)."""
        rid: int | None = None
        try:
            req = admin.decode(frame)
            rid, op = admin.request_fields(req)
            if op == "add":
                return self._served(self._op_add(client, rid, req, now))
            if op == "cancel":
                return self._served(self._op_cancel(rid, req, now))
            if op == "move":
                return self._served(self._op_move(client, rid, req, now))
            if op == "list":
                return self._served(self._op_list(rid, req))
            if op == "get":
                return self._served(admin.ok(rid, [self.entry(i) for i in self._resolve_ids(req)]))
            if op == "retry":
                return self._served(self._op_retry(client, rid, req, now))
            return self._served(admin.ok(rid, self.status(now)))
        except admin.AdminProtocolError as exc:
            return self._served(admin.error(rid, "invalid", str(exc)))
        except ScenarioError as exc:
            return self._served(admin.error(rid, "invalid", "the meetings were not accepted; nothing was kept",
                                            [{"path": p.path, "message": p.message} for p in exc.problems]))
        except _Refusal as exc:
            return self._served(admin.error(rid, exc.kind, str(exc)))

    def _op_list(self, rid: int, req: dict[str, Any]) -> dict[str, Any]:
        """One page, in id order: a list costs one page of work, whatever the store holds.
        `"archived": true` pages through the meetings whose time has passed, from the store."""
        limit, after = admin.page_of(req)
        if req.get("archived") is True:
            rows = self.store.archived(after, limit + 1)
            page = [archived_entry(row, self.store.request(row.series)) for row in rows[:limit]]
            return admin.ok(rid, page) | {"next": page[-1]["id"] if len(rows) > limit else None}
        ids, more = self._requested.page(after, limit)
        return admin.ok(rid, [self.entry(i) for i in ids]) | {"next": ids[-1] if more and ids else None}

    def _served(self, reply: dict[str, Any] | None) -> dict[str, Any] | None:
        if reply is not None:
            self._served_now += 1
        return reply

    @property
    def requests_served(self) -> int:
        return self._served_now + self._waiters.answered

    def _op_add(self, client: bytes, rid: int, req: dict[str, Any], now: float) -> dict[str, Any] | None:
        wait = admin.wait_of(req)
        data = req.get("meetings")
        if not isinstance(data, list):
            raise admin.AdminProtocolError("'meetings' must be a list of meetings")
        zone = self.scenario.zone
        data, problems = resolve_within(data, self._wall().astimezone(zone).date(), zone)
        if problems:
            raise ScenarioError("request", problems)
        meetings, specs = self._compile(data, "request")  # ScenarioError: nothing is kept
        ids: list[MeetingId] = []
        new: list[tuple[str, Any]] = []
        for i, m in enumerate(meetings):
            stored = self.store.request(m.id)
            if stored is None:
                if m.id in self._requested:
                    raise ScenarioError("request", [_problem(i, f"{m.id!r} is an occurrence of another meeting")])
                new.append((m.id, data[i]))
            elif canonical(stored) != canonical(data[i]):
                raise ScenarioError("request", [_problem(i, f"meeting {m.id!r} exists with different content "
                                                         "(cancel it, or use another id)")])
            ids += self._requested.occurrences(MeetingId(m.id))
        new_ids = {n for n, _ in new}
        added = [s for s in specs if (s.series or s.id) in new_ids]
        taken = next((s for s in added if s.id in self._requested), None)
        if taken is not None:  # ids are unique after expansion, here as in a scenario
            i = next(k for k, m in enumerate(meetings) if m.id == (taken.series or taken.id))
            raise ScenarioError("request", [_problem(i, f"its occurrence {taken.id!r} has the id of a meeting "
                                                        "the service holds")])
        if len(self._requested) + len(added) > MAX_MEETINGS:
            raise _Refusal("busy", f"the service holds {len(self._requested)} meetings; at most {MAX_MEETINGS}")
        self._add_specs(added, new, now)
        ids += [s.id for s in added]
        return self._waiters.wait_or_answer(client, rid, tuple(dict.fromkeys(ids)), wait, now)

    def _add_specs(self, specs: Sequence[MeetingSpec], requests: list[tuple[str, Any]], now: float) -> None:
        if not specs:
            return
        self.store.add(requests, [(s.id, s.series or s.id) for s in specs])  # committed first
        self._requested.remember(specs)
        self.submitted_at.update((s.id, now) for s in specs)
        self._perform(self.core.submit([self._upcoming(s) for s in specs], now))

    def _resolve_ids(self, req: dict[str, Any]) -> list[MeetingId]:
        meeting_id = req.get("meeting_id")
        if not isinstance(meeting_id, str):
            raise admin.AdminProtocolError("'meeting_id' must be a string")
        ids = self._requested.named(MeetingId(meeting_id))
        if not ids:
            raise _Refusal("unknown", f"no meeting {meeting_id[:200]!r}")
        return ids

    def _op_cancel(self, rid: int, req: dict[str, Any], now: float) -> dict[str, Any]:
        ids = self._resolve_ids(req)
        live = [i for i in ids if self._phase(i) is not MeetingPhase.CANCELLED]
        self.store.cancel(live)  # committed before anyone is told
        for meeting_id in live:
            self._perform(self.core.cancel(meeting_id, now))
        return admin.ok(rid, [self.entry(i) for i in ids])

    def _op_move(self, client: bytes, rid: int, req: dict[str, Any], now: float) -> dict[str, Any] | None:
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
        spec = self._requested[meeting_id]
        moved = self._recompiled(spec, window)  # ScenarioError before anything is kept
        self.store.move_started(meeting_id, window)
        self._negotiate_move(spec, moved, now)
        return self._waiters.wait_or_answer(client, rid, (meeting_id,), wait, now, move=meeting_id)

    def _recompiled(self, spec: MeetingSpec, window: dict[str, str | None]) -> MeetingSpec:
        """The meeting as one meeting (not a series) in the new window."""
        raw = dict(self.store.request(spec.series or spec.id) or {})
        raw.pop("recurrence", None)
        raw["id"] = spec.id
        raw["not_before"] = window.get("not_before") or (spec.not_before.isoformat() if spec.not_before else None)
        raw["not_after"] = window.get("not_after") or (spec.not_after.isoformat() if spec.not_after else None)
        raw = {k: v for k, v in raw.items() if v is not None}
        _, compiled = compile_submission(self._today(), [raw], "request")
        return replace(compiled[0], title=spec.title, series=spec.series, order=spec.order, uid=spec.uid,
                       instance=spec.instance, recurrence=spec.recurrence, instances=spec.instances)

    def _start_move(self, spec: MeetingSpec, window: dict[str, str | None], now: float) -> None:
        self._negotiate_move(spec, self._recompiled(spec, window), now)

    def _negotiate_move(self, spec: MeetingSpec, moved: MeetingSpec, now: float) -> None:
        current = self._decision(spec.id)
        exclude = current.start if current is not None and current.scheduled else None
        self.retries.moving(spec.id)
        self._perform(self.core.move(self._upcoming(moved, exclude), now))
        self._waiters.changed()

    def _op_retry(self, client: bytes, rid: int, req: dict[str, Any], now: float) -> dict[str, Any] | None:
        wait = admin.wait_of(req)
        ids = self._resolve_ids(req)
        failed = [i for i in ids if self.entry_status(i) in ("failed", "waiting")]
        if not failed:
            raise _Refusal("conflict", f"{req['meeting_id']} has not failed ({self.entry_status(ids[0])}); "
                                       "only a failed meeting can be retried")
        for meeting_id in failed:
            self.retries.forget(meeting_id)
            self._perform(self.core.retry(self._upcoming(self._requested[meeting_id]), now))
        self._waiters.changed()
        return self._waiters.wait_or_answer(client, rid, tuple(failed), wait, now)

    def retry_waiting(self, now: float) -> None:
        """Negotiate again the failed meetings `policies.retry` says are due (something changed
        that could make them fit), while their windows are open."""
        for meeting_id in self.retries.due(self._still_open):
            self._perform(self.core.retry(self._upcoming(self._requested[meeting_id]), now))
            self._waiters.changed()

    def archive_ended(self, now: float) -> int:
        """Meetings whose time has passed (by ARCHIVED_AFTER) leave the core and this desk, and
        are marked archived in the store: a service that runs for months holds only what is
        ahead. At most every ARCHIVE_EVERY_S; returns how many left."""
        wall = self._wall()
        if self._archived_at is not None and (wall - self._archived_at).total_seconds() < ARCHIVE_EVERY_S:
            return 0
        self._archived_at = wall
        ended = [m for m in self._requested if has_ended(self._view(m), self.plan.grid, wall)]
        if not ended:
            return 0
        self.store.archive(ended)  # committed first, as everything
        for meeting_id in ended:
            self.core.forget(meeting_id)
            self._requested.forget(meeting_id)
            self.retries.forget(meeting_id)
            self._answers.forget(meeting_id)  # a service that lives for months keeps no ended meeting's answers
            self.submitted_at.pop(meeting_id, None)
        self.log.info("archived {} meetings whose time has passed", len(ended))
        return len(ended)

    def _invitees(self, meeting_id: MeetingId) -> tuple[AgentId, ...]:
        spec = self._requested.get(meeting_id)
        return () if spec is None else spec.invitees

    def _still_open(self, meeting_id: MeetingId) -> bool:
        spec = self._requested.get(meeting_id)
        if spec is None or self._phase(meeting_id) is not MeetingPhase.DECIDED:
            return False
        wall = self._wall()
        return self.allow_past or any(self.plan.grid.start(c) >= wall for c in spec.candidates)

    # --- waiting ------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When the first waiting client's wait ends, or a held-back conflict may be answered."""
        times = [self._waiters.next_deadline(), self._conflicts.next_deadline()]
        return min((t for t in times if t is not None), default=None)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def answer_waiters(self, now: float) -> list[Reply]:
        """Replies to requests whose meetings are decided (call once the agents have been told)
        or whose wait has ended."""
        return self._waiters.due(now)

    # --- views ----------------------------------------------------------------------------------

    def known(self) -> list[MeetingId]:
        """Every meeting (occurrence) ever requested, in request order."""
        return list(self._requested)

    def _view(self, meeting_id: MeetingId) -> MeetingView | None:
        return self.core.meeting(meeting_id)

    def _phase(self, meeting_id: MeetingId) -> MeetingPhase | None:
        view = self._view(meeting_id)
        return None if view is None else view.phase

    def _decision(self, meeting_id: MeetingId) -> Decision | None:
        view = self._view(meeting_id)
        return None if view is None else view.decision

    def entry(self, meeting_id: MeetingId) -> dict[str, Any]:
        """A meeting in the results file's shape, plus "status" (and "move" while or after moving)."""
        view = self._known_view(meeting_id)
        answers = self._answers.of(meeting_id, view.decision.start if view.decision is not None else None)
        return entry_of(view, self.retries.waiting(meeting_id), answers)

    def entry_status(self, meeting_id: MeetingId) -> str:
        return status_of(self._known_view(meeting_id), self.retries.waiting(meeting_id))

    def _known_view(self, meeting_id: MeetingId) -> MeetingView:
        view = self._view(meeting_id)
        assert view is not None, f"{meeting_id} is known to the service but not to its core"
        return view

    def _standing(self) -> list[Decision]:
        """Every decision that stands now (what attendees have been told)."""
        return [d for m in self._requested if (d := self._known_view(m).decision) is not None]

    def _privacy_status(self, now: float) -> dict[str, object]:
        """`status`'s privacy figures, as of at most PRIVACY_EVERY_S ago (`age_s`)."""
        if self._privacy is None or now - self._privacy[0] >= PRIVACY_EVERY_S:
            self._privacy = now, status_summary(self.core.disclosure, self._standing(), self.plan.participants)
        at, figures = self._privacy
        return figures | {"age_s": round(now - at, 3)}

    def status(self, now: float) -> dict[str, Any]:
        counts = {"scheduled": 0, "failed": 0, "waiting": 0, "cancelled": 0, "pending": 0}
        for meeting_id in self._requested:
            counts[self.entry_status(meeting_id)] += 1
        lost = self.core.lost
        return {
            "participants": {"expected": len(self.plan.participants), "connected": list(self.core.present),
                             "lost": list(lost),
                             "never_joined": [a for a in self.core.missing if a not in lost]},
            "meetings": counts,
            "moving": sum(1 for m in self._requested if self.core.moving(m)),
            "requests_served": self.requests_served,
            "retries": self.retries.made,
            "answers": self._answers.counts(),
            "privacy": self._privacy_status(now),
            "timezone": self.scenario.timezone,
            "horizon": {"start": self._today().horizon.start.isoformat(), "end": self._current.horizon.end.isoformat()},
            "uptime_s": round(now - (self.started_at if self.started_at is not None else now), 3),
        } | (self.status_extra() if self.status_extra is not None else {})


class _Refusal(UsageError):
    """An admin request that cannot be done as asked; the reply carries `kind` and the reason."""

    def __init__(self, kind: admin.ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: admin.ErrorKind = kind


def _problem(i: int, message: str) -> Problem:
    return Problem(render_path(("meetings", i, "id")), message)


def _scenario_requests(scenario: Scenario, specs: Sequence[MeetingSpec]) -> list[tuple[str, Any]]:
    """The scenario file's own meetings, stored as requests the first time a store sees them."""
    by_id = {m.id: m for m in scenario.meetings}
    seen: dict[str, Any] = {}
    for spec in specs:
        key = spec.series or spec.id
        seen.setdefault(key, by_id[key].model_dump(mode="json", exclude_none=True, exclude_defaults=True))
    return list(seen.items())
