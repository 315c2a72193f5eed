"""Who is there: each expected agent's presence, as a machine, and each connection's liveness.

An agent is ABSENT until it says Hello; JOINING once welcomed, until its Ready proves it hears
us; READY while it counts as present; LOST once its connection fell silent past the liveness
timeout (it answers "no" to everything still asked of it). A lost agent rejoins: by speaking
again in the same session (back from a partition: READY at once, what it missed stays "no"),
or by a Hello (JOINING again, like a restarted agent).

    ABSENT  --hello-->  JOINING  --ready-->  READY  --silent-->  LOST  --spoke-->  READY
                        JOINING  --silent--> LOST   READY  --hello (new session)--> JOINING
                                                     LOST  --hello--> JOINING

Liveness is per connection: a host carries many agents over one, and any message over it counts
for all of them (ZeroMQ Guide, ch. 4). So is patience: a connection that is still answering what
was sent before a request is working through a backlog in order, and is waited for, not judged
absent ("slow is not dead").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from enum import Enum, auto

from slotwise.coordinator.liveness import Liveness
from slotwise.shared.errors import UsageError
from slotwise.shared.ids import AgentId

# A deadline passed, but the silent agent's connection is still answering what was sent before
# this request (it is working through a backlog, in order): wait again, up to this many times,
# before re-sending or counting it absent.
PATIENCE = 8
# An unconfirmed Welcome is sent again after WELCOME_RESEND_S, then twice as long each time, up
# to WELCOME_RESEND_MAX_S. The connection is reliable and in order, so this only covers a
# Welcome lost with a dropped connection (the agent's own Hello resends cover that too); sent
# more often, ten thousand joining agents would be re-welcomed faster than they can answer.
WELCOME_RESEND_S = 1.0
WELCOME_RESEND_MAX_S = 8.0
HELLO_ANSWERED_S = 1.0  # a Hello repeated this soon after our Welcome, same connection: no second one


class Presence(Enum):
    ABSENT = auto()  # expected, never heard
    JOINING = auto()  # welcomed, not yet Ready
    READY = auto()  # proved it hears us: present
    LOST = auto()  # its connection fell silent: counted as "no" until it rejoins


class PresenceEvent(Enum):
    HELLO_FRESH = auto()  # a Hello opening a new session (a first contact, a restart)
    HELLO_AGAIN = auto()  # a Hello from the session we know (resent, or over a new connection)
    READY = auto()
    SPOKE = auto()  # any other message from its session (or from its connection, come back)
    SILENT = auto()  # its connection fell silent past the liveness timeout


_S, _V = Presence, PresenceEvent
PRESENCE_TRANSITIONS: dict[Presence, dict[PresenceEvent, Presence]] = {
    _S.ABSENT: {_V.HELLO_FRESH: _S.JOINING},
    _S.JOINING: {_V.HELLO_FRESH: _S.JOINING, _V.HELLO_AGAIN: _S.JOINING, _V.READY: _S.READY,
                 _V.SPOKE: _S.JOINING, _V.SILENT: _S.LOST},
    _S.READY: {_V.HELLO_FRESH: _S.JOINING, _V.HELLO_AGAIN: _S.READY, _V.READY: _S.READY,
               _V.SPOKE: _S.READY, _V.SILENT: _S.LOST},
    _S.LOST: {_V.HELLO_FRESH: _S.JOINING, _V.HELLO_AGAIN: _S.JOINING, _V.READY: _S.READY,
              _V.SPOKE: _S.READY},
}


class Roster:
    """Every expected agent's presence, and the Welcomes still waiting for a Ready."""

    def __init__(self, expected: Sequence[AgentId]) -> None:
        self.expected = tuple(expected)
        self._state: dict[AgentId, Presence] = dict.fromkeys(self.expected, Presence.ABSENT)
        self.ready_count = 0
        # Welcomed, not yet Ready: when to welcome again, and the interval after that.
        self._unconfirmed: dict[AgentId, tuple[float, float]] = {}
        self._took_part: set[AgentId] = set()  # Ready at least once: they were there
        self._gone: dict[AgentId, str] = {}  # never Ready, and their process is known to have exited: how

    def state(self, who: AgentId) -> Presence:
        return self._state[who]

    def fire(self, who: AgentId, event: PresenceEvent) -> Presence:
        """Move `who` by `event`; returns where it was."""
        was = self._state[who]
        to = PRESENCE_TRANSITIONS[was].get(event)
        if to is None:
            raise AssertionError(f"{who}: {event.name} is not allowed when {was.name}")
        self._state[who] = to
        self.ready_count += (to is Presence.READY) - (was is Presence.READY)
        if to is Presence.READY:
            self._unconfirmed.pop(who, None)
            self._took_part.add(who)
            self._gone.pop(who, None)
        return was

    def gone(self, who: AgentId, how: str = "") -> None:
        """`who`'s process exited before it was ever Ready (`how`: how it ended, what it said
        last): nothing left to wait for, and the reason of its meetings says why."""
        if who not in self._took_part:
            self._gone[who] = how

    def gone_how(self, who: AgentId) -> str | None:
        return self._gone.get(who)

    def took_part(self, who: AgentId) -> bool:
        return who in self._took_part

    def is_ready(self, who: AgentId) -> bool:
        return self._state[who] is Presence.READY

    def is_lost(self, who: AgentId) -> bool:
        return self._state[who] is Presence.LOST

    @property
    def everyone_ready(self) -> bool:
        """Nobody left to wait for: every expected agent is Ready, or its process has exited."""
        return self.ready_count + len(self._gone) == len(self.expected)

    def _in(self, state: Presence) -> tuple[AgentId, ...]:
        return tuple(a for a in self.expected if self._state[a] is state)

    @property
    def joined(self) -> tuple[AgentId, ...]:
        """Who took part (Ready at least once, even if lost since): what the results and every
        reason agree on as "was there"."""
        return tuple(a for a in self.expected if a in self._took_part)

    @property
    def missing(self) -> tuple[AgentId, ...]:
        """Who never joined."""
        return tuple(a for a in self.expected if a not in self._took_part)

    @property
    def present(self) -> tuple[AgentId, ...]:
        """Ready now."""
        return self._in(Presence.READY)

    @property
    def lost(self) -> tuple[AgentId, ...]:
        return self._in(Presence.LOST)

    # --- welcomes -------------------------------------------------------------------------------

    def welcome(self, who: AgentId, now: float, *, fresh: bool, reconnected: bool) -> bool:
        """A Hello from `who`, not yet Ready: True if a Welcome should go out now. A Hello
        resent while our Welcome was on its way (same session, same connection) is answered by
        that Welcome."""
        waiting = self._unconfirmed.get(who)
        if not fresh and not reconnected and waiting is not None and now < waiting[0] - waiting[1] + HELLO_ANSWERED_S:
            return False
        self._unconfirmed[who] = (now + WELCOME_RESEND_S, WELCOME_RESEND_S)
        return True

    def welcomes_due(self, now: float) -> list[AgentId]:
        """Welcomed agents still not Ready whose resend is due; each is rescheduled, backing off."""
        again = [a for a, (due, _) in self._unconfirmed.items() if now >= due]
        for a in again:
            _, every = self._unconfirmed[a]
            self._unconfirmed[a] = (now + every * 2, min(WELCOME_RESEND_MAX_S, every * 2))
        return again


