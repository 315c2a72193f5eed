"""The message schema: every body either side may send, one frozen model per intent.

Bodies are validated strictly (no coercion: "3" is not 3) and refuse unknown fields, so a peer
cannot smuggle data past the schema. The envelope (`codec.Envelope`) carries who sent a message
and when; bodies carry only what the message means.

Flow (C = coordinator, A = agent; everything travels over the agent's one DEALER connection to
the coordinator's ROUTER; C => * goes to every agent concerned, a meeting's invitees):

    A -> C  Hello                 I am `name`, incarnation `session` (resent until welcomed)
    C -> A  Welcome               you are heard: the heartbeat interval
    A -> C  Ready                 A has seen its Welcome: it counts as present
    C -> A  AvailabilityRequest   many candidate slots for one meeting, one round id
    A -> C  AvailabilityResponse  one yes/no per candidate, nothing more about the calendar
    A -> C  MaskedAvailability    `privacy: counts`: yes/no per candidate and group, masked so
                                  that only the sum over everyone asked means anything
    C -> A  Hold                  reserve this slot for this meeting
    A -> C  HoldReply             confirmed, or refused with fresh answers (the calendar changed)
    C -> A  Release               the walk moved on: drop the hold
    C => *  MeetingScheduled      who attends, when; holders not named drop their hold
    C => *  MeetingFailed         with a reason a person can act on
    C => A  MeetingCancelled      the live service cancelled it: free the slot, drop reminders
    A -> C  Conflict              the owner's calendar changed: an accepted meeting no longer fits
    A -> C  Freed                 the owner's calendar gained free time (never where): retry what failed
    A -> C  Answer                the owner accepted, declined... a meeting in their own calendar client
    both    Heartbeat             liveness; any message counts as one (C: to every agent)
    C -> *  Shutdown              negotiation over: exit cleanly (to every agent)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from slotwise.shared.ids import NAME_PATTERN
from slotwise.shared.slots import require_aware

# 7: privacy modes (Hello.mask_key, a request's peers and groups, MaskedAvailability);
# 6: MeetingScheduled carries its event's UID, Answer; 5: Freed (a calendar gained free time);
# 4: a routing frame names the recipients (agent hosts); 3: MeetingCancelled, reminders;
# 2: the envelope lost its unused id, sent_at and parent
PROTOCOL_VERSION = 7

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
MAX_MEETING_ID = 128  # characters of a meeting id on the wire (an occurrence's included)
MAX_MEETING_NAME = 500  # characters of a meeting's title on the wire (an occurrence's included)
MAX_UID = 512  # characters of an event UID: a meeting id (200) and a domain (200), with room
MeetingKey = Annotated[str, Field(min_length=1, max_length=MAX_MEETING_ID, pattern=r"^[^\x00-\x1f\x7f]*$")]
UtcTime = Annotated[datetime, AfterValidator(require_aware)]
Round = Annotated[int, Field(ge=0)]
# A request names at most this many candidates; the scenario loader keeps horizons within it.
MAX_CANDIDATES = 50_000
MAX_REMIND_S = 366 * 86400  # a reminder at most a year ahead
MAX_PEERS = 1000  # invitees named in one counts request
MAX_GROUPS = 16  # counts a rule may need per candidate (everyone's, required people's, roles')
# A masked answer's words (groups x candidates): its frame stays well under MAX_FRAME_BYTES.
MAX_MASKED_WORDS = 200_000
# Words masked per counts request over all its peers (each pair's keystream is one pass): what
# one request may cost an agent, a fraction of a second, bounded before any of it is done.
MAX_MASKING_WORK = 20_000_000


def max_counted_candidates(peers: int, counted: int) -> int:
    """The most candidates one counts request to `peers` invitees, counting `counted` groups,
    may name: what the coordinator asks at most, and what an agent accepts."""
    return max(1, min(MAX_MASKED_WORDS, MAX_MASKING_WORK // max(1, peers - 1)) // max(1, counted))

# A Curve25519 public key in Z85 (40 characters), as CURVE keys are written.
MaskKey = Annotated[str, Field(min_length=40, max_length=40, pattern=r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]+$")]


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _Span(Body):
    """A body naming a time span: it must end after it starts, or it is not a message at all."""

    start: UtcTime
    end: UtcTime

    @model_validator(mode="after")
    def _ordered(self) -> _Span:
        if self.end <= self.start:
            raise ValueError("end is not after start")
        return self


class Hello(Body):
    type: Literal["hello"] = "hello"
    name: Name
    # Meetings this agent already holds, so a restarted coordinator or a rejoin can account for them.
    accepted: tuple[MeetingKey, ...] = ()
    # The public half of this agent's masking key for `privacy: counts` ("": it has none).
    mask_key: MaskKey | Literal[""] = ""


class Welcome(Body):
    type: Literal["welcome"] = "welcome"
    name: Name
    heartbeat_s: Annotated[float, Field(gt=0, le=3600)]


class Ready(Body):
    type: Literal["ready"] = "ready"


class AvailabilityRequest(Body):
    type: Literal["availability_request"] = "availability_request"
    meeting_id: MeetingKey
    round: Round
    origin: UtcTime
    slot_minutes: Annotated[int, Field(gt=0, le=1440)]
    duration_minutes: Annotated[int, Field(gt=0, le=100_000)]
    slots: Annotated[tuple[Annotated[int, Field(ge=0)], ...], Field(max_length=MAX_CANDIDATES)]
    # `privacy: counts`: everyone asked this round (sorted) with their mask keys, and per peer a
    # bit for each of the `counted` groups it belongs to (bit 0: everyone). Empty: answer yes/no.
    peers: Annotated[tuple[Name, ...], Field(max_length=MAX_PEERS)] = ()
    keys: Annotated[tuple[MaskKey, ...], Field(max_length=MAX_PEERS)] = ()
    groups: Annotated[tuple[Annotated[int, Field(ge=1, lt=1 << MAX_GROUPS)], ...], Field(max_length=MAX_PEERS)] = ()
    counted: Annotated[int, Field(ge=0, le=MAX_GROUPS)] = 0

    @model_validator(mode="after")
    def _counted(self) -> AvailabilityRequest:
        if not len(self.peers) == len(self.keys) == len(self.groups) or bool(self.peers) != bool(self.counted):
            raise ValueError("peers, keys, groups and counted come together")
        if list(self.peers) != sorted(set(self.peers)):
            raise ValueError("peers are not sorted and distinct")
        if any(not bits & 1 or bits >> self.counted for bits in self.groups):
            raise ValueError("a peer's groups are not within the groups counted, everyone's included")
        if self.counted and len(self.slots) > max_counted_candidates(len(self.peers), self.counted):
            raise ValueError(f"{len(self.slots)} candidates counted in {self.counted} groups among "
                             f"{len(self.peers)} peers: more than one request may ask")
        return self


class AvailabilityResponse(Body):
    type: Literal["availability_response"] = "availability_response"
    meeting_id: MeetingKey
    round: Round
    available: Annotated[tuple[bool, ...], Field(max_length=MAX_CANDIDATES)]


class MaskedAvailability(Body):
    """Per group and candidate (group-major), 1 if this agent is free and in the group, else
    0, plus its pairwise masks, as little-endian 32-bit words modulo 2**32: alone, uniform noise;
    summed over everyone asked, the counts (shared/masking.py)."""

    type: Literal["masked_availability"] = "masked_availability"
    meeting_id: MeetingKey
    round: Round
    sums: Annotated[bytes, Field(max_length=4 * MAX_MASKED_WORDS)]


class Hold(_Span):
    type: Literal["hold"] = "hold"
    meeting_id: MeetingKey
    round: Round


class HoldReply(Body):
    type: Literal["hold_reply"] = "hold_reply"
    meeting_id: MeetingKey
    round: Round
    accepted: bool
    reason: Annotated[str, Field(max_length=500)] | None = None
    # With a refusal: the agent's answers now, for the same candidates as its last availability
    # answer for this meeting, so the walk skips every slot the change has closed at once.
    available: Annotated[tuple[bool, ...], Field(max_length=MAX_CANDIDATES)] | None = None


class Release(Body):
    type: Literal["release"] = "release"
    meeting_id: MeetingKey
    round: Round


class MeetingScheduled(_Span):
    """Also sent again, with the same id, when the live service moves a meeting."""

    type: Literal["meeting_scheduled"] = "meeting_scheduled"
    meeting_id: MeetingKey
    name: Annotated[str, Field(max_length=MAX_MEETING_NAME)]
    attendees: tuple[Name, ...]
    # Reminder offsets before the start, in seconds; each attendee's agent fires them.
    remind: Annotated[tuple[Annotated[int, Field(gt=0, le=MAX_REMIND_S)], ...], Field(max_length=16)] = ()
    # The UID every calendar copy of it has (`<id>@<uid domain>`), so an agent's write and the
    # organizer's invitation are one event; "": the form without a domain.
    uid: Annotated[str, Field(max_length=MAX_UID, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class MeetingCancelled(Body):
    type: Literal["meeting_cancelled"] = "meeting_cancelled"
    meeting_id: MeetingKey


MAX_REASON = 4000  # characters of a failure reason on the wire; longer ones are cut, never refused


class MeetingFailed(Body):
    type: Literal["meeting_failed"] = "meeting_failed"
    meeting_id: MeetingKey
    reason: Annotated[str, Field(max_length=MAX_REASON)]


class Conflict(Body):
    """Sent once per change of the owner's calendar that makes an accepted meeting impossible.
    Says which meeting, never what is in the way."""

    type: Literal["conflict"] = "conflict"
    meeting_id: MeetingKey


class Freed(Body):
    """Sent when a read of the owner's calendar finds free time it did not have in a window
    lately asked about: a meeting that failed for want of it may fit now. Says nothing of
    where or how much; the coordinator retries what waits with this agent invited."""

    type: Literal["freed"] = "freed"


class Answer(Body):
    """The owner's answer (PARTSTAT) to a meeting, as they set it in their calendar client on the
    event their agent wrote: sent once per change. The coordinator acts on a decline by the
    meeting's `on_decline`."""

    type: Literal["answer"] = "answer"
    meeting_id: MeetingKey
    partstat: Literal["ACCEPTED", "DECLINED", "TENTATIVE", "NEEDS-ACTION"]


class Heartbeat(Body):
    type: Literal["heartbeat"] = "heartbeat"


class Shutdown(Body):
    type: Literal["shutdown"] = "shutdown"
    reason: Annotated[str, Field(max_length=500)] = "negotiation complete"


Message = (
    Hello | Welcome | Ready | AvailabilityRequest | AvailabilityResponse | MaskedAvailability | Hold | HoldReply
    | Release | MeetingScheduled | MeetingFailed | MeetingCancelled | Conflict | Freed | Answer | Heartbeat
    | Shutdown
)

MESSAGE_TYPES: dict[str, type[Body]] = {
    cls.model_fields["type"].default: cls
    for cls in (Hello, Welcome, Ready, AvailabilityRequest, AvailabilityResponse, MaskedAvailability, Hold, HoldReply,
                Release, MeetingScheduled, MeetingFailed, MeetingCancelled, Conflict, Freed, Answer,
                Heartbeat, Shutdown)
}
