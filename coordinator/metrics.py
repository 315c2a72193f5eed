"""What `serve` tells an operator's Prometheus (`/metrics` on `--http`).

Counts that are the desk's state already (agents connected and lost, meetings by status,
retries made) are read when scraped, so nothing is counted twice and nothing can drift; the
latencies (admin requests by door and op, request to decision, store commits) are histograms
fed as things happen. One registry per service: a test or an embedding program can run two.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, exposition
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Snapshot = Callable[[], dict[str, Any]]  # the desk's status(), as the admin op returns it


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.admin_latency = Histogram("slotwise_admin_request_seconds", "Admin requests, received to answered",
                                       ["door", "op"], registry=self.registry)
        self.negotiation = Histogram("slotwise_negotiation_seconds", "Meetings, requested to decided",
                                     buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, float("inf")),
                                     registry=self.registry)
        self.store_commit = Histogram("slotwise_store_commit_seconds", "Store commits, by what they record",
                                      ["what"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                         0.25, 1, float("inf")), registry=self.registry)

    def watch(self, snapshot: Snapshot) -> None:
        """Read the service's counts from `snapshot` at every scrape."""
        self.registry.register(_Counts(snapshot))

    def timed(self, what: str) -> _Timer:
        return _Timer(self.store_commit.labels(what=what))

    def exposition(self) -> tuple[bytes, str]:
        return exposition.generate_latest(self.registry), exposition.CONTENT_TYPE_LATEST


class _Timer:
    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._began = 0.0

    def __enter__(self) -> None:
        self._began = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        self._histogram.observe(time.perf_counter() - self._began)


class _Counts(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        status = self._snapshot()
        people = status["participants"]
        agents = GaugeMetricFamily("slotwise_agents", "Participants' agents, by state", labels=["state"])
        agents.add_metric(["connected"], len(people["connected"]))
        agents.add_metric(["lost"], len(people["lost"]))
        agents.add_metric(["never_joined"], len(people["never_joined"]))
        yield agents
        yield GaugeMetricFamily("slotwise_agents_expected", "Participants the scenario lists", value=people["expected"])
        meetings = GaugeMetricFamily("slotwise_meetings", "Meetings (occurrences), by status", labels=["status"])
        for name, count in status["meetings"].items():
            meetings.add_metric([name], count)
        yield meetings
        yield GaugeMetricFamily("slotwise_meetings_moving", "Meetings with a move in flight", value=status["moving"])
        yield CounterMetricFamily("slotwise_retries", "Failed meetings negotiated again", value=status["retries"])
        yield CounterMetricFamily("slotwise_admin_requests", "Admin requests answered", value=status["requests_served"])


class TimedStore:
    """A store whose commits are timed into `slotwise_store_commit_seconds`; reads pass through."""

    def __init__(self, store: Any, metrics: Metrics) -> None:
        self._store, self._metrics = store, metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def __str__(self) -> str:
        return str(self._store)

    def add(self, *args: Any) -> None:
        with self._metrics.timed("add"):
            self._store.add(*args)

    def decide(self, *args: Any) -> None:
        with self._metrics.timed("decide"):
            self._store.decide(*args)

    def move_started(self, *args: Any) -> None:
        with self._metrics.timed("move"):
            self._store.move_started(*args)

    def move_failed(self, *args: Any) -> None:
        with self._metrics.timed("move_failed"):
            self._store.move_failed(*args)

    def cancel(self, *args: Any) -> None:
        with self._metrics.timed("cancel"):
            self._store.cancel(*args)
