"""Bounded expansion of iCalendar recurrence rules, the same on the coordinator and the agents.

A rule is text from a file: `FREQ=SECONDLY` over a year is 31 million instances, and a rule
that never matches can keep python-dateutil searching for a very long time. So rules finer than
hourly are refused, expansion stops at the end of the window it is asked about, and more than
`limit` instances (or more than `budget_s` of work) is an error that names the rule, raised the
same way at validation and wherever the rule is expanded later.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

from dateutil.rrule import rrule, rruleset, rrulestr

TOO_FINE = re.compile(r"FREQ\s*=\s*(SECONDLY|MINUTELY)", re.IGNORECASE)
# CPU seconds of the expanding thread, not wall time: the same rule must expand the same way on a
# busy machine as on a quiet one (only later), while a pathological one still costs at most this.
BUDGET_S = 2.0


class RecurrenceError(ValueError):
    """A rule that cannot be expanded within bounds (a ValueError: validators report it)."""


def parse(text: str, dtstart: datetime, what: str = "RRULE") -> rrule:
    """One RRULE; raises RecurrenceError for an invalid or finer-than-hourly rule."""
    body = text.strip().removeprefix("RRULE:")
    if TOO_FINE.search(body):
        raise RecurrenceError(f"{text!r} repeats more often than hourly (FREQ=HOURLY is the finest supported)")
    try:
        rule = rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"invalid {what} {text!r}: {exc}") from None
    if not isinstance(rule, rrule):
        raise RecurrenceError(f"{text!r}: one RRULE expected")
    return rule


def expand(rule: str | rrule | rruleset, dtstart: datetime, *, until: datetime, limit: int,
           after: datetime | None = None, budget_s: float = BUDGET_S) -> list[datetime]:
    """Instance starts in [after (default dtstart), until], at most `limit` of them."""
    rules = parse(rule, dtstart) if isinstance(rule, str) else rule
    out: list[datetime] = []
    deadline = time.thread_time() + budget_s
    for start in rules.xafter(after or dtstart, inc=True):
        if start > until:
            break
        if len(out) == limit:
            raise RecurrenceError(f"more than {limit} occurrences before {until.isoformat()}")
        if time.thread_time() > deadline:
            raise RecurrenceError(f"expanding took more than {budget_s:g}s of CPU; simplify the rule")
        out.append(start)
    return out
