"""The error tree, drawn once so every caller knows whose fault an error is.

    SlotwiseError
    ├── ScenarioError      the user's input is wrong: names file, line, field and problem; exit 2
    ├── ProtocolError      a peer broke the protocol: the receiver drops the message and logs it
    │   └── DecodeError    bytes that are not a valid message at all
    └── PolicyError        an unknown policy name or bad policy options

Broken core invariants ("nobody is double-booked") are asserted instead: if one fires, the bug is
ours, not the peer's or the user's (the rule h11 follows for LocalProtocolError).
"""

from __future__ import annotations

from dataclasses import dataclass


class SlotwiseError(Exception):
    """Base of every error slotwise raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # "meetings[0].invitees[2]", or "" for the whole file
    message: str
    line: int | None = None


class ScenarioError(SlotwiseError):
    """A scenario or availability file that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for p in self.problems:
            where = f"{self.source}:{p.line}" if p.line else self.source
            lines.append(f"{where}: {p.path}: {p.message}" if p.path else f"{where}: {p.message}")
        return "\n".join(lines)


class ProtocolError(SlotwiseError):
    """A peer sent something the protocol does not allow here (stale round, wrong session...)."""


class DecodeError(ProtocolError):
    """Untrusted bytes that did not decode into a valid message."""


class PolicyError(SlotwiseError):
    """A policy name nobody registered, or options the policy refuses."""
