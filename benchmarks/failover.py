"""A standby taking over: two `slotwise serve` on one PostgreSQL store, agents connected to
both, a client adding meetings all along; the leader SIGKILLed again and again. One table:
failover time (the kill to the first add the new leader answers), median and max over the kills,
adds acknowledged and adds lost (must be 0); and add throughput and latency on PostgreSQL
against SQLite, one instance each, the same adds.

    python benchmarks/failover.py                     # 20 kills at the default 10 s lease
    python benchmarks/failover.py --kills 5 --lease 3

PostgreSQL is started here (initdb in a temporary folder, a unix socket, stopped by pid), as the
tests do. Everything shares this machine's cores.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from slotwise.client import Client
from slotwise.participant.launch import participant_command
from slotwise.shared.errors import AdminError
from slotwise.testing.postgres import postgres


def scenario(people: int, days: int) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"name": "failover-bench", "timezone": "UTC", "slot_minutes": 60,
            "horizon": {"start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat()},
            "participants": {f"p{i:02d}": {} for i in range(people)},
            "negotiation": {"join_timeout_s": 60, "heartbeat_s": 1.0}}


class Instances:
    def __init__(self, work: Path, path: Path, store: str, lease: float) -> None:
        self.work, self.path, self.store, self.lease = work, path, store, lease
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def agents_at(self, name: str) -> str:
        return f"ipc://{self.work}/ag-{name}"

    def admin_at(self, name: str) -> str:
        return f"ipc://{self.work}/adm-{name}"

    def start(self, name: str) -> None:
        argv = [sys.executable, "-m", "slotwise", "serve", str(self.path), "--bind", self.agents_at(name),
                "--admin", self.admin_at(name), "--store", self.store]
        if self.store.startswith("postgresql://"):
            argv += ["--lease", str(self.lease)]
        self.procs[name] = subprocess.Popen(argv, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_connected(client: Client, people: int, within: float = 300.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if len(client.status()["participants"]["connected"]) >= people:
                return
        except AdminError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"agents did not connect within {within:g} s")


def start_agents(names: list[str], connect: list[str], path: Path) -> list[subprocess.Popen[bytes]]:
    extra = [a for other in connect[1:] for a in ("--connect", other)]
    return [subprocess.Popen(participant_command(connect[0], names, scenario=path, coordinator_timeout_s=0,
                                                 log_level="ERROR", host="host0", extra=extra),
                             stderr=subprocess.DEVNULL)]


def throughput(work: Path, path: Path, store: str, names: list[str], adds: int, clients: int,
               rng: random.Random) -> tuple[float, list[float]]:
    """Adds per second and their latencies on one instance of `store`."""
    inst = Instances(work, path, store, 10.0)
    inst.start("solo")
    agents = start_agents(names, [inst.agents_at("solo")], path)
    try:
        with Client(inst.admin_at("solo"), timeout=30) as c:
            wait_connected(c, len(names))
        queue = [{"id": f"t{i}", "duration_minutes": 60, "invitees": rng.sample(names, 2)} for i in range(adds)]
        lat: list[float] = []
        lock = threading.Lock()

        def worker() -> None:
            with Client(inst.admin_at("solo"), timeout=60) as c:
                while True:
                    with lock:
                        if not queue:
                            return
                        m = queue.pop()
                    t0 = time.perf_counter()
                    c.add([m], wait=60)
                    with lock:
                        lat.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=worker) for _ in range(clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return adds / (time.perf_counter() - began), lat
    finally:
        for a in agents:
            a.terminate()
            a.wait(timeout=20)
        inst.stop()


def failovers(work: Path, path: Path, dsn: str, names: list[str], kills: int, lease: float,
              rng: random.Random) -> tuple[list[float], int, int]:
    """(failover seconds per kill, adds acknowledged, adds lost)."""
    inst = Instances(work, path, dsn, lease)
    both = [inst.admin_at("a"), inst.admin_at("b")]
    inst.start("a")
    with Client(both, timeout=30) as c:
        while True:
            try:
                if c.status().get("role") == "leader":
                    break
            except AdminError:
                pass
    inst.start("b")
    agents = start_agents(names, [inst.agents_at("a"), inst.agents_at("b")], path)
    acked: dict[str, float] = {}  # meeting id: when its add was answered
    stop = threading.Event()

    def stream() -> None:
        with Client(both, timeout=2 * lease + 10) as c:
            k = 0
            m: dict[str, Any] = {"id": "s0", "duration_minutes": 60, "invitees": rng.sample(names, 2)}
            while not stop.is_set():
                try:
                    c.add([m], wait=30)
                except AdminError:
                    continue  # sent again, the same: one meeting however often it is sent
                acked[m["id"]] = time.monotonic()
                k += 1
                m = {"id": f"s{k}", "duration_minutes": 60, "invitees": rng.sample(names, 2)}

    took: list[float] = []
    try:
        with Client(both, timeout=30) as c:
            wait_connected(c, len(names))
        writer = threading.Thread(target=stream)
        writer.start()
        for _ in range(kills):
            time.sleep(1.0)  # adds flowing to this leader first
            with Client(both, timeout=2 * lease + 30) as c:
                leader = str(c.status()["lease"]["address"])
            name = "a" if leader == inst.admin_at("a") else "b"
            os.kill(inst.procs[name].pid, signal.SIGKILL)
            killed = time.monotonic()
            inst.procs[name].wait()
            deadline = killed + 10 * lease + 60
            while not any(t > killed for t in list(acked.values())):
                if time.monotonic() > deadline:
                    raise SystemExit("no add answered after a kill")
                time.sleep(0.05)
            took.append(min(t for t in acked.values() if t > killed) - killed)
            inst.start(name)  # back, as a standby
        stop.set()
        writer.join(timeout=60)
        with Client(both, timeout=60) as c:
            listed = {e["id"] for e in c.list()}
        return took, len(acked), len(set(acked) - listed)
    finally:
        stop.set()
        for a in agents:
            a.terminate()
            a.wait(timeout=20)
        inst.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--adds", type=int, default=500, help="adds for the throughput comparison")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    console = Console(width=max(Console().width, 110))
    with tempfile.TemporaryDirectory(prefix="sw-failover-") as tmp, postgres() as server:
        work = Path(tmp)
        path = work / "failover.yaml"
        data = scenario(args.people, 60)
        path.write_text(yaml.safe_dump(data))
        names = list(data["participants"])
        (work / "sqlite").mkdir()
        (work / "pg").mkdir()
        sqlite_rate, sqlite_lat = throughput(work / "sqlite", path, str(work / "state.db"), names, args.adds,
                                             args.clients, rng)
        pg_rate, pg_lat = throughput(work / "pg", path, server.database(), names, args.adds, args.clients, rng)
        (work / "fo").mkdir()
        took, acked, lost = failovers(work / "fo", path, server.database(), names, args.kills, args.lease, rng)

    def p99(lat: list[float]) -> float:
        return statistics.quantiles(lat, n=100)[98] if len(lat) > 1 else lat[0]

    table = Table(title=f"slotwise serve failover: {args.people} agents, lease {args.lease:g} s, {args.kills} kills")
    for col in ("measure", "value"):
        table.add_column(col, justify="right")
    table.add_row("failover median s", f"{statistics.median(took):.2f}")
    table.add_row("failover max s", f"{max(took):.2f}")
    table.add_row("adds acknowledged during the kills", str(acked))
    table.add_row("acknowledged adds lost", str(lost))
    table.add_row("add throughput SQLite /s", f"{sqlite_rate:.0f}")
    table.add_row("add throughput PostgreSQL /s", f"{pg_rate:.0f} ({pg_rate / sqlite_rate:.2f}x SQLite)")
    table.add_row("add p99 ms SQLite / PostgreSQL", f"{p99(sqlite_lat) * 1000:.1f} / {p99(pg_lat) * 1000:.1f}")
    console.print(table)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
