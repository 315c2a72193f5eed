"""Every meeting occurrence the live service holds: by id, in id order (a `list` page costs one
page of work, whatever the service holds), and by the id it was requested under (a recurring
meeting's occurrences). Archiving takes an occurrence out of all three at once."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.shared.ids import MeetingId


class Requested:
    def __init__(self) -> None:
        self._specs: dict[MeetingId, MeetingSpec] = {}  # in request order
        self._in_order: list[MeetingId] = []  # the same ids, sorted
        self._series: dict[MeetingId, list[MeetingId]] = {}  # submitted id -> its occurrences

    def remember(self, specs: Iterable[MeetingSpec]) -> None:
        for spec in specs:
            if spec.id not in self._specs:
                bisect.insort(self._in_order, spec.id)
            self._specs[spec.id] = spec
            self._series.setdefault(_submitted(spec), []).append(spec.id)

    def forget(self, meeting_id: MeetingId) -> None:
        spec = self._specs.pop(meeting_id)
        self._in_order.pop(bisect.bisect_left(self._in_order, meeting_id))
        series = self._series.get(_submitted(spec), [])
        if meeting_id in series:
            series.remove(meeting_id)
        if not series:
            self._series.pop(_submitted(spec), None)

    def occurrences(self, submitted: MeetingId) -> list[MeetingId]:
        """What a request's id stands for: its occurrences (one, for a plain meeting)."""
        return self._series.get(submitted, [])

    def named(self, meeting_id: MeetingId) -> list[MeetingId]:
        """What an admin request's `meeting_id` names: a request's occurrences, or one occurrence."""
        return self.occurrences(meeting_id) or ([meeting_id] if meeting_id in self._specs else [])

    def page(self, after: str | None, limit: int) -> tuple[list[MeetingId], bool]:
        """Up to `limit` ids after `after`, in id order, and whether more follow."""
        start = bisect.bisect_right(self._in_order, after) if after is not None else 0
        return self._in_order[start:start + limit], start + limit < len(self._in_order)

    def get(self, meeting_id: MeetingId) -> MeetingSpec | None:
        return self._specs.get(meeting_id)

    def __getitem__(self, meeting_id: MeetingId) -> MeetingSpec:
        return self._specs[meeting_id]

    def __contains__(self, meeting_id: object) -> bool:
        return meeting_id in self._specs

    def __iter__(self) -> Iterator[MeetingId]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


def _submitted(spec: MeetingSpec) -> MeetingId:
    return MeetingId(spec.series or spec.id)
