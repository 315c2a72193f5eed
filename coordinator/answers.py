"""Attendees' answers (PARTSTAT, RFC 5545 3.2.12) to the meetings the live service placed.

People answer in their own calendar client; the scheduling server carries each answer into the
organizer's copy, and the service reads it there. An answer is to a meeting at a time: once the
meeting moves, the answers given for the old time no longer stand (the new invitation asks
again), so each is kept with the start it was given for. Sans-IO: the desk hands answers in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from slotwise.shared.ids import AgentId, MeetingId

SHOWN = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative", "NEEDS-ACTION": "needs-action"}


class Answers:
    def __init__(self, addresses: Mapping[str, AgentId]) -> None:
        """`addresses`: each participant's calendar address (`mailto:…`, any case)."""
        self._names = {a.lower(): name for a, name in addresses.items()}
        self._given: dict[MeetingId, tuple[datetime | None, dict[AgentId, str]]] = {}

    def name_of(self, address: str) -> AgentId | None:
        return self._names.get(address.lower())

    def record(self, meeting_id: MeetingId, agent: AgentId, partstat: str, start: datetime | None) -> bool:
        """Keep an answer to the meeting as it stands at `start`; True for a decline that is new."""
        shown = SHOWN.get(partstat.upper())
        if shown is None:
            return False
        at, given = self._given.get(meeting_id, (start, {}))
        if at != start:
            given = {}
        before = given.get(agent)
        given[agent] = shown
        self._given[meeting_id] = (start, given)
        return shown == "declined" and before != "declined"

    def of(self, meeting_id: MeetingId, start: datetime | None) -> dict[str, str]:
        """The answers that stand for the meeting at `start` (none for an older time)."""
        at, given = self._given.get(meeting_id, (None, {}))
        return dict(sorted(given.items())) if at == start and given else {}

    def forget(self, meeting_id: MeetingId) -> None:
        self._given.pop(meeting_id, None)

    def counts(self) -> dict[str, int]:
        return dict(Counter(v for _, given in self._given.values() for v in given.values()))
