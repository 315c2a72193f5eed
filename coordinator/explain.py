"""Per-candidate reasoning for one meeting, as it stood when the meeting was decided.

Computing this for every meeting would cost a full pass over every candidate and invitee;
the negotiation does it only for the meetings someone asked about (`slotwise explain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from slotwise.coordinator.placement import SlotJudge
from slotwise.shared.ids import AgentId
from slotwise.shared.slots import Interval


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
