"""How much either end of the agents' connection queues, batches and reads at once.

Both ends must agree on MAX_BATCH (a message of more envelopes is refused) and should agree on
QUEUE_LIMIT; the drain limits keep one wake-up's reading short, so deadlines and sends are never
starved by a flood. In one place, so the two ends cannot drift apart.
"""

from __future__ import annotations

QUEUE_LIMIT = 100_000  # messages queued each way per connection before ZeroMQ drops; far above any scenario
MAX_BATCH = 100  # envelopes in one ZeroMQ message, either way
DRAIN_BATCH = 1_000  # frames handled per wake-up before deadlines are checked again
COORDINATOR_DRAIN_SLICE_S = 0.05  # ... or this long, whichever comes first: the coordinator's many peers
AGENT_DRAIN_SLICE_S = 0.02  # an agent host answers quickly, so its replies leave in small bursts
