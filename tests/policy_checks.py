"""An independent recomputation of time constraints from a finished schedule.

Written separately from coordinator/policies on purpose: a test that reused the policy code to
check the policy code could not fail.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from slotwise.coordinator.plan import compile_plan
from slotwise.shared.scenario import Scenario

Placed = tuple[str, datetime, datetime, list[str]]  # meeting id, start, end, attendees
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _spec_items(specs: Iterable[object]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for spec in specs:
        if isinstance(spec, str):
            out[spec] = {}
        else:
            ((name, options),) = spec.items()  # type: ignore[attr-defined]
            out[name] = options or {}
    return out


def _hm(text: object, default: time) -> time:
    return time.fromisoformat(str(text)) if text is not None else default


def violations(s: Scenario, placed: list[Placed]) -> list[str]:
    found: list[str] = []
    by_person: dict[str, list[tuple[datetime, datetime, str]]] = {}
    meetings = {m.id: m for m in compile_plan(s).meetings}  # occurrences' own windows
    written = {m.id: m for m in s.meetings}
    for mid, start, end, who in placed:
        m = meetings[mid]
        w = written[m.series or m.id]
        if m.not_before and start < m.not_before:
            found.append(f"{mid} starts before not_before")
        if m.not_after and end > m.not_after:
            found.append(f"{mid} ends after not_after")
        specs = _spec_items(w.constraints if w.constraints is not None else s.policies.constraints)
        local = start.astimezone(s.zone)
        if "weekdays" in specs:
            days = specs["weekdays"].get("days", DAY_NAMES[:5])
            if DAY_NAMES[local.weekday()] not in days:  # type: ignore[operator]
                found.append(f"{mid} on {DAY_NAMES[local.weekday()]}")
        if "time-of-day" in specs:
            o = specs["time-of-day"]
            if local.time() < _hm(o.get("earliest"), time.min) or end.astimezone(s.zone).time() > _hm(o.get("latest"), time.max):
                found.append(f"{mid} outside time of day")
        for p in who:
            zone = ZoneInfo(s.availability(p).timezone or s.timezone)
            if "working-hours" in specs:
                own = s.availability(p).working_hours
                o = own.model_dump() if own else specs["working-hours"]
                ls, le = start.astimezone(zone), end.astimezone(zone)
                days = o.get("days", DAY_NAMES[:5])
                if (ls.date() != (le - timedelta(microseconds=1)).date() or DAY_NAMES[ls.weekday()] not in days  # type: ignore[operator]
                        or ls.time() < _hm(o.get("start"), time(9)) or (le.time() > _hm(o.get("end"), time(17)) and le.date() == ls.date())):  # noqa: E501
                    found.append(f"{mid}: {p} outside working hours")
            if "blackout-dates" in specs:
                o = specs["blackout-dates"]
                dates = {date.fromisoformat(str(d)) for d in o["dates"]}  # type: ignore[union-attr]
                if (o.get("people") is None or p in o["people"]) and start.astimezone(zone).date() in dates:  # type: ignore[operator]
                    found.append(f"{mid}: {p} on a blackout date")
            by_person.setdefault(p, []).append((start, end, mid))
    for p, items in by_person.items():
        items.sort()
        for mid in {m for _, _, m in items}:
            m = meetings[mid]
            specs = _spec_items(w.constraints if w.constraints is not None else s.policies.constraints)
            zone = ZoneInfo(s.availability(p).timezone or s.timezone)
            mine = next(i for i in items if i[2] == mid)
            if "min-gap" in specs:
                gap = timedelta(minutes=int(specs["min-gap"]["minutes"]))  # type: ignore[call-overload]
                for other in items:
                    if other[2] != mid and mine[0] - gap < other[1] and other[0] < mine[1] + gap:
                        found.append(f"{p}: {mid} within the gap of {other[2]}")
            if "daily-cap" in specs:
                day = mine[0].astimezone(zone).date()
                same = [i for i in items if i[0].astimezone(zone).date() == day]
                if len(same) > int(specs["daily-cap"]["max_meetings"]):  # type: ignore[call-overload]
                    found.append(f"{p}: more than the daily cap on {day}")
    return found


def rule_problems(s: Scenario, placed: list[Placed]) -> list[str]:
    """Each placed meeting's attendees against its rule, recomputed from the file's words."""
    import math

    written = {m.id: m for m in s.meetings}
    occurrences = {m.id: m for m in compile_plan(s).meetings}
    shorthand = {"required": "required-attendees", "fraction": "quorum", "groups": "roles"}
    found = []
    for mid, _, _, who in placed:
        m = occurrences[mid]
        spec = written[m.series or m.id].rule
        spec = spec if spec is not None else s.policies.rule
        if isinstance(spec, str):
            name, o = spec, {}
        elif len(spec) == 1 and next(iter(spec)) not in shorthand and next(iter(spec)) != "min_participants":
            ((name, o),) = spec.items()
        else:
            o = spec
            name = next((v for k, v in shorthand.items() if k in spec), "min-participants")
        n = len(set(who))
        if name == "min-participants":
            ok = n >= (o.get("min_participants") or m.min_participants or len(m.invitees))
        elif name == "required-attendees":
            ok = set(o["required"]) <= set(who) and n >= (o.get("min_participants") or m.min_participants or len(o["required"]))
        elif name == "quorum":
            ok = n >= math.ceil(float(o["fraction"]) * len(m.invitees) - 1e-9)
        elif name == "roles":
            ok = all(len(set(g["members"]) & set(who)) >= g.get("min", 1) for g in o["groups"].values())
        else:
            raise AssertionError(f"no independent check for rule {name!r}")
        if not ok:
            found.append(f"{mid}: {who} do not satisfy {name}")
    return found
