"""One guard below both cores: who may speak, in which incarnation, and nothing twice.

Every message passes here before a core acts on it, on either side, the way jupyter_client's
Session checks signature and replay for every channel:

- the sender must be one this side talks to (the coordinator: its participants; an agent: the
  coordinator);
- each (sender, session) pair keeps the sequence numbers it has seen recently; a number seen
  before, or older than everything remembered, is a duplicate or a replay. Order is not
  assumed (a message resent over a new connection after a reconnect can arrive behind newer
  ones), so this is a window, not "strictly increasing";
- a session is bound by the core when a message that may open one (Hello, Welcome) is accepted;
  everything else must come from the bound session.

Memory is bounded whatever peers send: SEEN_PER_SESSION numbers per session and
SESSIONS_PER_SENDER sessions per sender, for a fixed set of senders.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import AgentId
from slotwise.shared.wire.codec import Envelope

SEEN_PER_SESSION = 4096
SESSIONS_PER_SENDER = 4


@dataclass
class _Window:
    seen: dict[int, None] = field(default_factory=dict)  # insertion-ordered: oldest evicted first
    floor: int = 0  # every number at or below this counts as seen

    def admit(self, seq: int) -> bool:
        if seq <= self.floor or seq in self.seen:
            return False
        self.seen[seq] = None
        if len(self.seen) > SEEN_PER_SESSION:
            oldest = next(iter(self.seen))
            del self.seen[oldest]
            self.floor = max(self.floor, oldest)
        return True


class SessionGuard:
    def __init__(self, peers: Collection[AgentId]) -> None:
        self.peers = frozenset(peers)
        self._windows: dict[AgentId, dict[str, _Window]] = {}
        self._bound: dict[AgentId, str] = {}

    def admit(self, env: Envelope) -> None:
        """Raise ProtocolError for a message from a stranger, or one already delivered."""
        if env.sender not in self.peers:
            raise ProtocolError(f"{env.sender!r} is not a peer of this side")
        sessions = self._windows.setdefault(env.sender, {})
        window = sessions.get(env.session)
        if window is None:
            while len(sessions) >= SESSIONS_PER_SENDER:  # forget the oldest incarnation but the bound one
                stale = next((s for s in sessions if s != self._bound.get(env.sender)), next(iter(sessions)))
                del sessions[stale]
            window = sessions[env.session] = _Window()
        if not window.admit(env.seq):
            raise ProtocolError(f"duplicate or replayed {type(env.body).__name__} from {env.sender} "
                                f"(session {env.session[:12]}, seq {env.seq})")

    def bind(self, sender: AgentId, session: str) -> bool:
        """Make `session` the sender's current one; True if it changed (first contact or restart)."""
        changed = self._bound.get(sender) != session
        self._bound[sender] = session
        return changed

    def session(self, sender: AgentId) -> str | None:
        return self._bound.get(sender)

    def require_bound(self, env: Envelope) -> None:
        if self._bound.get(env.sender) != env.session:
            raise ProtocolError(f"{type(env.body).__name__} from {env.sender} with an unknown session")
