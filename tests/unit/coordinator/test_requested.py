"""The service's book of meeting occurrences: paging in id order, a series by its request's id,
and archiving taking an occurrence out of every view at once."""

from __future__ import annotations

from dataclasses import replace

from slotwise.coordinator.policies.base import MeetingSpec
from slotwise.coordinator.requested import Requested
from slotwise.shared.ids import MeetingId
from tests.helpers import spec


def occurrence(meeting_id: str, series: str | None = None) -> MeetingSpec:
    made = spec(id="x", duration_minutes=30, invitees=["ana"])
    return replace(made, id=MeetingId(meeting_id), series=MeetingId(series) if series else None)


def test_pages_in_id_order_names_series_and_forgets_everywhere() -> None:
    book = Requested()
    book.remember([occurrence("b"), occurrence("s@1", "s"), occurrence("s@2", "s"), occurrence("a")])
    assert list(book) == ["b", "s@1", "s@2", "a"]  # request order
    assert book.page(None, 2) == (["a", "b"], True)
    assert book.page("b", 2) == (["s@1", "s@2"], False)
    assert book.named(MeetingId("s")) == ["s@1", "s@2"] and book.named(MeetingId("s@2")) == ["s@2"]
    assert book.named(MeetingId("nope")) == [] and book.occurrences(MeetingId("a")) == ["a"]
    book.forget(MeetingId("s@1"))
    assert book.named(MeetingId("s")) == ["s@2"] and book.page("b", 5) == (["s@2"], False)
    book.forget(MeetingId("s@2"))
    assert book.named(MeetingId("s")) == [] and "s@2" not in book and len(book) == 2
