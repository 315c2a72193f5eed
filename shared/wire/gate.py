"""Admission: every frame from a peer passes one gate before a core sees it.

On the coordinator's side (`Gate`), in this order, cheapest first:

1. decode, with the key: the name CURVE authenticated the connection as must be the sender, or
   one of the names a host key speaks for (`codec.decode(..., speaks_for=...)`), checked before
   the body is validated;
2. who and how often (`SessionGuard.admit`): a stranger, a repeat or a replay is refused;
3. the connection: a Hello names its sender (and binds the session, and the connection, to the
   name); anything else must come from the session its sender's Hello bound, over a connection
   that said Hello as that sender. A connection speaks for the names it has said Hello as.

On an agent's side (`AgentGate`, one per hosted agent, after the host decoded the frame once):
only the coordinator speaks, nothing twice; a Welcome for this agent binds the coordinator's
session; before it, messages are not for us yet (heartbeats reach a host before its Welcome);
after it, only that session speaks.

What passes is an `Admitted` envelope, which says whether it opened a new session (a first
Hello, a restarted peer): the cores act on that, and never check admission themselves. Anything
refused is a ProtocolError (DecodeError for bytes), the peer's fault: dropped and logged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.wire.codec import Envelope, decode
from slotwise.shared.wire.guard import SessionGuard
from slotwise.shared.wire.messages import Hello, Welcome


@dataclass(frozen=True, slots=True)
class Admitted:
    env: Envelope
    connection: str  # the connection it came over (a host's agents share one)
    fresh: bool = False  # it opened a session not bound before: first contact, or a restart


class Gate:
    """The coordinator's door: decode with the key, then sender, session and connection."""

    def __init__(self, peers: Collection[AgentId],
                 speaks_for: Callable[[str], Collection[str]] | None = None) -> None:
        self.guard = SessionGuard(peers)
        self._speaks_for = speaks_for
        self._connection_of: dict[AgentId, str] = {}
        self._names: dict[str, set[AgentId]] = {}

    def admit(self, frame: bytes, connection: str, owner: str | None = None) -> Admitted:
        """Raw bytes from `connection` (authenticated as `owner`, with CURVE) to an admitted
        envelope, or DecodeError / ProtocolError."""
        speaks_for = self._speaks_for(owner) if self._speaks_for is not None and owner is not None else ()
        return self.check(decode(frame, sender=owner, speaks_for=speaks_for), connection)

    def check(self, env: Envelope, connection: str) -> Admitted:
        """The checks after decoding, for an envelope already decoded (tests, the fake network)."""
        self.guard.admit(env)
        sender = env.sender
        if isinstance(env.body, Hello):
            if env.body.name != sender:
                raise ProtocolError(f"Hello names {env.body.name!r} but was sent by {sender!r}")
            fresh = self.guard.bind(sender, env.session)
            self._bind(sender, connection)
            return Admitted(env, connection, fresh)
        if sender not in self._names.get(connection, ()):
            raise ProtocolError(f"sender {sender!r} on a connection that said no Hello as {sender!r}")
        self.guard.require_bound(env)
        return Admitted(env, connection)

    def _bind(self, name: AgentId, connection: str) -> None:
        old = self._connection_of.get(name)
        if old is not None and old != connection:
            names = self._names.get(old)
            if names is not None:
                names.discard(name)
                if not names:
                    del self._names[old]
        self._connection_of[name] = connection
        self._names.setdefault(connection, set()).add(name)

    def connection_of(self, name: AgentId) -> str | None:
        """The connection `name` said its last accepted Hello over: where its messages go."""
        return self._connection_of.get(name)

    def connections(self) -> dict[str, set[AgentId]]:
        """Every connection that said Hello, and the names it speaks for."""
        return self._names

    def names_on(self, connection: str) -> int:
        return len(self._names.get(connection, ()))


class AgentGate:
    """One hosted agent's door, after the host decoded a frame once for all of its agents."""

    def __init__(self, name: AgentId) -> None:
        self.name = name
        self.guard = SessionGuard([COORDINATOR])

    @property
    def coordinator_session(self) -> str | None:
        """The session of the coordinator that welcomed this agent (None: not welcomed yet)."""
        return self.guard.session(COORDINATOR)

    def check(self, env: Envelope) -> Admitted | None:
        """An admitted envelope; None for one that is not for us yet (before our Welcome);
        ProtocolError for one to drop."""
        self.guard.admit(env)
        if isinstance(env.body, Welcome):
            if env.body.name != self.name:
                raise ProtocolError(f"Welcome for {env.body.name!r} reached {self.name!r}")
            return Admitted(env, COORDINATOR, self.guard.bind(env.sender, env.session))
        welcomed_by = self.guard.session(COORDINATOR)
        if welcomed_by is None:
            return None  # broadcasts (heartbeats) reach us before our Welcome: not for us yet
        if env.session != welcomed_by:
            raise ProtocolError(f"{type(env.body).__name__} from coordinator session {env.session[:12]} "
                                "(not the one that welcomed us)")
        return Admitted(env, COORDINATOR)
