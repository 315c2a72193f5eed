"""The one rule both cores live by: whose fault an exception is.

A ProtocolError is the peer's (the message is dropped, nothing changed) and a UsageError the
caller's (a verb called out of turn); any other exception out of a core's verb is our bug. The
core then moves to its error state, keeps its state for the log, and refuses every later call
with CoreError, so the shell stops loudly instead of feeding a half-changed core (h11's rule:
anything but RemoteProtocolError is a bug).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from slotwise.shared.errors import CoreError, ProtocolError, UsageError

P = ParamSpec("P")
R = TypeVar("R")
G = TypeVar("G", bound="Guarded")


class Guarded:
    """A core whose public verbs are wrapped by `guarded`."""

    core_name = "core"  # for the message: "internal error in the <core_name>: ..."
    error: str | None = None

    def stopped(self, error: str) -> None:
        """Called once, when a verb raised a bug of ours; a core may record more (its phase)."""
        self.error = error


def guarded(method: Callable[Concatenate[G, P], R]) -> Callable[Concatenate[G, P], R]:
    """A public verb: a ProtocolError or UsageError passes through (nothing changed); anything
    else stops the core before it propagates, as CoreError."""

    def wrapper(self: G, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.error is not None:
            raise CoreError(f"the {self.core_name} stopped after an internal error: {self.error}")
        try:
            return method(self, *args, **kwargs)
        except (ProtocolError, UsageError):
            raise
        except Exception as exc:
            self.stopped(f"{type(exc).__name__}: {exc}")
            raise CoreError(f"internal error in the {self.core_name}: {self.error}") from exc

    wrapper.__name__, wrapper.__qualname__, wrapper.__doc__ = method.__name__, method.__qualname__, method.__doc__
    return wrapper
