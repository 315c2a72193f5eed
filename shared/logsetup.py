"""Log sinks, set up by the command-line entry points only (a library never adds sinks)."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

FORMAT = "{time:HH:mm:ss.SSS} {level: <7} {extra[role]}{extra[agent]}: {message}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(match[0], f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape(text: str) -> str:
    """`text` with every control character (and Unicode line separator) written as an escape,
    so a value from outside (a server's error text, a file's content) can never start a line
    of its own in a log and pass for one of ours."""
    return _CONTROL.sub(_visible, text)


def _escaped(record: Record) -> None:
    record["message"] = escape(record["message"])


def configure(level: str, role: str, agent: str = "") -> None:
    logger.remove()
    logger.configure(extra={"role": role, "agent": f"[{agent}]" if agent else ""}, patcher=_escaped)
    # diagnose=False: tracebacks must not print local variables (peer data, calendars).
    logger.add(sys.stderr, level=level.upper(), format=FORMAT, diagnose=False, backtrace=False)
