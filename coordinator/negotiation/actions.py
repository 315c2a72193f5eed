"""What a core asks its shell to do. The core returns these; the shell performs them in order."""

from __future__ import annotations

from dataclasses import dataclass

from slotwise.coordinator.placement.problem import Problem
from slotwise.coordinator.placement.reasons import CandidateRow
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId, MeetingId
from slotwise.shared.wire.messages import Body


@dataclass(frozen=True, slots=True)
class Publish:
    """Send to the named agents, or (to=None) to every agent that has said Hello; the shell
    encodes it once, and sends it once per connection."""

    body: Body
    to: tuple[AgentId, ...] | None = None


@dataclass(frozen=True, slots=True)
class Decided:
    """A meeting's decision is final: journal (or store) it before it is announced."""

    decision: Decision


@dataclass(frozen=True, slots=True)
class Explained:
    """Candidate-by-candidate reasoning for a meeting someone asked about, at decision time."""

    meeting_id: MeetingId
    rows: tuple[CandidateRow, ...]


@dataclass(frozen=True, slots=True)
class Started:
    """Joining is over; negotiation begins with `joined`, without `missing`."""

    joined: tuple[AgentId, ...]
    missing: tuple[AgentId, ...]


@dataclass(frozen=True, slots=True)
class Joined:
    """An agent proved it hears us while joining; `ready` have so far."""

    agent: AgentId
    ready: int


@dataclass(frozen=True, slots=True)
class Back:
    """An agent is ready again during negotiation (back from silence or a restart, or late):
    meetings that failed without it may fit now."""

    agent: AgentId


@dataclass(frozen=True, slots=True)
class Lost:
    """An agent fell silent past its liveness timeout."""

    agent: AgentId


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The live service cancelled a meeting; its attendees' slots are free again."""

    meeting_id: MeetingId
    previous: Decision | None  # what it was before (None: it was still being negotiated)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something an operator should read in the log (a fallback taken, a placement made)."""

    text: str
    warning: bool = False


@dataclass(frozen=True, slots=True)
class ConflictReported:
    """An attendee's calendar no longer leaves room for a confirmed meeting; the live service
    answers by the meeting's `on_conflict` policy."""

    meeting_id: MeetingId
    agent: AgentId


@dataclass(frozen=True, slots=True)
class TimeFreed:
    """An agent's calendar gained free time (it says no more): in the live service, meetings
    waiting with it invited may fit now."""

    agent: AgentId


@dataclass(frozen=True, slots=True)
class AnswerGiven:
    """An attendee answered a meeting in their own calendar client (their agent watches the
    event it wrote); the live service shows it and answers a decline by `on_decline`."""

    meeting_id: MeetingId
    agent: AgentId
    partstat: str


@dataclass(frozen=True, slots=True)
class MoveFailed:
    """A move found no new slot: the meeting stays as `decision` says."""

    decision: Decision
    reason: str


@dataclass(frozen=True, slots=True)
class Solve:
    """Place these meetings together (`placement: optimize`): solve `problem` within `budget_s`
    and hand the answer to the core's `solved(ticket, ...)`. The meetings wait for it; the rest
    of the negotiation goes on. A batch run solves at once, the live service off its loop."""

    ticket: int
    problem: Problem
    budget_s: float


Action = (Publish | Decided | Explained | Started | Joined | Back | Lost | Cancelled | MoveFailed
          | ConflictReported | TimeFreed | AnswerGiven | Notice | Solve)
