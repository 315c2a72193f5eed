"""The negotiation core: answers in, decisions out. No sockets, no clock, no asyncio.

Rules (what decides what is placed where lives in this package; *what counts* as acceptable
lives in the policies, see coordinator/policies):

1. Joining (`presence`). An expected agent says Hello; we send it a Welcome until it answers
   Ready, which proves it hears us. Negotiation starts when everyone is Ready, or at the join
   deadline with whoever is (the rest are reported as never joined).
2. Asking (`walk`). Every meeting's invitees get ONE AvailabilityRequest naming all candidate
   slots that the meeting-level constraints allow, all meetings at once: answers for later
   meetings arrive while earlier ones are being placed.
3. Placing (`core`). Meetings are placed in the priority policy's order (by default higher
   `priority` first, then as listed). A meeting may be placed early only if it shares nobody
   with any meeting ahead of it that is still open, so the outcome is exactly that of placing
   them one by one, just faster (coordinator/turns.py). Decisions resumed from a journal are
   booked first and never re-asked. With `placement: optimize`, meetings placed together wait
   for a `Solve` to be answered (`solved`), then walk from their chosen slots.
4. Walking (`walk`). Candidates in the slot order's preference; holds for the first where the
   rule is met; confirmations the rule accepts decide it, refusals walk on.
5. Announcing (`announcements`). MeetingScheduled / MeetingFailed go to the meeting's invitees
   (the only agents holding anything for it), batched, and all are out before Shutdown. A
   rejoining agent is told the meetings it holds, right behind its Welcome.
6. Ending. Every wait has a deadline and every walk is finite, so every meeting ends scheduled
   or failed with a reason. An agent silent past its liveness timeout counts as "no" everywhere.

State is data (`state`: the phases and the events that drive them, as tables); any transition the
tables do not list is our bug. Messages reach a core only through the admission gate
(shared/wire/gate.py). A ProtocolError is the peer's fault: the message is dropped and nothing
changed. Any other exception is ours: the core moves to ERROR and refuses further input
(CoreError; shared/guarded.py), so the shell stops instead of feeding a half-changed core.

`Negotiation` is the batch run's core; `LiveNegotiation` the live service's (`slotwise serve`),
where meetings come and go and the core never ends.
"""

from slotwise.coordinator.negotiation.actions import (
    Action,
    AnswerGiven,
    Back,
    Cancelled,
    ConflictReported,
    Decided,
    Explained,
    Joined,
    Lost,
    MoveFailed,
    Notice,
    Publish,
    Solve,
    Started,
    TimeFreed,
)
from slotwise.coordinator.negotiation.core import Negotiation
from slotwise.coordinator.negotiation.exchanges import Stats
from slotwise.coordinator.negotiation.live import LiveNegotiation
from slotwise.coordinator.negotiation.presence import Presence
from slotwise.coordinator.negotiation.state import OPEN, MeetingPhase, MeetingView, Phase

__all__ = [
    "OPEN",
    "Action",
    "Back",
    "Cancelled",
    "ConflictReported",
    "Decided",
    "Explained",
    "Joined",
    "LiveNegotiation",
    "Lost",
    "MeetingPhase",
    "MeetingView",
    "MoveFailed",
    "Negotiation",
    "Notice",
    "Phase",
    "Presence",
    "Publish",
    "Solve",
    "Started",
    "TimeFreed",
    "AnswerGiven",
    "Stats",
]
