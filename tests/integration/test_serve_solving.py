"""`serve` keeps serving while the optimizer works: the solve runs aside, so `status` answers
at once and the agents' heartbeats are heard (nobody is declared lost).

The service runs in this process (its loop in a thread) so the test can give it a solver that
takes 3 s; its agents are real processes over a real socket, and the client is the real one.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

from slotwise.client import Client
from slotwise.coordinator.live import LiveService
from slotwise.coordinator.placement.problem import Placement, Problem
from slotwise.coordinator.placement.solver import solve
from slotwise.coordinator.plan import load_plan
from slotwise.coordinator.store import SqliteStore
from slotwise.shared.endpoints import parse_endpoints
from tests.integration.conftest import Children
from tests.integration.test_serve import PEOPLE, Service, at, scenario_file

SOLVE_S = 3.0


def test_status_answers_and_nobody_is_lost_during_a_3s_solve(children: Children, tmp_path: Path) -> None:
    path = scenario_file(tmp_path, policies={"placement": {"optimize": {"time_limit_s": 5}}})
    started, finished = threading.Event(), threading.Event()

    def slow(problem: Problem, budget_s: float, clock: Callable[[], float]) -> Placement:
        started.set()
        time.sleep(SOLVE_S)  # ok-sleep: the optimizer at work (CP-SAT releases the GIL as this does)
        placement = solve(problem, budget_s, clock)
        finished.set()
        return placement

    scenario, plan = load_plan(path)
    work = children.workdir
    agents_at, admin_at = f"ipc://{work}/ag", f"ipc://{work}/adm"
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
    ready = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        """The service, made, run and closed in its own thread (its store is that thread's)."""
        service = LiveService(scenario, plan, parse_endpoints(agents_at), admin_at, SqliteStore(work / "state.db"),
                              solver=slow)

        async def main() -> None:
            stop = asyncio.Event()
            running.append((asyncio.get_running_loop(), stop))
            ready.set()
            await service.run(stop)

        try:
            service.bind()
            asyncio.run(main())
        except BaseException as exc:  # reported by the test
            failure.append(exc)
            ready.set()
        finally:
            service.close()

    thread = threading.Thread(target=serve, name="serve", daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        assert not failure, failure
        agents = Service(children, path)
        agents.agents_at, agents.admin_at = agents_at, admin_at
        for p in PEOPLE:
            agents.agent(p)
        agents.wait_connected(len(PEOPLE))
        meetings = [{"id": f"m{i}", "duration_minutes": 60, "invitees": ["ana", "bo"], "not_before": at(9)}
                    for i in range(3)]
        with Client(admin_at, None, timeout=10.0) as client:
            client.add(meetings, wait=0)
            assert started.wait(30), "the optimizer was never asked"
            latencies: list[float] = []
            while not finished.is_set():
                t0 = time.monotonic()
                status = client.status()
                latencies.append(time.monotonic() - t0)
                assert not status["participants"]["lost"], status
            assert len(latencies) >= 10, latencies
            # Typically under a millisecond; a loop that waited for the solve would take 3 s. The
            # slowest answer is bounded well under that, not at the median's scale: on a busy
            # machine CP-SAT's workers share two cores with the loop (one answer took 0.14 s).
            assert statistics.median(latencies) < 0.1 and max(latencies) < SOLVE_S / 3, latencies
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status = client.status()
                if status["meetings"]["scheduled"] == 3:
                    break
                time.sleep(0.05)  # ok-sleep: a status poll's pace under a deadline
            assert status["meetings"]["scheduled"] == 3, status
            assert sorted(status["participants"]["connected"]) == sorted(PEOPLE) and not status["participants"]["lost"]
            starts = {e["id"]: e["start"] for e in client.list()}
            assert len(set(starts.values())) == 3  # ana and bo in three different hours
    finally:
        for loop, stop in running:  # stopped from outside its loop, as a signal handler would
            if not loop.is_closed():
                loop.call_soon_threadsafe(stop.set)
        thread.join(20)
        for proc in children.procs:
            if proc.poll() is None:
                proc.terminate()
    assert not thread.is_alive(), "the service did not stop"
    assert not failure, failure
