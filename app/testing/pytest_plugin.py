"""pytest plugin (entry point `pytest11`): a fixture that runs slotwise deployments for tests.

    def test_schedule(slotwise_cluster):
        cluster = slotwise_cluster("scenarios/tutorial.yaml")              # loopback
        cluster = slotwise_cluster("s.yaml", network="netns")              # separate hosts
        cluster.start()
        results = cluster.wait()

Every process is killed and every namespace removed when the test ends. With
`network="netns"`, the test is skipped, saying why, where namespaces are not available.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the harness (zmq, pydantic, the scenario stack) loads only when a test asks
    from slotwise.testing.harness import Cluster


@pytest.fixture
def slotwise_cluster(tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    from slotwise.testing.harness import Cluster, Namespaces

    clusters: list[Cluster] = []

    def make(scenario: str | Path, *, network: str = "loopback", **options: Any) -> Cluster:
        if network == "netns":
            why = Namespaces.unavailable()
            if why is not None:
                pytest.skip(f"separate hosts unavailable: {why}")
        workdir = tmp_path / f"cluster{len(clusters)}"
        workdir.mkdir()
        cluster = Cluster(Path(scenario), workdir, network=network, **options)
        clusters.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in clusters:
            cluster.stop()
