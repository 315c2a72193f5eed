"""Distinct names for the identifiers, so a meeting id is never passed where an agent id goes."""

from __future__ import annotations

import re
from typing import NewType

AgentId = NewType("AgentId", str)
MeetingId = NewType("MeetingId", str)

# Names travel in envelopes, file names (keys, records) and log lines: keep them to a safe alphabet.
# NAME_PATTERN is for pydantic (whose `$` is the end of the text); in Python, only a full match
# counts (`re`'s `$` would let a trailing newline through into a file name or a log line).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN.removeprefix("^").removesuffix("$"))

COORDINATOR = AgentId("coordinator")


def is_valid_name(name: str) -> bool:
    """The one test of a participant's (or host's, or admin's) name, at every door."""
    return _NAME_RE.fullmatch(name) is not None
