"""Hostile YAML: alias bombs, recursive aliases, deep nesting and huge files refused cheaply with
the line, while shared blocks through aliases still work."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from slotwise.shared.errors import ScenarioError
from slotwise.shared.scenario import MAX_FILE_BYTES, load_scenario
from tests.helpers import scenario_dict


def _with_extra(tmp_path: Path, extra: str) -> Path:
    base = yaml.safe_dump(scenario_dict({"a": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a"]}]))
    path = tmp_path / "s.yaml"
    path.write_text(base + extra)
    return path


def _refused_cheaply(path: Path, match: str) -> ScenarioError:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ScenarioError, match=match) as caught:
            load_scenario(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5  # generous: today it is milliseconds; before, it hung
    assert peak < 50 << 20
    return caught.value


def test_an_alias_bomb_is_refused_with_its_line(tmp_path: Path) -> None:
    # Nine levels of nine: 562 bytes that stand for 387 million values.
    lines = ["x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x-a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path = _with_extra(tmp_path, "\n".join(lines) + "\n")
    error = _refused_cheaply(path, "expand to more than")
    (problem,) = error.problems
    assert problem.line is not None and problem.line > 1


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = _with_extra(tmp_path, "x-loop: &loop [1, *loop]\n")
    _refused_cheaply(path, "refers to itself")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = _with_extra(tmp_path, "x-deep: " + "[" * 20_000 + "]" * 20_000 + "\n")
    _refused_cheaply(path, "nested too deeply|not valid YAML")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs nothing to make
    error = _refused_cheaply(path, "at most")
    assert str(path) in error.render()


def test_shared_blocks_through_aliases_still_work(tmp_path: Path) -> None:
    office = "x-office: &office {available: [[2024-07-22T09:00:00Z, 2024-07-22T12:00:00Z]]}\n"
    base = scenario_dict({"a": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}])
    text = office + yaml.safe_dump(base).replace("participants:\n  a: {}\n", "participants:\n  a: *office\n  b: *office\n")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    s = load_scenario(path)
    assert s.availability("a") == s.availability("b") and s.availability("a").available
