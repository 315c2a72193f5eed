"""The owner's answers on the events their agent wrote reach the coordinator once per change,
and only answers to the meeting as it stands now."""

from __future__ import annotations

from slotwise.participant.responder import Send
from slotwise.shared.wire.messages import Answer, MeetingScheduled
from tests.unit.participant.test_responder import Link, h


def _booked(link: Link, start: float) -> None:
    link.send(MeetingScheduled(meeting_id="m", name="M", start=h(start), end=h(start + 1), attendees=("alice", "bob")))


def _answers(actions: list[object]) -> list[tuple[str, str]]:
    return [(a.body.meeting_id, a.body.partstat) for a in actions if isinstance(a, Send) and isinstance(a.body, Answer)]


def test_a_changed_answer_is_told_once_and_an_answer_to_an_older_time_not_at_all() -> None:
    link = Link([(0, 8)])
    _booked(link, 1)
    agent = link.agent
    assert _answers(agent.answers_read({"m": ("ACCEPTED", h(1))})) == []  # as written: nothing to tell
    assert _answers(agent.answers_read({"m": ("DECLINED", h(1))})) == [("m", "DECLINED")]
    assert _answers(agent.answers_read({"m": ("DECLINED", h(1))})) == []  # told already
    assert _answers(agent.answers_read({"x": ("DECLINED", h(1))})) == []  # not a meeting it holds
    _booked(link, 3)  # moved: the event is written anew, accepted; the old answer was to 09:00
    assert _answers(agent.answers_read({"m": ("DECLINED", h(1))})) == []
    assert _answers(agent.answers_read({"m": ("TENTATIVE", h(3))})) == [("m", "TENTATIVE")]
    assert _answers(agent.answers_read({"m": ("MAYBE", h(3))})) == []  # not a PARTSTAT the wire carries