class Connections:
    """Liveness, silence and patience per connection; the roster hears of agents coming back."""

    def __init__(self, roster: Roster, timeout_s: float) -> None:
        self.roster = roster
        self.liveness = Liveness(timeout_s)
        self._peer_of: dict[AgentId, str] = {}
        self._members: dict[str, set[AgentId]] = {}
        self._answered_upto: dict[AgentId, int] = {}  # the latest exchange each agent has answered
        self._replied_at: dict[str, float] = {}  # when each connection last answered anything
        self._silent: dict[str, set[AgentId]] = {}  # judged gone: their agents, if they speak again

    def peer_of(self, who: AgentId) -> str | None:
        return self._peer_of.get(who)

    def heard(self, who: AgentId, peer: str, now: float) -> None:
        """`who` spoke over `peer`. A connection judged gone that speaks again brings all its
        agents back (what they missed meanwhile stays counted as "no"), not just the one that
        spoke."""
        back = self._silent.pop(peer, None)
        if back is not None:
            for agent in back:
                if self.roster.is_lost(agent) and agent not in self._peer_of:
                    self.roster.fire(agent, PresenceEvent.SPOKE)
                    self._join(agent, peer)
        old = self._peer_of.get(who)
        if old != peer:
            if old is not None:
                self._members[old].discard(who)
                if not self._members[old]:
                    self._forget(old)
            self._join(who, peer)
        self.liveness.heard(peer, now)

    def _join(self, who: AgentId, peer: str) -> None:
        self._peer_of[who] = peer
        self._members.setdefault(peer, set()).add(who)

    def _forget(self, peer: str) -> set[AgentId]:
        """A connection gone (or emptied): its agents, who no longer have one."""
        members = self._members.pop(peer, set())
        for who in members:
            self._peer_of.pop(who, None)
        self.liveness.forget(peer)
        self._replied_at.pop(peer, None)
        return members

    def expire(self, now: float) -> list[AgentId]:
        """Agents whose connection fell silent past the timeout, each reported once (sorted per
        connection); the connection is remembered, in case it speaks again."""
        gone: list[AgentId] = []
        for peer in self.liveness.expired(now):
            members = self._forget(peer)
            if len(self._silent) >= len(self.roster.expected):  # reconnect churn: keep it bounded
                self._silent.pop(next(iter(self._silent)))
            self._silent[peer] = members
            gone += sorted(members)
        return gone

    def replied(self, who: AgentId, sent: int, now: float) -> None:
        """`who` answered the exchange numbered `sent`."""
        self._answered_upto[who] = max(self._answered_upto.get(who, 0), sent)
        peer = self._peer_of.get(who)
        if peer is not None:
            self._replied_at[peer] = now

    def busy(self, waiting: Iterable[AgentId], sent: int, waited: int, now: float, timeout_s: float) -> bool:
        """Some silent agent has answered nothing sent since this exchange, yet its connection
        answered something else within the timeout: it is working through a backlog in order,
        and this request is still in its queue. Waiting again is cheaper than sending it twice."""
        if waited >= PATIENCE:
            return False
        for who in waiting:
            peer = self._peer_of.get(who)
            if self._answered_upto.get(who, 0) < sent and peer is not None \
                    and now - self._replied_at.get(peer, -timeout_s) < timeout_s:
                return True
        return False

    def next_deadline(self) -> float | None:
        return self.liveness.next_deadline()


