"""Liveness per connection: first heard, first expired."""

from __future__ import annotations

from slotwise.coordinator.liveness import Liveness


def test_liveness_is_first_heard_first_expired() -> None:
    live = Liveness(2.0)
    for t, who in enumerate(["a", "b", "c"]):
        live.heard(who, float(t))
    live.heard("a", 3.0)  # heard again: now the last to expire
    assert live.next_deadline() == 3.0  # b, heard at 1
    assert live.expired(2.9) == []
    assert live.expired(4.0) == ["b", "c"]  # at 1 + 2 and 2 + 2; a was heard again at 3
    assert live.next_deadline() == 5.0
    live.forget("a")
    assert live.next_deadline() is None
