"""slotwise: autonomous agents negotiate meeting times over ZeroMQ.

The public API is what `__all__` lists; everything else is internal and may move. Names are
imported on first use (PEP 562), so `import slotwise` is cheap: the pytest plugin and the
command line pay only for what they touch.

    import slotwise

    scenario = slotwise.load_scenario(slotwise.example_scenario("tutorial"))
    run = slotwise.run_locally(scenario)          # a coordinator here, one process per person
    for decision in run.result.decisions:
        print(decision.id, decision.start, decision.participants)

Policy plug-ins import their contracts from `slotwise.policies`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from slotwise._version import __version__

if TYPE_CHECKING:
    from slotwise.client import Client
    from slotwise.coordinator.negotiation import Action, MeetingView
    from slotwise.coordinator.outcome import MeetingResult, RunResult, RunStats
    from slotwise.coordinator.placement.reasons import CandidateRow
    from slotwise.coordinator.plan import Plan, compile_plan
    from slotwise.coordinator.policies.base import MeetingSpec
    from slotwise.local import LocalRun, run_locally
    from slotwise.policies import Priority, Rule, Silence, SlotOrder, TimeConstraint
    from slotwise.shared.decision import Decision
    from slotwise.shared.errors import AdminError, ScenarioError, SlotwiseError
    from slotwise.shared.scenario import Scenario, load_scenario
    from slotwise.testing.harness import Cluster

__all__ = [
    "Action",
    "AdminError",
    "CandidateRow",
    "Client",
    "Cluster",
    "Decision",
    "LocalRun",
    "MeetingResult",
    "MeetingSpec",
    "MeetingView",
    "Plan",
    "Priority",
    "Rule",
    "RunResult",
    "RunStats",
    "Scenario",
    "ScenarioError",
    "Silence",
    "SlotOrder",
    "SlotwiseError",
    "TimeConstraint",
    "__version__",
    "compile_plan",
    "example_scenario",
    "load_scenario",
    "run_locally",
]

_WHERE = {
    "Action": "slotwise.coordinator.negotiation",
    "AdminError": "slotwise.shared.errors",
    "CandidateRow": "slotwise.coordinator.placement.reasons",
    "Client": "slotwise.client",
    "Cluster": "slotwise.testing.harness",
    "Decision": "slotwise.shared.decision",
    "LocalRun": "slotwise.local",
    "MeetingResult": "slotwise.coordinator.outcome",
    "MeetingSpec": "slotwise.coordinator.policies.base",
    "MeetingView": "slotwise.coordinator.negotiation",
    "Plan": "slotwise.coordinator.plan",
    "Priority": "slotwise.policies",
    "Rule": "slotwise.policies",
    "RunResult": "slotwise.coordinator.outcome",
    "RunStats": "slotwise.coordinator.outcome",
    "Scenario": "slotwise.shared.scenario",
    "ScenarioError": "slotwise.shared.errors",
    "Silence": "slotwise.policies",
    "SlotOrder": "slotwise.policies",
    "SlotwiseError": "slotwise.shared.errors",
    "TimeConstraint": "slotwise.policies",
    "compile_plan": "slotwise.coordinator.plan",
    "example_scenario": "slotwise.scenarios",
    "load_scenario": "slotwise.shared.scenario",
    "run_locally": "slotwise.local",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'slotwise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
