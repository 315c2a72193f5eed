"""Distinct names for the identifiers, so a meeting id is never passed where an agent id goes."""

from __future__ import annotations

import re
from typing import NewType

AgentId = NewType("AgentId", str)
MeetingId = NewType("MeetingId", str)

# Names travel in envelopes, file names (keys, records) and log lines: keep them to a safe alphabet.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)

COORDINATOR = AgentId("coordinator")


def is_valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name))
