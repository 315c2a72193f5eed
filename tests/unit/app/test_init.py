"""The package as users import it: one import name, a light pytest plugin, and a public API
that names every type the documented calls return."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path


def test_one_import_name_and_a_light_plugin(tmp_path: Path) -> None:
    code = (
        "import importlib.util, sys\n"
        "assert all(importlib.util.find_spec(n) is None for n in ('shared', 'coordinator', 'participant'))\n"
        "import slotwise.testing.pytest_plugin\n"
        "heavy = [m for m in ('zmq', 'pydantic', 'yaml', 'slotwise.testing.harness') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import slotwise\n"
        "assert slotwise.example_scenario('tutorial').is_file()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr



def _named_types(hint: object) -> set[type]:
    """Every class a type hint mentions, through its arguments (`dict[K, tuple[V, ...]]`)."""
    found = {hint} if isinstance(hint, type) else set()
    for arg in typing.get_args(hint):
        found |= _named_types(arg)
    return found


def test_every_public_name_resolves_and_what_the_calls_return_is_public() -> None:
    import slotwise
    from slotwise.local import LocalRun, run_locally

    assert all(getattr(slotwise, name) is not None for name in slotwise.__all__)
    public = {getattr(slotwise, name) for name in slotwise.__all__ if name != "__version__"}
    # What `run_locally` hands back, and every type its parts are made of, a user can name
    # from `slotwise` (ids are plain strings to a user).
    assert typing.get_type_hints(run_locally)["return"] in public
    for where in (LocalRun, slotwise.RunResult):
        for hint in typing.get_type_hints(where).values():
            for named in _named_types(hint):
                assert named in public or named.__module__ == "builtins", (where, hint, named)
