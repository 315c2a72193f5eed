"""The tests' side of the loopback network (slotwise.testing.loopback): hand-made envelopes,
and a scenario negotiated to its end with the audit and every policy's check passed."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from slotwise.coordinator.plan import compile_plan
from slotwise.report.audit import audit
from slotwise.shared.decision import Decision
from slotwise.shared.ids import AgentId
from slotwise.shared.scenario import Scenario
from slotwise.shared.wire.codec import Envelope
from slotwise.shared.wire.messages import Body
from slotwise.testing.loopback import FakeNetwork
from tests.helpers import at, make_scenario
from tests.policy_checks import violations

_SEQ = itertools.count(1_000_000)


def envelope(sender: str, session: str, body: Body) -> Envelope:
    """A hand-made envelope for feeding a core directly (a fresh sequence number each)."""
    return Envelope(AgentId(sender), session, next(_SEQ), body)  # type: ignore[arg-type]


def run_audited(people: dict[str, Any], meetings: list[dict[str, Any]],
                **kw: Any) -> tuple[Scenario, dict[str, Decision]]:
    """A scenario negotiated to the end on the fake network; the schedule must pass the audit
    and every policy's own check before a test looks at it."""
    s = make_scenario(people, meetings, **kw)
    outcomes = FakeNetwork(s).run()
    assert audit(s, compile_plan(s), outcomes) == []
    placed = [(o.meeting_id, o.when.start, o.when.end, list(o.attendees)) for o in outcomes if o.when]
    assert violations(s, placed) == []
    return s, {o.id: o for o in outcomes}


def t(hour: float, day: int = 0) -> datetime:
    """`hour` o'clock (UTC) on the test week's `day`, as a datetime."""
    return datetime.fromisoformat(at(hour, day))
