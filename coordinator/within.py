"""`within` in a live request: "some time in the next N days (or working days)" instead of a
window written out, for the form, the chat bot and the person who does not want to type dates.

    {"id": "sync", "duration_minutes": 30, "invitees": [...], "within": {"working_days": 3}}

It becomes `not_after`: the end of the Nth day from today (today counting), in the scenario's
zone; working days count Monday to Friday. Resolved at the door and stored resolved, so a
restart keeps the window; whole days, so the same request sent again the same day is the
same request (idempotency compares what is stored).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slotwise.shared.errors import Problem

UNITS = ("days", "working_days")
MAX_DAYS = 3660


def resolve_within(meetings: list[Any], today: date, zone: ZoneInfo) -> tuple[list[Any], list[Problem]]:
    """The meetings with each `within` turned into `not_after`; the problems of those that
    cannot be (the caller refuses the request with them)."""
    out: list[Any] = []
    problems: list[Problem] = []
    for i, m in enumerate(meetings):
        if not isinstance(m, dict) or "within" not in m:
            out.append(m)
            continue
        within, rest = m["within"], {k: v for k, v in m.items() if k != "within"}
        path = f"meetings[{i}].within"
        if "not_after" in m:
            problems.append(Problem(path, "give within or not_after, not both"))
        elif not isinstance(within, dict) or len(within) != 1 or next(iter(within)) not in UNITS:
            problems.append(Problem(path, "one of {days: N} or {working_days: N}"))
        else:
            (unit, count), = within.items()
            if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_DAYS:
                problems.append(Problem(path, f"{unit}: a whole number from 1 to {MAX_DAYS} (got {count!r})"))
            else:
                rest["not_after"] = _end_of(today, count, unit == "working_days", zone).isoformat()
        out.append(rest)
    return out, problems


def _end_of(today: date, count: int, working: bool, zone: ZoneInfo) -> datetime:
    day, counted = today, 0
    while True:
        if not working or day.weekday() < 5:
            counted += 1
            if counted == count:
                return datetime.combine(day + timedelta(days=1), time(0), zone)
        day += timedelta(days=1)
