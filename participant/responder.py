"""The agent core: coordinator messages in, replies out. No sockets, no clock.

The agent tells the coordinator nothing but yes/no per candidate slot (under `privacy: counts`,
those masked so that only the count over every invitee is readable) and whether a hold
succeeded; its free time, its other meetings and the reasons behind a "no" stay here.

Every message first passes the agent's admission gate (shared/wire/gate.py: only the
coordinator may speak, only the incarnation that welcomed us, nothing twice). A ProtocolError
drops the message; any other exception is our bug and leaves the responder in its error state
(CoreError after; shared/guarded.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from slotwise.participant.calendar import Calendar
from slotwise.shared.decision import Decision
from slotwise.shared.errors import ProtocolError
from slotwise.shared.guarded import Guarded, guarded
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.masking import MaskKey, masked
from slotwise.shared.slots import Interval, SlotGrid
from slotwise.shared.wire.gate import Admitted
from slotwise.shared.wire.messages import (
    Answer,
    AvailabilityRequest,
    AvailabilityResponse,
    Body,
    Conflict,
    Freed,
    Heartbeat,
    Hello,
    Hold,
    HoldReply,
    MaskedAvailability,
    MeetingCancelled,
    MeetingFailed,
    MeetingScheduled,
    Ready,
    Release,
    Shutdown,
    Welcome,
)

ANSWERS = frozenset({"ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION"})  # what Answer may say
HELLO_RESEND_S = 0.5  # until welcomed; cheap, and covers a coordinator that starts after us
HELLO_RESEND_MAX_S = 4.0  # doubling up to this: ten thousand agents must not flood a busy coordinator
REJOIN_AFTER_HEARTBEATS = 4  # this many silent heartbeat intervals: say Hello again


@dataclass(frozen=True, slots=True)
class Send:
    body: Body


@dataclass(frozen=True, slots=True)
class Exit:
    reason: str
    clean: bool = True


@dataclass(frozen=True, slots=True)
class Booked:
    """A meeting this agent attends was scheduled (or moved): its reminders are due from `meeting`."""

    meeting: MeetingScheduled


@dataclass(frozen=True, slots=True)
class Unbooked:
    """This agent no longer attends the meeting (cancelled, or moved without it): drop its reminders."""

    meeting_id: MeetingId


AgentAction = Send | Exit | Booked | Unbooked


@dataclass(slots=True)
class Link:
    """When the coordinator was last heard over a connection. Agents hosted together share one:
    a frame for any of them proves the coordinator is there for all, so a busy host's quiet
    agents do not each decide it has gone and flood it with Hellos."""

    heard: float = 0.0


class Responder(Guarded):
    core_name = "responder"

    def __init__(self, name: AgentId, calendar: Calendar, coordinator_timeout_s: float,
                 link: Link | None = None, mask_key: MaskKey | None = None) -> None:
        self.name = name
        # privacy: counts: this agent's Curve25519 pair (its CURVE key's, or one of its own).
        self.mask_key = mask_key or MaskKey()
        self.link = link if link is not None else Link()
        self.calendar = calendar
        self.coordinator_timeout_s = coordinator_timeout_s
        self.welcomed = False
        self._heartbeat_s = 1.0
        self._hello_due = 0.0
        self._hello_every = HELLO_RESEND_S
        # Off for all but one agent of a host: the coordinator counts liveness per connection.
        self.heartbeats = True
        self._heartbeat_due: float | None = None
        self._asked: dict[str, AvailabilityRequest] = {}  # last request per open meeting
        self.coordinator_session: str | None = None  # of the coordinator that last welcomed us
        # What this agent was told was decided with it attending, for its record.
        self.decisions: dict[MeetingId, Decision] = {}
        self._conflicts: set[MeetingId] = set()  # reported, not yet answered by a new announcement
        self._answered: dict[MeetingId, str] = {}  # the owner's answer last told, per accepted meeting

    def start(self, now: float) -> list[AgentAction]:
        self.link.heard = now
        self._hello_due = now + HELLO_RESEND_S
        return [Send(self._hello())]

    def _hello(self) -> Hello:
        return Hello(name=self.name, accepted=tuple(sorted(self.calendar.accepted)), mask_key=self.mask_key.public)

    @guarded
    def receive(self, admitted: Admitted, now: float) -> list[AgentAction]:
        """Feed one message the gate admitted; raises ProtocolError to drop it."""
        env = admitted.env
        body = env.body
        if isinstance(body, Welcome):
            if admitted.fresh:
                # First contact, or the coordinator restarted: holds from before mean nothing.
                self.calendar.holds.clear()
            self.coordinator_session = env.session
            self.welcomed = True
            self._heartbeat_s = body.heartbeat_s
            self._heartbeat_due = now + body.heartbeat_s if self.heartbeats else None
            self._hello_every = HELLO_RESEND_S
            self.link.heard = now
            return [Send(Ready())]
        self.link.heard = now
        if isinstance(body, AvailabilityRequest):
            self._asked[body.meeting_id] = body
            return [Send(self._masked(body) if body.counted else self._answer(body))]
        if isinstance(body, Hold):
            why_not = self.calendar.hold(MeetingId(body.meeting_id), Interval(body.start, body.end),
                                         body.round)
            asked = self._asked.get(body.meeting_id)
            # Fresh answers help the walk skip closed slots, but under counts they would say who.
            fresh = self._answer(asked).available if why_not and asked and not asked.counted else None
            reply = HoldReply(meeting_id=body.meeting_id, round=body.round,
                              accepted=why_not is None, reason=why_not, available=fresh)
            return [Send(reply)]
        if isinstance(body, (MeetingScheduled, MeetingFailed, MeetingCancelled)):
            self._asked.pop(body.meeting_id, None)  # decided: no hold for it will come again
            self._conflicts.discard(MeetingId(body.meeting_id))  # where it stands now is news
            self._answered.pop(MeetingId(body.meeting_id), None)  # written anew, as accepted: asked again
        if isinstance(body, Release):
            self.calendar.release(MeetingId(body.meeting_id), body.round)
        elif isinstance(body, MeetingScheduled):
            meeting = MeetingId(body.meeting_id)
            if self.name in body.attendees:
                clash = self.calendar.accept(meeting, Interval(body.start, body.end))
                self.decisions[meeting] = Decision.announced(body)
                if clash is not None:
                    raise ProtocolError(f"scheduled {body.meeting_id} overlaps {clash} (recorded anyway)")
                return [Booked(body)]
            self.calendar.release(meeting)
            return self._unbook(meeting)  # moved without us, if we held it before
        elif isinstance(body, MeetingFailed):
            self.calendar.release(MeetingId(body.meeting_id))
        elif isinstance(body, MeetingCancelled):
            self.calendar.release(MeetingId(body.meeting_id))
            return self._unbook(MeetingId(body.meeting_id))
        elif isinstance(body, Shutdown):
            return [Exit(f"coordinator: {body.reason}")]
        elif not isinstance(body, Heartbeat):
            raise ProtocolError(f"{type(body).__name__} is not something a coordinator sends")
        return []

    def calendar_changed(self) -> list[AgentAction]:
        """The owner's calendar was read again: report each accepted meeting it no longer
        leaves room for, once per meeting until the coordinator says where it stands, and say
        when time was freed (that is all: where stays here)."""
        freed = self.calendar.reread()
        if self.coordinator_session is None:
            return []
        fresh = [m for m in self.calendar.conflicts() if m not in self._conflicts]
        self._conflicts.update(fresh)
        said: list[AgentAction] = [Send(Conflict(meeting_id=m)) for m in sorted(fresh)]
        return said + [Send(Freed())] if freed else said

    def answers_read(self, answers: Mapping[str, tuple[str, datetime | None]]) -> list[AgentAction]:
        """The owner's answers (PARTSTAT) on the events written for them, after a read of their
        calendar: each change to an accepted meeting told once. An event is written accepted (the
        agent found the time free); an answer that differs is the owner's, from their client."""
        if self.coordinator_session is None:
            return []
        said: list[AgentAction] = []
        for meeting, booked in sorted(self.calendar.accepted.items()):
            given, at = answers.get(meeting, (None, None))
            if given is None or given not in ANSWERS or at != booked.when.start \
                    or given == self._answered.get(meeting, "ACCEPTED"):
                continue  # no answer, or one to another time (the event not yet written anew), or told
            self._answered[meeting] = given
            said.append(Send(Answer(meeting_id=meeting, partstat=given)))  # type: ignore[arg-type]
        return said

    def _unbook(self, meeting: MeetingId) -> list[AgentAction]:
        if self.calendar.accepted.pop(meeting, None) is None:
            return []
        self.decisions.pop(meeting, None)
        return [Unbooked(meeting)]

    def reconnected(self, now: float) -> None:
        """Our connection is new (the coordinator's side sees a stranger): say Hello on it now."""
        self.welcomed = False
        self._hello_due = now
        self._hello_every = HELLO_RESEND_S

    def _answer(self, req: AvailabilityRequest) -> AvailabilityResponse:
        yes = self.calendar.answer(SlotGrid(req.origin, req.slot_minutes), req.duration_minutes,
                                   req.slots, MeetingId(req.meeting_id))
        return AvailabilityResponse(meeting_id=req.meeting_id, round=req.round, available=yes)

    def _masked(self, req: AvailabilityRequest) -> MaskedAvailability:
        """privacy: counts: the answer masked so that only the sum over everyone asked means anything."""
        if self.name not in req.peers:
            raise ProtocolError(f"a counts request for {req.meeting_id} that does not name us")
        if len(req.peers) < 2:  # a count of one is our answer: a probe, not a count
            raise ProtocolError(f"a counts request for {req.meeting_id} that names no one else")
        if req.keys[req.peers.index(self.name)] != self.mask_key.public:
            raise ProtocolError(f"a counts request for {req.meeting_id} with another key for us")
        yes = self._answer(req).available
        sums = masked(self.mask_key, self.name, req.peers, req.keys, req.groups, req.counted,
                      req.meeting_id, req.round, yes)
        return MaskedAvailability(meeting_id=req.meeting_id, round=req.round, sums=sums)

    def forget_ended(self, before: datetime) -> int:
        """Meetings that ended before `before` leave this agent's calendar and record, so one
        that runs for months holds (and says in its Hello) only what is ahead; the service's
        store keeps the rest. Returns how many."""
        gone = [m for m, c in self.calendar.accepted.items() if c.when.end < before]
        for meeting_id in gone:
            del self.calendar.accepted[meeting_id]
            self.decisions.pop(meeting_id, None)
        return len(gone)

    def tick(self, now: float) -> list[AgentAction]:
        if self.coordinator_timeout_s > 0 and now >= self.link.heard + self.coordinator_timeout_s:
            return [Exit(f"coordinator silent for {self.coordinator_timeout_s:g}s; giving up",
                         clean=False)]
        if self.welcomed and now >= self.link.heard + REJOIN_AFTER_HEARTBEATS * self._heartbeat_s:
            # The coordinator went quiet: it may have restarted elsewhere or lost us. Say Hello
            # until one answers (a new incarnation resumes from its journal) or we give up.
            self.welcomed = False
            self._hello_due = now
        if not self.welcomed and now >= self._hello_due:
            self._hello_due = now + self._hello_every
            self._hello_every = min(HELLO_RESEND_MAX_S, self._hello_every * 2)
            return [Send(self._hello())]
        if self._heartbeat_due is not None and now >= self._heartbeat_due:
            self._heartbeat_due = now + self._heartbeat_s
            return [Send(Heartbeat())]
        return []

    def next_deadline(self) -> float:
        # 0: never give up (a live service's agent waits out a restart).
        times = [self.link.heard + self.coordinator_timeout_s] if self.coordinator_timeout_s > 0 else []
        if not self.welcomed:
            times.append(self._hello_due)
        else:
            times.append(self.link.heard + REJOIN_AFTER_HEARTBEATS * self._heartbeat_s)
            if self._heartbeat_due is not None:
                times.append(self._heartbeat_due)
        return min(times)
