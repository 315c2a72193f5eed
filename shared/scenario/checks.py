"""Rules that span a scenario's fields, reported with the path of the field to change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slotwise.shared.recurrence import RecurrenceError
from slotwise.shared.scenario.models import Scenario
from slotwise.shared.scenario.times import RecurringWindow
from slotwise.shared.suggest import did_you_mean
from slotwise.shared.wire.messages import MAX_CANDIDATES, MAX_MEETING_ID, MAX_MEETING_NAME

# What an occurrence adds to its series' id ("@2024-07-21T09:00") and title (" (Sun 21 Jul 09:00)"):
# a recurring meeting's own id and name leave room for it, so every occurrence fits the wire.
OCCURRENCE_ID_SUFFIX = len("@2024-07-21T09:00")
OCCURRENCE_TITLE_SUFFIX = len(" (Sun 21 Jul 09:00)")


def not_a_participant(who: str, participants: Iterable[str]) -> str:
    hint = did_you_mean(who, participants)
    return f"{who!r} is not listed under participants{hint}" + ("" if hint else (
        f" (add `{who}: {{}}` for someone free throughout the horizon)"))


def raw_invitee_problems(data: dict[str, Any]) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Invitees who are not participants, read from the file as written: reported beside the
    file's other mistakes even when those keep it from being read as a scenario (one pass)."""
    people, meetings = data.get("participants"), data.get("meetings")
    if not isinstance(people, dict) or not isinstance(meetings, list):
        return
    names = [n for n in people if isinstance(n, str)]
    for i, m in enumerate(meetings):
        invitees = m.get("invitees") if isinstance(m, dict) else None
        for j, who in enumerate(invitees if isinstance(invitees, list) else []):
            if isinstance(who, str) and who not in people:
                yield ("meetings", i, "invitees", j), not_a_participant(who, names)


def _semantic_problems(s: Scenario) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Rules that span fields, reported with the path of the field to change."""
    if s.horizon.end <= s.horizon.start:
        yield ("horizon", "end"), "the horizon ends at or before it starts"
        return
    for name, person in s.participants.items():
        for key in ("available", "busy"):
            for j, w in enumerate(getattr(person, key) or []) if person else ():
                if isinstance(w, RecurringWindow):
                    try:  # expanded here exactly as the agent will, so `validate` catches it
                        w.occurrences(s.horizon_interval)
                    except RecurrenceError as exc:
                        yield ("participants", name, key, j, "rrule"), str(exc)
    horizon_minutes = s.horizon_interval.minutes
    if horizon_minutes // s.slot_minutes > MAX_CANDIDATES:
        yield ("slot_minutes",), (
            f"{horizon_minutes // s.slot_minutes} slots in the horizon; at most {MAX_CANDIDATES} "
            "are supported (use longer slots or a shorter horizon)")
    yield from _meeting_problems(s)


def _meeting_problems(s: Scenario) -> Iterable[tuple[tuple[Any, ...], str]]:
    horizon_minutes = s.horizon_interval.minutes
    seen: dict[str, int] = {}
    for i, m in enumerate(s.meetings):
        if m.id in seen:
            yield ("meetings", i, "id"), f"duplicate meeting id {m.id!r} (first at meetings[{seen[m.id]}])"
        seen.setdefault(m.id, i)
        for j, who in enumerate(m.invitees):
            if who not in s.participants:
                yield ("meetings", i, "invitees", j), not_a_participant(who, s.participants)
            elif who in m.invitees[:j]:
                yield ("meetings", i, "invitees", j), f"{who!r} is invited twice"
        if m.recurrence is not None and len(m.id) > MAX_MEETING_ID - OCCURRENCE_ID_SUFFIX:
            yield ("meetings", i, "id"), (
                f"{len(m.id)} characters; a recurring meeting's id has at most "
                f"{MAX_MEETING_ID - OCCURRENCE_ID_SUFFIX} (its occurrences add {OCCURRENCE_ID_SUFFIX})")
        longest_name = MAX_MEETING_NAME - (OCCURRENCE_TITLE_SUFFIX if m.recurrence is not None else 0)
        if len(m.name) > longest_name:
            yield ("meetings", i, "name"), (
                f"{len(m.name)} characters; at most {longest_name}"
                + (f" for a recurring meeting (its occurrences add {OCCURRENCE_TITLE_SUFFIX})" if m.recurrence else ""))
        if m.min_participants is not None and m.min_participants > len(m.invitees):
            yield ("meetings", i, "min_participants"), (
                f"needs {m.min_participants} participants but only {len(m.invitees)} are invited")
        start = max(s.horizon.start, m.not_before or s.horizon.start)
        if (m.not_before or m.not_after) and min(s.horizon.end, m.not_after or s.horizon.end) <= start:
            yield ("meetings", i, "not_after"), "not_after is not later than not_before within the horizon"
        elif m.duration_minutes > horizon_minutes:
            yield ("meetings", i, "duration_minutes"), (
                f"{m.duration_minutes} minutes do not fit in the {horizon_minutes}-minute horizon")


