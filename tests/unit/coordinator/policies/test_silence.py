"""Silence policies through the negotiation core: count as no, wait longer, or drop the silent
from a quorum."""

from __future__ import annotations

from typing import Any

from slotwise.shared.decision import Decision
from tests.helpers import make_scenario
from tests.unit.fakenet import FakeNetwork


def _with_mute(on_silence: object, **kw: Any) -> tuple[FakeNetwork, Decision]:
    from slotwise.shared.wire.messages import AvailabilityResponse

    people = {"a": {}, "b": {}, "mute": {}}
    s = make_scenario(people, [{"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "mute"]}],
                      policies={"on_silence": on_silence}, **kw)
    net = FakeNetwork(s, deliver=lambda snd, rcv, body: not (snd == "mute" and isinstance(body, AvailabilityResponse)))
    (o,) = net.run()
    return net, o


def test_silence_count_as_no_fails_an_all_hands() -> None:
    net, o = _with_mute("count-as-no")
    assert not o.scheduled and "mute did not answer" in o.reason
    assert net.now == 2.0  # one resend, two response timeouts


def test_silence_wait_asks_more_often() -> None:
    net, o = _with_mute({"wait": {"retries": 3}})
    from slotwise.shared.wire.messages import AvailabilityRequest

    assert sum(1 for _, r, b in net.sent if r == "mute" and isinstance(b, AvailabilityRequest)) == 4
    assert not o.scheduled and net.now == 4.0


def test_silence_drop_from_quorum_places_with_those_who_answered() -> None:
    _, o = _with_mute("drop-from-quorum")
    assert o.scheduled and o.attendees == ("a", "b")
