"""Log lines: values from outside cannot forge a line, and `--log-format json` is one object per line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from loguru import logger

from slotwise.shared.logsetup import configure, escape


@pytest.fixture
def restored() -> Iterator[None]:
    yield
    logger.remove()
    logger.configure(patcher=lambda record: None)
    logger.add(sys.stderr)


def test_control_characters_are_written_as_escapes() -> None:
    assert escape("a\nb\r\x00\u2028\tc é") == "a\\nb\\r\\x00\\u2028\\tc é"


def test_json_logs_are_one_object_per_line_with_the_message_escaped(capsys: pytest.CaptureFixture[str],
                                                                    restored: None) -> None:
    configure("INFO", "participant", "ana", log_format="json")
    logger.bind(role="participant", agent="[ana]").info("calendar said: {}", "oops\n12:00 INFO forged")
    logger.debug("not at INFO")
    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO" and record["role"] == "participant" and record["agent"] == "ana"
    assert record["message"] == "calendar said: oops\\n12:00 INFO forged"
    assert record["time"].startswith("20")
