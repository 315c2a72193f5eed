"""Loading scenario, availability and host files: every problem at once, each with the file, the
line, the field path and what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    TypeAdapter,
    ValidationError,
)

from slotwise.shared.errors import Problem, ScenarioError
from slotwise.shared.ids import is_valid_name
from slotwise.shared.scenario.checks import _meeting_problems, _semantic_problems, raw_invitee_problems
from slotwise.shared.scenario.models import Availability, Meeting, Scenario
from slotwise.shared.scenario.reading import MAX_FILE_BYTES, _line_for, read_yaml, render_path
from slotwise.shared.scenario.times import _UNION_TAGS, _Strict
from slotwise.shared.suggest import did_you_mean


def _validate(model: type[_Strict], data: Any, source: str,
              lines: dict[tuple[Any, ...], int]) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(source, [Problem("", "expected a mapping of fields at the top level")])
    # Top-level "x-..." keys are extension fields, a home for YAML anchors (as in docker-compose).
    data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    zone_name = data.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(zone_name) if isinstance(zone_name, str) else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None  # reported by the field validator
    try:
        return model.model_validate(data, context={"zone": zone, "base_dir": str(Path(source).parent)})
    except ValidationError as exc:
        problems = _problems(exc, (), lines)
        if model is Scenario:  # names can be checked on the file as written: in this same pass
            problems += [Problem(render_path(loc), message, _line_for(loc, lines))
                         for loc, message in raw_invitee_problems(data)]
        raise ScenarioError(source, problems) from None


def _problems(exc: ValidationError, prefix: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(part for part in err["loc"] if part not in _UNION_TAGS)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}{did_you_mean(str(loc[-1]), _field_names())}"
        problems.append(Problem(render_path(loc), message, _line_for(loc, lines)))
    return problems


def _field_names() -> set[str]:
    """Every field a scenario file may have, anywhere: what a misspelt key is compared with."""
    names: set[str] = set()
    todo: list[type[_Strict]] = [_Strict]
    while todo:
        model = todo.pop()
        names.update(model.model_fields)
        todo += model.__subclasses__()
    return names


Check = Callable[[Scenario], Iterable[tuple[tuple[Any, ...], str]]]
_MEETING_LIST: TypeAdapter[list[Meeting]] = TypeAdapter(list[Meeting])
MAX_SUBMITTED = 1000  # meetings in one request to the live service


def with_meetings(scenario: Scenario, data: Any, source: str, checks: Sequence[Check] = (),
                  *, bounded: bool = True) -> Scenario:
    """The scenario with `data` (a `meetings:` list, as written in a scenario) as its meetings,
    checked exactly as a scenario's are; raises ScenarioError with `meetings[i].field` paths.

    This is how the live service takes new meetings: the participants, horizon and policies
    stay the scenario's own."""
    if not isinstance(data, list):
        raise ScenarioError(source, [Problem("meetings", "expected a list of meetings")])
    if bounded and len(data) > MAX_SUBMITTED:
        raise ScenarioError(source, [Problem("meetings", f"{len(data)} meetings; at most {MAX_SUBMITTED} per request")])
    try:
        meetings = _MEETING_LIST.validate_python(data, context={"zone": scenario.zone, "base_dir": "."})
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc, ("meetings",), {})) from None
    updated = scenario.model_copy(update={"meetings": meetings})
    found = list(_meeting_problems(updated))
    if not found:
        for check in checks:
            found += check(updated)
    if found:
        raise ScenarioError(source, [Problem(render_path(loc), message) for loc, message in found])
    return updated


def load_scenario(path: str | Path, checks: Sequence[Check] = (), always: Sequence[Check] = ()) -> Scenario:
    """Read and check a scenario file; raises ScenarioError listing every problem.

    `checks` add rules this module cannot know (compiling the plan), run once the file's own
    rules hold; `always` ones (policy names, calendar files) need only a file that could be read
    as a scenario, so their mistakes are reported in the same pass as the others. Both are
    reported with field paths and lines like the built-in ones.
    """
    path = Path(path)
    data, lines = read_yaml(path)
    scenario: Scenario = _validate(Scenario, data, str(path), lines)
    found = list(_semantic_problems(scenario))
    for check in always:
        found += check(scenario)
    if not found:
        for check in checks:
            found += check(scenario)
    found = list(dict.fromkeys(found))  # a check may find again what another said
    problems = [Problem(render_path(loc), message, _line_for(loc, lines)) for loc, message in found]
    if problems:
        raise ScenarioError(str(path), problems)
    return scenario


def load_availability(path: str | Path) -> Availability:
    """Read one person's availability file (the `participant --availability` format)."""
    path = Path(path)
    data, lines = read_yaml(path)
    if data is None:
        data = {}
    return _validate(Availability, data, str(path), lines)  # type: ignore[no-any-return]


def load_agents(path: str | Path) -> dict[str, Availability]:
    """Read a host's availability file: `{"agents": {NAME: availability, ...}}` (what `run
    --hosts` writes, one per host process, so each holds only its own agents' calendars)."""
    path = Path(path)
    try:  # what `run` writes is JSON, read at C speed; anything else goes through the YAML door
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError("too large for the fast path")
        data, lines = json.loads(path.read_bytes()), dict[tuple[Any, ...], int]()
    except (OSError, ValueError):
        data, lines = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("agents"), dict) or set(data) != {"agents"}:
        raise ScenarioError(str(path), [Problem("agents", "a host's availability file holds only "
                                                          "`agents:`, a mapping of names to availability")])
    out: dict[str, Availability] = {}
    for name, entry in data["agents"].items():
        if not isinstance(name, str) or not is_valid_name(name):
            raise ScenarioError(str(path), [Problem("agents", f"{name!r} is not a participant name")])
        try:
            out[name] = _validate(Availability, entry if entry is not None else {}, str(path), {})
        except ScenarioError as exc:
            raise ScenarioError(str(path), [Problem(f"agents.{name}" + (f".{p.path}" if p.path else ""),
                                                    p.message, _line_for(("agents", name), lines))
                                            for p in exc.problems]) from None
    return out


def dump_agents(agents: Mapping[str, Availability]) -> str:
    """The host availability file, as JSON (valid YAML, exact for datetimes)."""
    return "{\"agents\": {" + ", ".join(f"{json.dumps(name)}: {dump_availability(a)}"
                                         for name, a in agents.items()) + "}}"


def dump_availability(availability: Availability) -> str:
    """The availability file format, as YAML (JSON is valid YAML, and exact for datetimes)."""
    return availability.model_dump_json(exclude_none=True, by_alias=True)
