"""Why a meeting went where it did, or nowhere: a reason a person can act on for every meeting
not placed (`explain_failure`), and, for the meetings someone asked about (`slotwise explain`),
the reasoning candidate by candidate as it stood when the meeting was decided (`candidate_rows`;
a full pass over every candidate and invitee, so only on request).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from itertools import groupby

from slotwise.coordinator.placement.judge import SlotJudge
from slotwise.shared.ids import AgentId
from slotwise.shared.slots import Interval, format_moment


@dataclass(frozen=True)
class CandidateRow:
    when: Interval
    verdict: str  # "excluded", "chosen", "enough", "short"
    detail: str  # the rule's shortfall, or the exclusion reason
    missing: tuple[tuple[AgentId, str], ...] = ()  # invitees who cannot attend, and why


def candidate_rows(judge: SlotJudge, chosen_slot: int | None) -> list[CandidateRow]:
    rows = []
    excluded_at, all_slots = judge.meeting.excluded_at, judge.meeting.all_slots
    kept = {slot: i for i, slot in enumerate(judge.slots)}
    meeting = judge.judged_meeting()
    rule = judge.policies.rule
    load = judge.load()
    for slot in all_slots:
        when = judge.grid.interval(slot, judge.meeting.duration_minutes)
        if slot in excluded_at:
            rows.append(CandidateRow(when, "excluded", excluded_at[slot]))
            continue
        i = kept[slot]
        free = judge.free_at(i)
        missing = tuple((who, judge.why_not(who, i) or "") for who in judge.invitees if who not in free)
        chosen = rule.select(meeting, free, load)
        if slot == chosen_slot:
            verdict, detail = "chosen", f"held {', '.join(chosen)}"
        elif chosen and rule.satisfied(meeting, chosen):
            verdict, detail = "enough", f"{len(chosen)} could come"
        else:
            verdict, detail = "short", rule.shortfall(meeting, free)
        rows.append(CandidateRow(when, verdict, detail, missing))
    return rows


def runs(rows: Sequence[CandidateRow]) -> list[tuple[Interval, Interval, CandidateRow]]:
    """Consecutive candidates with the same verdict and the same people missing, merged."""
    out = []
    for _, group in groupby(rows, key=lambda r: (r.verdict, r.missing, r.verdict == "excluded" and r.detail)):
        items = list(group)
        out.append((items[0].when, items[-1].when, items[0]))
    return out


@dataclass(frozen=True, slots=True)
class Attempt:
    """One hold that did not gather enough confirmations."""

    slot: int
    confirmed: tuple[AgentId, ...]
    refused: tuple[tuple[AgentId, str], ...]


def explain_failure(judge: SlotJudge, zone: tzinfo, attempts: Sequence[Attempt] = (),
                    gave_up: bool = False, said_instead: Mapping[AgentId, str] | None = None) -> str:
    """A reason a person can act on: the closest slot, who was missing there, and why
    (`said_instead`: what the caller knows better of someone, as why they never joined)."""
    grid, slots = judge.grid, judge.slots
    # Counted by kind ("not on an allowed weekday"), without the per-slot detail.
    excluded = Counter(r.split(" (")[0] for r in judge.meeting.excluded_at.values())
    parts: list[str] = []
    if excluded:
        parts.append(f"{sum(excluded.values())} candidate slots excluded ("
                     + ", ".join(f"{why}: {n}" for why, n in sorted(excluded.items())) + ")")
    if not slots:
        return "; ".join(parts) if parts else \
            "no candidate slot: the meeting does not fit in the horizon and its own time window"
    for a in attempts:
        refusals = few([f"{who} ({why})" for who, why in a.refused]) or "nobody"
        parts.append(f"hold at {format_moment(grid.start(a.slot), zone)} got {len(a.confirmed)} "
                     f"confirmations; refused by {refusals}")
    if gave_up:
        parts.append(f"gave up after {len(attempts)} hold attempts")
        return "; ".join(parts)
    free_at = [judge.free_at(i) for i in range(len(slots))]
    best = max(range(len(slots)), key=lambda i: (len(free_at[i]), -i))
    there = free_at[best]
    rule = judge.policies.rule
    parts.insert(0, f"best slot {format_moment(grid.start(slots[best]), zone)} "
                    f"{rule.shortfall(judge.judged_meeting(), there)}")
    said_of: dict[str, list[AgentId]] = {}  # what is said of each invitee not there, by what
    for who in judge.invitees:
        if who in there:
            continue
        answer = judge.answers.get(who)
        yes = [i for i, ok in enumerate(answer) if ok] if answer is not None and who not in judge.absent else []
        if said_instead and who in said_instead:
            said_of.setdefault(said_instead[who], []).append(who)
        elif who in judge.absent:
            said_of.setdefault(judge.absent[who].value, []).append(who)
        elif not yes:
            said_of.setdefault("unavailable in all candidate slots", []).append(who)
        elif not any(who in free_at[i] for i in yes):
            reasons = Counter(judge.why_not(who, i) for i in yes)
            booked = sorted(r.removeprefix("booked in ") for r in reasons if r and r.startswith("booked in "))
            if booked and len(booked) == len(reasons):
                said_of.setdefault(f"free only when already booked ({few(booked)})", []).append(who)
            else:
                common = reasons.most_common(1)[0][0]
                said_of.setdefault(f"free only when excluded: {common}", []).append(who)
        else:
            said_of.setdefault(judge.why_not(who, best) or "", []).append(who)
    parts += [said(who, what) for what, who in said_of.items()]
    return "; ".join(parts)


SAID_BY_NAME = 3  # more people than this with the same reason: counted, a few named


def few(names: Sequence[str]) -> str:
    """A list that stays short: the first few, and how many more."""
    if len(names) <= SAID_BY_NAME + 1:
        return ", ".join(names)
    return f"{', '.join(names[:SAID_BY_NAME])}, … (+{len(names) - SAID_BY_NAME})"


def said(who: Sequence[AgentId], what: str) -> str:
    """One reason for several people: by name for a few, summarised for many, so a reason stays
    short enough to read (and to carry) whatever the meeting's size."""
    if len(who) == 1:
        return f"{who[0]} {what}"
    if len(who) <= SAID_BY_NAME:
        return f"{', '.join(who)} {what}"
    return f"{len(who)} invitees {what}: {few(who)}"
