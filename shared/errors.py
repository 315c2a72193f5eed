"""The error tree, drawn once so every caller knows whose fault an error is.

    SlotwiseError
    ├── InputError          the user's files or settings are wrong: exit 2, no traceback
    │   ├── ScenarioError   names file, line, field and problem
    │   ├── PolicyError     an unknown policy name or bad policy options
    │   ├── IcsError        a calendar file that cannot be read
    │   ├── CalendarError   a calendar server or feed that cannot be used
    │   ├── KeysError       a keys folder that cannot be used
    │   ├── EndpointError   an address that cannot be used (or may not be, without keys)
    │   └── JournalError    a journal that is torn in the middle or belongs to another scenario
    ├── UsageError          the calling code misused an API (a core fed before it started...)
    ├── ProtocolError       a peer broke the protocol: the receiver drops the message and logs it
    │   └── DecodeError     bytes that are not a valid message at all
    └── CoreError           a core is in its error state after a bug: the process stops (exit 1)

Only ProtocolError is ever caught and survived inside an agent or the coordinator: it is the one
fault that is somebody else's. Any other exception out of a core is our bug (the rule h11 follows:
anything but RemoteProtocolError is a bug); the core moves to its error state and the shell
stops loudly instead of feeding a half-changed core.
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


class InputError(SlotwiseError):
    """The user's input (a file, an option, a folder) cannot be used; exit 2."""


class ScenarioError(InputError):
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


class PolicyError(InputError):
    """A policy name nobody registered, or options the policy refuses."""


class IcsError(InputError, ValueError):
    """A file that is not a readable iCalendar calendar (a ValueError: validators report it)."""


class CalendarError(InputError):
    """A calendar server or feed that cannot be used: unreachable, a refused login, no such
    calendar, too large."""


class KeysError(InputError, ValueError):
    """A keys directory that cannot be used (missing file, bad name, unsafe permissions)."""


class EndpointError(InputError, ValueError):
    """An address that cannot be parsed, bound or exposed."""


class JournalError(InputError, ValueError):
    """A journal that cannot be resumed: torn before its last line, or another scenario's."""


class AdminError(SlotwiseError):
    """A live service refused an admin request, or never answered it.

    `kind` says which: unknown, conflict, refused (the request cannot be done as asked: exit 2),
    busy, timeout, handshake (exit 1)."""

    REFUSALS = frozenset({"invalid", "unknown", "conflict", "refused"})

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class UsageError(SlotwiseError):
    """The calling code used an API wrongly (our own callers included): a local fault."""


class CoreError(SlotwiseError):
    """A core hit a bug and is in its error state; it refuses further input."""
