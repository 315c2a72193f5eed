"""A bug inside the negotiation core stops `slotwise run` loudly: exit 1, the core's state in the
log, every agent process gone. The bug comes from a third-party rule plug-in (the core runs policy
code), loaded through real entry-point metadata."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import scenario_dict, write_scenario

pytestmark = pytest.mark.integration

BUGGY_RULE = '''
from typing import ClassVar


class Buggy:
    kind: ClassVar[str] = "rule"

    def __init__(self, options):
        self.options = options

    def minimum(self, meeting):
        return 1

    def problems(self, meeting):
        return []

    def satisfied(self, meeting, attendees):
        return True

    def shortfall(self, meeting, attendees):
        return "never"

    def select(self, meeting, available, load):
        raise RuntimeError("plug-in bug while selecting attendees")


from slotwise.policies import NoOptions
Buggy.Options = NoOptions
'''


def test_a_bug_in_the_core_stops_run_with_exit_1(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    dist = plugins / "buggy_rule-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: buggy-rule\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[slotwise.policies]\nbuggy = buggy_rule:Buggy\n")
    (plugins / "buggy_rule.py").write_text(BUGGY_RULE)
    data = scenario_dict({"a": {}, "b": {}}, [{"id": "m", "duration_minutes": 30, "invitees": ["a", "b"]}],
                         policies={"rule": "buggy"})
    path = write_scenario(tmp_path / "s.yaml", data)
    env = {**os.environ, "PYTHONPATH": str(plugins)}
    done = subprocess.run([sys.executable, "-m", "slotwise", "run", str(path), "-q", "--out", str(tmp_path / "r.json")],
                          capture_output=True, text=True, timeout=90, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stderr
    assert "stopped: internal error in the negotiation core: RuntimeError: plug-in bug" in done.stderr
    assert "negotiation core stopped: phase ERROR" in done.stderr  # the state, in the log
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r.json").exists()  # no results claimed from a broken core
