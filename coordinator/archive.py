"""When a live meeting's time has passed, and how an archived one is shown.

The service archives a meeting (out of its memory and its core, kept in its store) an hour
after it ended, or, for one never placed, an hour after the last moment it could have been:
a service that runs for months then holds only what is ahead. Pure: the desk asks, at most
every ARCHIVE_EVERY_S.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slotwise.coordinator.negotiation import OPEN, MeetingView
from slotwise.coordinator.store import MeetingRow
from slotwise.shared.decision import Decision
from slotwise.shared.slots import SlotGrid

ARCHIVE_EVERY_S = 600.0  # how often the desk looks for meetings whose time has passed
ARCHIVED_AFTER = timedelta(hours=1)  # past a meeting's end (or its window's): archived


def has_ended(view: MeetingView | None, grid: SlotGrid, wall: datetime) -> bool:
    """Closed, not moving, and past its end (placed) or its last candidate's end (not placed;
    one waiting to be retried too: its window has passed)."""
    if view is None or view.phase in OPEN or view.moving:
        return False
    d, spec = view.decision, view.spec
    if d is not None and d.scheduled and d.end is not None:
        end = d.end
    elif spec.candidates:
        end = grid.start(max(spec.candidates)) + timedelta(minutes=spec.duration_minutes)
    elif spec.not_after is not None:
        end = spec.not_after
    else:
        return False
    return end <= wall - ARCHIVED_AFTER


def archived_entry(row: MeetingRow, request: Any | None) -> dict[str, Any]:
    """An archived meeting as `list` shows it, from its stored decision and request."""
    body = request if isinstance(request, dict) else {}
    d = row.decision or Decision(id=row.id, scheduled=False)
    return {"id": row.id, "name": body.get("name") or row.id, "scheduled": d.scheduled and row.status == "scheduled",
            "start": d.start.isoformat() if d.start else None, "end": d.end.isoformat() if d.end else None,
            "participants": list(d.participants), "reason": "cancelled" if row.status == "cancelled" else d.reason,
            "invitees": list(body.get("invitees") or []), "series": row.series if row.series != row.id else None,
            "status": row.status, "archived": True}