# A launched process still starting (alive, not yet Ready) is only late: while one is, the join
# timeout starts again, up to this many join timeouts after start, and never less than a minute
# (a short join timeout must not turn a busy machine's slow start into absences). A process that
# never gets going still cannot hold a run forever.
JOIN_PATIENCE = 10
JOIN_PATIENCE_MIN_S = 60.0


class JoinDeadline:
    """When joining ends: the join timeout after start, started again while a launched process
    is only late (none of its agents has said Hello yet, or one arrived within the timeout), up
    to JOIN_PATIENCE timeouts (at least JOIN_PATIENCE_MIN_S); at once when nobody is left to
    wait for."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.at: float | None = None  # None until started
        self._cap = 0.0
        self._heard_at: dict[AgentId, float] = {}  # each agent's last Hello or Ready, while joining

    def start(self, now: float) -> None:
        self.at = now + self.timeout_s
        self._cap = now + max(JOIN_PATIENCE * self.timeout_s, JOIN_PATIENCE_MIN_S)

    def heard(self, who: AgentId, now: float) -> None:
        self._heard_at[who] = now

    def launching(self, roster: Roster, alive: Iterable[Collection[AgentId]], exited: Mapping[AgentId, str],
                  now: float) -> None:
        """What the shell knows of the processes it launched: each living one's agents, and the
        agents whose process died (how it ended: their meetings' reasons say it)."""
        for who, how in exited.items():
            if who in roster.expected:
                roster.gone(who, how)
        if self.at is None:
            return
        for group in alive:
            if not any(a in roster.expected and not roster.is_ready(a) for a in group):
                continue
            heard = [self._heard_at[a] for a in group if a in self._heard_at]
            if not heard or now - max(heard) < self.timeout_s:
                self.at = max(self.at, min(now + self.timeout_s, self._cap))
                return

    def passed(self, now: float) -> bool:
        if self.at is None:
            raise UsageError("start() must be called first")
        return now >= self.at
