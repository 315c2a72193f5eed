"""Calendar files named in a scenario: read where calendars are read, blocking their events, and
a missing one reported with file, line and field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from slotwise.participant.calendars.sources import calendar_file_problems
from slotwise.shared.errors import ScenarioError
from slotwise.shared.scenario import load_scenario
from tests.helpers import REPO
from tests.unit.fakenet import FakeNetwork

ICS = REPO / "tests" / "data" / "ics"


SCENARIO = """\
name: ics
timezone: Europe/Berlin
horizon: {start: 2019-03-04T00:00:00, end: 2019-03-05T00:00:00}
slot_minutes: 30
participants:
  nextcloud: {ics: [cal.ics]}
  other: {}
meetings:
  - {id: m, duration_minutes: 60, invitees: [nextcloud, other]}
"""


def test_a_participants_calendar_file_blocks_its_events(tmp_path: Path) -> None:
    (tmp_path / "cal.ics").write_bytes((ICS / "each_week_but_two_deleted.ics").read_bytes())
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    s = load_scenario(path)
    assert s.availability("nextcloud").ics == [str((tmp_path / "cal.ics").resolve())]
    (o,) = FakeNetwork(s).run()
    # The horizon opens at 00:00 Berlin (23:00 UTC). The 00:30-01:00 Berlin event rules out the
    # hours starting 00:00 and 00:30 Berlin, so the first free hour starts 01:00 Berlin.
    assert o.scheduled and o.when is not None and o.when.start == datetime(2019, 3, 4, 0, 0, tzinfo=UTC)


def test_a_missing_calendar_file_is_a_scenario_error(tmp_path: Path) -> None:
    """Checked where calendars are read (`run`, `validate`, the agent), with file, line and field;
    the file schema itself never reads a calendar."""
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    assert load_scenario(path).availability("nextcloud").ics  # the schema alone: the path, resolved
    with pytest.raises(ScenarioError, match=r"s.yaml:6: participants.nextcloud.ics\[0\]: .*cannot read"):
        load_scenario(path, checks=[calendar_file_problems])
