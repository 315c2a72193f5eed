"""Log sinks, set up by the command-line entry points only (a library never adds sinks)."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

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


def _json_line(message: Any) -> None:
    """One JSON object per line, for log collectors (`--log-format json`)."""
    record = message.record
    line = {"time": record["time"].isoformat(), "level": record["level"].name, "role": record["extra"]["role"],
            "agent": record["extra"]["agent"].strip("[]") or None, "message": record["message"]}
    if record["exception"] is not None:
        line["exception"] = repr(record["exception"].value)
    sys.stderr.write(json.dumps(line, ensure_ascii=False) + "\n")


def configure(level: str, role: str, agent: str = "", log_format: str = "text") -> None:
    """`log_format`: "text" for people, "json" for collectors (one object per line)."""
    logger.remove()
    logger.configure(extra={"role": role, "agent": f"[{agent}]" if agent else ""}, patcher=_escaped)
    if log_format == "json":
        logger.add(_json_line, level=level.upper(), diagnose=False, backtrace=False)
        return
    # diagnose=False: tracebacks must not print local variables (peer data, calendars).
    logger.add(sys.stderr, level=level.upper(), format=FORMAT, diagnose=False, backtrace=False)
