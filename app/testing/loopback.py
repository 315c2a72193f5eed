"""A live or batch negotiation core wired to N participant cores through the real codec and
gates, on a hand-moved clock: no sockets, no threads, no sleeping.

Like h11's ConnectionPair: the cores talk exactly as they would over ZeroMQ, but delivery,
loss and time are the caller's. The unit tests drive every core through it, and
`benchmarks/month.py` runs a month of a live service on it in seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from slotwise.coordinator.negotiation import Decided, Explained, LiveNegotiation, Negotiation, Publish, Solve
from slotwise.coordinator.placement.solver import solve
from slotwise.coordinator.plan import compile_plan
from slotwise.participant.calendar import Calendar
from slotwise.participant.calendars.sources import free_time
from slotwise.participant.responder import Exit, Responder, Send
from slotwise.shared.decision import Decision
from slotwise.shared.errors import ProtocolError
from slotwise.shared.ids import COORDINATOR, AgentId
from slotwise.shared.scenario import Availability, Scenario
from slotwise.shared.wire.codec import Encoder, Envelope, decode
from slotwise.shared.wire.gate import AgentGate, Gate
from slotwise.shared.wire.messages import Body

# A filter decides whether a frame is delivered: (sender, recipient, body) -> keep?
Filter = Callable[[AgentId, AgentId, Body], bool]


@dataclass
class FakeNetwork:
    scenario: Scenario
    absent: set[str] = field(default_factory=set)  # agents that never start
    deliver: Filter = lambda s, r, b: True
    now: float = 0.0
    open_ended: bool = False  # the live service's core: submit, cancel, move; never done
    agent_patience_s: float = 30.0  # an agent's coordinator timeout (0: waits for ever, as a service's)
    observe: Callable[[Any], None] = lambda action: None  # sees each coordinator action before it is performed

    def __post_init__(self) -> None:
        self.plan = compile_plan(self.scenario)
        self.core: Negotiation = LiveNegotiation(self.plan) if self.open_ended else Negotiation(self.plan)
        self.gate = Gate(self.plan.participants)
        self.gates: dict[AgentId, AgentGate] = {}
        self.actions: list[object] = []
        self.explanations: dict[str, tuple[object, ...]] = {}
        self.coord_codec = Encoder(COORDINATOR)
        self.agents: dict[AgentId, Responder] = {}
        self.codecs: dict[AgentId, Encoder] = {}
        self.queue: deque[tuple[AgentId, AgentId, bytes]] = deque()
        self.sent: list[tuple[AgentId, AgentId, Body]] = []
        self.dropped: list[str] = []
        self.exited: dict[AgentId, str] = {}
        self.availability: dict[AgentId, Availability] = {}  # what each agent's calendar reads
        for name in self.scenario.people:
            if name not in self.absent:
                self.start_agent(name)

    def start_agent(self, name: AgentId) -> Responder:
        self.availability.setdefault(name, self.scenario.availability(name))
        agent = Responder(name, Calendar(lambda window: free_time(self.availability[name], window)),
                          self.agent_patience_s)
        self.agents[name] = agent
        self.gates[name] = AgentGate(name)
        self.codecs[name] = Encoder(name)
        self._agent_actions(name, agent.start(self.now))
        return agent

    def change_calendar(self, name: AgentId, availability: Availability) -> None:
        """The owner edits their calendar and the agent reads it again, as its watch would."""
        self.availability[name] = availability
        self._agent_actions(name, self.agents[name].calendar_changed())

    def kill(self, name: AgentId) -> None:
        del self.agents[name]

    # --- plumbing ---------------------------------------------------------------------------

    def _post(self, sender: AgentId, recipient: AgentId, body: Body, codec: Encoder) -> None:
        self.sent.append((sender, recipient, body))
        if self.deliver(sender, recipient, body):
            self.queue.append((sender, recipient, codec.encode(body)))

    def _coord_actions(self, actions: Iterable[object]) -> None:
        for a in actions:
            self.observe(a)
            self.actions.append(a)
            if isinstance(a, Publish):
                for who in a.to if a.to is not None else tuple(self.agents):
                    self._post(COORDINATOR, who, a.body, self.coord_codec)
            elif isinstance(a, Solve):  # solved at once, as a batch run's shell does (no clock: the whole budget)
                self._coord_actions(self.core.solved(a.ticket, solve(a.problem, a.budget_s, lambda: self.now), self.now))
            elif isinstance(a, Explained):
                self.explanations[a.meeting_id] = a.rows

    def _agent_actions(self, name: AgentId, actions: Iterable[object]) -> None:
        for a in actions:
            if isinstance(a, Send):
                self._post(name, COORDINATOR, a.body, self.codecs[name])
            elif isinstance(a, Exit):
                self.exited[name] = a.reason
                self.agents.pop(name, None)

    def pump(self) -> None:
        """Deliver until nothing is in flight."""
        while self.queue:
            self.step()

    def step(self) -> None:
        """Deliver the next frame in flight."""
        sender, recipient, frame = self.queue.popleft()
        env = decode(frame)
        try:
            if recipient == COORDINATOR:
                self._coord_actions(self.feed(env))
            elif recipient in self.agents:
                admitted = self.gates[recipient].check(env)
                if admitted is not None:
                    self._agent_actions(recipient, self.agents[recipient].receive(admitted, self.now))
        except ProtocolError as exc:
            self.dropped.append(str(exc))

    def feed(self, env: Envelope, connection: str | None = None) -> list[object]:
        """One message to the coordinator's core, through its gate as a shell would (each agent
        its own connection, unless the test names one)."""
        return list(self.core.receive(self.gate.check(env, connection or env.sender), self.now))

    def run(self, limit_s: float = 600.0) -> list[Decision]:
        """Start, then alternate delivery and the clock until the coordinator is done."""
        if not self.core.started:
            self._coord_actions(self.core.start(self.now))
        for _ in range(1_000_000):
            self.pump()
            if self.core.done:
                return list(self.core.decisions)
            deadlines = [d for d in [self.core.next_deadline()] if d is not None]
            deadlines += [a.next_deadline() for a in self.agents.values()]
            self.now = max(self.now, min(deadlines))
            assert self.now < limit_s, "negotiation did not end"
            self._coord_actions(self.core.tick(self.now))
            for name, agent in list(self.agents.items()):
                self._agent_actions(name, agent.tick(self.now))
        raise AssertionError("the clock stopped advancing: a deadline that tick() does not clear")

    def act(self, actions: Iterable[object]) -> None:
        """Perform a core's actions from a verb the test called (submit, cancel, move)."""
        self._coord_actions(actions)

    def settle(self, limit_s: float = 600.0) -> None:
        """An open-ended core: deliver and move the clock until no meeting is open."""
        if not self.core.started:
            self._coord_actions(self.core.start(self.now))
        deadline = self.now + limit_s
        while True:
            self.pump()
            if self.core.phase.name == "NEGOTIATING" and not self.core.open_count and not self.queue:
                self.now += 0.05  # let the announcement burst go out
                self._coord_actions(self.core.tick(self.now))
                for name, agent in list(self.agents.items()):  # and the agents' heartbeats, as time passes
                    self._agent_actions(name, agent.tick(self.now))
                self.pump()
                return
            deadlines = [d for d in [self.core.next_deadline()] if d is not None]
            deadlines += [a.next_deadline() for a in self.agents.values()]
            self.now = max(self.now, min(deadlines))
            assert self.now < deadline, "negotiation did not settle"
            self._coord_actions(self.core.tick(self.now))
            for name, agent in list(self.agents.items()):
                self._agent_actions(name, agent.tick(self.now))

    def decided(self) -> list[Decided]:
        return [Decided(d) for d in self.core.decisions]
