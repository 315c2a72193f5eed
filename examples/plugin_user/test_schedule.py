"""A project outside the slotwise repository using the `slotwise_cluster` fixture (as in the README)."""

from __future__ import annotations

from typing import Any

import slotwise
from shared import ANSWER  # the project's own package, not slotwise's


def test_schedule(slotwise_cluster: Any) -> None:
    cluster = slotwise_cluster(slotwise.example_scenario("tutorial"))  # loopback
    cluster.start()
    results = cluster.wait()
    assert ANSWER == 42
    assert [m["scheduled"] for m in results["meetings"]] == [True, True]
