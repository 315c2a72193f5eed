"""How the live service shows one meeting to its clients: the results file's shape, plus its
status (`waiting`: failed, and retried when something changes) and a move's state. One
function for the admin socket, the HTTP API and the page, so they never disagree."""

from __future__ import annotations

from typing import Any

from slotwise.coordinator.negotiation import MeetingPhase, MeetingView
from slotwise.coordinator.outcome import MeetingResult
from slotwise.shared.decision import Decision


def status_of(view: MeetingView, waiting: bool) -> str:
    """`waiting`: the retry policy will try it again."""
    if view.phase is MeetingPhase.CANCELLED:
        return "cancelled"
    if view.decision is None:
        return "pending"
    if view.decision.scheduled:
        return "scheduled"
    return "waiting" if waiting else "failed"


def entry_of(view: MeetingView, waiting: bool, answers: dict[str, str] | None = None) -> dict[str, Any]:
    """`answers`: each attendee's answer from their calendar client, where the service has one."""
    shown = view.decision or Decision(id=view.spec.id, scheduled=False)
    if view.phase is MeetingPhase.CANCELLED:
        shown = shown.model_copy(update={"scheduled": False, "reason": "cancelled"})
    entry: dict[str, Any] = MeetingResult.of(view.spec, shown).model_dump(mode="json")
    entry["status"] = status_of(view, waiting)
    if view.moving:
        entry["move"] = {"status": "pending", "reason": None}
    elif view.move_failure is not None:
        entry["move"] = {"status": "failed", "reason": view.move_failure}
    if answers:
        entry["answers"] = answers
    return entry
