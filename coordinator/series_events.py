"""A recurring meeting as one iCalendar series: what calendar clients show as "every Tuesday".

The coordinator places each occurrence on its instance's day, each at the time that suits that
day; a client wants one event. So the series is written as a master VEVENT at the *nominal*
time (the time most occurrences were placed at, kept once written, so RECURRENCE-IDs stay put),
with the scenario's RRULE bounded by an UNTIL at the last instance, and:

- an override (RECURRENCE-ID: the instance's nominal start) for each occurrence placed at
  another time or with other attendees than the master's (RFC 5545 3.8.4.4);
- an EXDATE for each instance not placed (yet, or at all, or cancelled).

A rule whose instances are not all at the nominal time once it starts there (BYHOUR, BYSETPOS
over times) is written as RDATEs instead: the same instances, said plainly. A rule with several
instances a day cannot be one by-day series; its occurrences stay events of their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slotwise.shared.events import Directory, vevent
from slotwise.shared.recurrence import RecurrenceError, expand
from slotwise.shared.wire.messages import MeetingScheduled

if TYPE_CHECKING:
    import icalendar


def by_day(instances: Sequence[datetime], zone: ZoneInfo) -> bool:
    """One instance a day at most: a series the master's nominal time can describe."""
    return len({i.astimezone(zone).date() for i in instances}) == len(instances)


def nominal_time(placed: Sequence[MeetingScheduled], zone: ZoneInfo) -> time | None:
    """The local time most occurrences start at (the earliest of equals)."""
    times = Counter(m.start.astimezone(zone).time() for m in placed)
    if not times:
        return None
    most = max(times.values())
    return min(t for t, n in times.items() if n == most)


def _rule(text: str, first: datetime, last: datetime) -> str:
    """The rule with its own COUNT/UNTIL replaced by an UNTIL at the last instance (UTC, as RFC
    5545 3.3.10 requires beside a TZID): the series ends where the negotiated instances end."""
    parts = [p for p in text.strip().removeprefix("RRULE:").split(";")
             if p and p.split("=", 1)[0].strip().upper() not in {"COUNT", "UNTIL"}]
    return ";".join([*parts, f"UNTIL={last.astimezone(UTC):%Y%m%dT%H%M%SZ}"])


def _rule_gives(rule: str, first: datetime, wanted: list[datetime]) -> bool:
    try:
        got = expand(rule, first, until=wanted[-1] + timedelta(days=1), limit=len(wanted) + 1)
    except RecurrenceError:
        return False
    return [g.astimezone(UTC) for g in got] == [w.astimezone(UTC) for w in wanted]


def series_components(series_id: str, uid: str, title: str, rule: str, instances: Sequence[datetime],
                      placed: Mapping[datetime, MeetingScheduled], directory: Directory,
                      nominal: time | None, now: datetime) -> list[icalendar.Event]:
    """The master and its overrides; [] when no instance is placed. `placed`: by instance start.
    Every component gets SEQUENCE 0 and DTSTAMP `now`; the caller sets both for the file."""
    import icalendar

    zone = directory.zone or UTC
    zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC")
    meetings = [placed[i] for i in instances if i in placed]
    nominal = nominal or nominal_time(meetings, zone)
    if nominal is None or not meetings:
        return []
    days = [i.astimezone(zone).date() for i in instances]
    starts = [datetime.combine(d, nominal, tzinfo=zone) for d in days]
    length = meetings[0].end - meetings[0].start
    crowd = Counter(tuple(sorted(m.attendees)) for m in meetings)
    attendees = max(crowd, key=lambda who: (crowd[who], len(who), tuple(reversed(who))))
    template = meetings[0].model_copy(update={"start": starts[0], "end": starts[0] + length,
                                              "attendees": attendees, "name": title, "uid": uid})
    master = vevent(template, None, 0, now, directory=directory, uid=uid, meeting_id=series_id)
    bounded = _rule(rule, starts[0], starts[-1])
    if _rule_gives(bounded, starts[0], starts):
        master.add("RRULE", icalendar.vRecur.from_ical(bounded))
    elif len(starts) > 1:
        master.add("RDATE", [s.astimezone(zone) for s in starts[1:]])
    missing = [s for s, i in zip(starts, instances, strict=True) if i not in placed]
    if missing:
        master.add("EXDATE", [s.astimezone(zone) for s in missing])
    overrides = []
    for start, instance in zip(starts, instances, strict=True):
        m = placed.get(instance)
        if m is None or (m.start == start and tuple(sorted(m.attendees)) == attendees):
            continue
        body = m.model_copy(update={"name": title, "uid": uid})
        override = vevent(body, None, 0, now, directory=directory, uid=uid, meeting_id=series_id)
        override.add("RECURRENCE-ID", start.astimezone(zone))
        overrides.append(override)
    return [master, *overrides]
