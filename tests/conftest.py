"""Test-wide settings: hypothesis profiles.

`SLOTWISE_HYPOTHESIS=thorough pytest tests/unit -k "survives or any_frames"` runs the fuzzers twenty times as
long; the default keeps the suite quick enough for every commit.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=150, deadline=None)
settings.register_profile("thorough", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("SLOTWISE_HYPOTHESIS", "default"))
