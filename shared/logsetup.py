"""Log sinks, set up by the command-line entry points only (a library never adds sinks)."""

from __future__ import annotations

import sys

from loguru import logger

FORMAT = "{time:HH:mm:ss.SSS} {level: <7} {extra[role]}{extra[agent]}: {message}"


def configure(level: str, role: str, agent: str = "") -> None:
    logger.remove()
    logger.configure(extra={"role": role, "agent": f"[{agent}]" if agent else ""})
    # diagnose=False: tracebacks must not print local variables (peer data, calendars).
    logger.add(sys.stderr, level=level.upper(), format=FORMAT, diagnose=False, backtrace=False)
