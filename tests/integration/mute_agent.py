"""A real agent process that joins properly and heartbeats, but never answers a request.

Run as: python mute_agent.py ENDPOINTS NAME
"""

from __future__ import annotations

import sys

from slotwise.participant.agent import AgentService
from slotwise.participant.calendar import Calendar
from slotwise.participant.responder import AgentAction, Responder
from slotwise.shared.endpoints import parse_endpoints
from slotwise.shared.ids import AgentId
from slotwise.shared.logsetup import configure
from slotwise.shared.slots import FreeTime
from slotwise.shared.wire.gate import Admitted
from slotwise.shared.wire.messages import AvailabilityRequest, Hold


class MuteResponder(Responder):
    def receive(self, admitted: Admitted, now: float) -> list[AgentAction]:
        actions = super().receive(admitted, now)
        if isinstance(admitted.env.body, (AvailabilityRequest, Hold)):
            return []
        return actions


if __name__ == "__main__":
    configure("INFO", "mute", sys.argv[2])
    responder = MuteResponder(AgentId(sys.argv[2]), Calendar(FreeTime([])), coordinator_timeout_s=30)
    AgentService(responder, parse_endpoints(sys.argv[1])).run()
