"""Reading YAML with positions and bounds: every field path keeps its line, duplicate keys are
errors, and what a document would cost (size, then alias expansion) is bounded before anything
is constructed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from slotwise.shared.errors import Problem, ScenarioError

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 16 << 20  # a 10,000-person organisation's scenario is a few MiB
MAX_VALUES = 1_000_000  # scalars and collections after YAML aliases are expanded


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _expansion_problem(root: yaml.Node) -> Problem | None:
    """What the document would cost once aliases are expanded, measured on the node graph
    (where an alias is one shared node) before anything is constructed or walked: an "alias
    bomb" of a few hundred bytes can otherwise stand for billions of values."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if not children_done:
            active.add(key)
            stack.append((node, True))
            for child in _children(node):
                if id(child) in active and id(child) not in sizes:
                    return Problem("", "a YAML alias refers to itself (a recursive structure)",
                                   child.start_mark.line + 1)
                stack.append((child, False))
            continue
        active.discard(key)
        total = 1 + sum(sizes[id(c)] for c in _children(node))
        if total > MAX_VALUES:
            return Problem("", f"YAML aliases here expand to more than {MAX_VALUES:,} values; "
                               "write the data out or use fewer nested aliases", node.start_mark.line + 1)
        sizes[key] = total
    return None


def _positions(root: yaml.Node) -> tuple[dict[tuple[Any, ...], int], list[tuple[tuple[Any, ...], str, int]]]:
    """Map every field path to its 1-based line, and collect duplicate mapping keys. A node
    reached again through an alias is not walked again: its first path has its lines."""
    out: dict[tuple[Any, ...], int] = {}
    dups: list[tuple[tuple[Any, ...], str, int]] = []
    walked: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        out[path] = node.start_mark.line + 1
        if id(node) in walked:
            continue
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    dups.append((path + (key,), key, key_node.start_mark.line + 1))
                seen.add(key)
                stack.append((value_node, path + (key,)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path + (i,)) for i, item in enumerate(node.value))
    return out, dups


def render_path(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def read_yaml(path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse once, and bound the cost before constructing anything: the file's size, then what
    its aliases expand to, then the values themselves."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(source, [Problem("", f"the file is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read")])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(source, [Problem("", f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [Problem("", f"not UTF-8 text: {exc.reason}")]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        too_much = _expansion_problem(node)
        if too_much is not None:
            raise ScenarioError(source, [too_much])
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(source, [Problem("", f"not valid YAML: {reason}",
                                             mark.line + 1 if mark else None)]) from None
    except RecursionError:
        raise ScenarioError(source, [Problem("", "nested too deeply")]) from None
    finally:
        loader.dispose()
    lines, dups = _positions(node)
    if dups:
        raise ScenarioError(source, [Problem(render_path(p), f"duplicate key {k!r}", line)
                                     for p, k, line in dups])
    return data, lines


