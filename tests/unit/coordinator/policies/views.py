"""What a policy is shown, built small: a four-person meeting and one person's view."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slotwise.coordinator.policies.base import Booking, PersonView
from slotwise.shared.ids import AgentId
from slotwise.shared.scenario import WorkingHoursSpec
from slotwise.shared.slots import Interval
from tests.helpers import spec

M_FIELDS = {"id": "m", "duration_minutes": 60, "invitees": ["a", "b", "c", "d"], "min_participants": 2}
M = spec(**M_FIELDS)
A = [AgentId(x) for x in "abcd"]


def span(start: str, minutes: int = 60) -> Interval:
    s = datetime.fromisoformat(start)
    return Interval(s, s + timedelta(minutes=minutes))


def person(zone: str = "UTC", bookings: list[Booking] | None = None, **hours: object) -> PersonView:
    wh = WorkingHoursSpec.model_validate(hours) if hours else None
    return PersonView(AgentId("a"), ZoneInfo(zone), bookings or [], wh)
