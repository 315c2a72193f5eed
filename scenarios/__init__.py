"""The example scenarios shipped with slotwise, installed as package data.

`slotwise.example_scenario("tutorial")` is the path of `tutorial.yaml`, wherever slotwise is
installed, so examples and tests outside this repository can run them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def names() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in files(__name__).iterdir()
                  if p.name.endswith(".yaml"))


def example_scenario(name: str) -> Path:
    """The installed path of a shipped scenario, by name (`tutorial`, `team-week`, ...)."""
    path = Path(str(files(__name__) / f"{name.removesuffix('.yaml')}.yaml"))
    if not path.is_file():
        raise FileNotFoundError(f"no shipped scenario {name!r}; shipped: {', '.join(names())}")
    return path
