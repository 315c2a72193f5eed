"""The live service under load: `slotwise serve`, 50 agents, 2,000 adds from concurrent clients
over the admin socket and 2,000 more over the HTTP API (`--http`), then cancels and moves. One
table: requests/s and latency per operation and door.

    python benchmarks/serve.py                      # 50 agents, 2,000 adds, 8 clients
    python benchmarks/serve.py --adds 500 --clients 4
    python benchmarks/serve.py --people 1000 --hosts 2   # 1,000 agents in two agent hosts

Latency is the client's: from sending a request to its answer, which for `add` and `move`
comes once the meeting is decided and announced to its attendees (each `add` is one meeting
with two or three invitees; `--wait` semantics). Everything runs on this machine: the service,
every agent (one process each, or `--hosts K` agent hosts) and the clients compete for the same
cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from slotwise.client import Client
from slotwise.participant.launch import participant_command
from slotwise.shared.errors import AdminError


def scenario(people: int, days: int) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "name": "serve-bench", "timezone": "UTC", "slot_minutes": 60,
        "horizon": {"start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat()},
        "participants": {f"p{i:03d}": {} for i in range(people)},
        "negotiation": {"join_timeout_s": 60, "heartbeat_s": 1.0},
    }


def _add(client: Client, meeting: dict[str, Any]) -> None:
    client.add([meeting], wait=60)


def _cancel(client: Client, meeting: dict[str, Any]) -> None:
    client.cancel(meeting["id"])


def _move(client: Client, meeting: dict[str, Any], later: str, into: list[dict[str, Any]]) -> None:
    into.append(client.move(meeting["id"], not_before=later, wait=60))


class HttpClient:
    """The HTTP API's add, on one kept-alive connection (as a form or a bot would hold one)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.connection.close()

    def add(self, meetings: list[dict[str, Any]], wait: float) -> None:
        body = json.dumps({"meetings": meetings, "wait": wait})
        self.connection.request("POST", "/v1/meetings", body, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        response.read()
        if response.status != 200:
            raise AdminError("http", f"answered {response.status}")


def timed(calls: list[Callable[[Any], Any]], address: str, clients: int) -> tuple[float, list[float], int]:
    """Run `calls` from `clients` threads, each with its own connection (an admin socket's
    address, or the HTTP API's http://...); (wall s, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    queue = list(reversed(calls))

    def worker() -> None:
        nonlocal errors
        with (HttpClient(address) if address.startswith("http://") else Client(address, timeout=60)) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    call = queue.pop()
                t0 = time.perf_counter()
                try:
                    call(client)
                except AdminError:
                    with lock:
                        errors += 1
                    continue
                with lock:
                    latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=0, help="agent host processes (0: one process per agent)")
    parser.add_argument("--adds", type=int, default=2000)
    parser.add_argument("--cancels", type=int, default=200)
    parser.add_argument("--moves", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    console = Console(width=max(Console().width, 110))
    with tempfile.TemporaryDirectory(prefix="sw-bench-") as tmp:
        work = Path(tmp)
        data = scenario(args.people, args.days)
        path = work / "serve.yaml"
        path.write_text(yaml.safe_dump(data))
        agents_at, admin_at = f"ipc://{work}/ag", f"ipc://{work}/adm"
        procs: list[subprocess.Popen[bytes]] = []
        try:
            said = open(work / "serve.err", "wb")  # noqa: SIM115 - read below, closed with the folder
            procs.append(subprocess.Popen([sys.executable, "-m", "slotwise", "serve", str(path), "--bind", agents_at,
                                           "--admin", admin_at, "--store", str(work / "state.db"),
                                           "--http", "127.0.0.1:0"], stderr=said))
            t0 = time.monotonic()
            everyone = list(data["participants"])
            groups = [everyone[k::args.hosts] for k in range(args.hosts)] if args.hosts > 0 else [[n] for n in everyone]
            for k, group in enumerate(groups):
                argv_ = participant_command(agents_at, group if len(group) > 1 else group[0], scenario=path,
                                            coordinator_timeout_s=0, log_level="ERROR",
                                            host=f"host{k}" if args.hosts > 0 else None)
                procs.append(subprocess.Popen(argv_, stderr=subprocess.DEVNULL))
            with Client(admin_at, timeout=5) as c:
                while True:
                    try:
                        if len(c.status()["participants"]["connected"]) >= args.people:
                            break
                    except AdminError:
                        pass  # still starting, on cores the agents are busy importing on
                    if time.monotonic() - t0 > 300:
                        raise SystemExit("agents did not connect within 300 s")
                    time.sleep(0.2)
            startup = time.monotonic() - t0
            found = re.search(r"HTTP API at (http://\S+)", (work / "serve.err").read_text())
            if found is None:
                raise SystemExit("the service did not say where its HTTP API is")
            http_at = found.group(1)
            names = list(data["participants"])
            meetings = [{"id": f"m{i}", "duration_minutes": 60,
                         "invitees": rng.sample(names, rng.choice((2, 2, 3)))} for i in range(args.adds)]
            rows = []
            wall, lat, err = timed([partial(_add, meeting=m) for m in meetings], admin_at, args.clients)
            rows.append(("add (admin socket)", args.adds, wall, lat, err))
            over_http = [{"id": f"h{i}", "duration_minutes": 60,
                          "invitees": rng.sample(names, rng.choice((2, 2, 3)))} for i in range(args.adds)]
            wall, lat, err = timed([partial(_add, meeting=m) for m in over_http], http_at, args.clients)
            rows.append(("add (HTTP)", args.adds, wall, lat, err))
            meetings += over_http
            with Client(admin_at, timeout=30) as c:
                listing = {e["id"]: e for e in c.list()}
            placed = [m for m in meetings if listing[m["id"]]["status"] == "scheduled"]
            rng.shuffle(placed)
            to_cancel, to_move = placed[:args.cancels], placed[args.cancels:args.cancels + args.moves]
            wall, lat, err = timed([partial(_cancel, meeting=m) for m in to_cancel], admin_at, args.clients)
            rows.append(("cancel", len(to_cancel), wall, lat, err))
            later = (datetime.fromisoformat(data["horizon"]["start"]) + timedelta(days=args.days // 2)).isoformat()
            moved: list[dict[str, Any]] = []
            wall, lat, err = timed([partial(_move, meeting=m, later=later, into=moved) for m in to_move],
                                   admin_at, args.clients)
            rows.append(("move", len(to_move), wall, lat, err))
            with Client(admin_at, timeout=30) as c:
                status = c.status()
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    layout = f"{args.hosts} agent hosts" if args.hosts > 0 else "one process each"
    table = Table(title=f"slotwise serve: {args.people} agents ({layout}), {args.clients} concurrent clients "
                        f"(start-up {startup:.1f} s; 60-minute slots over {args.days} days)")
    for col in ("operation", "requests", "requests/s", "latency p50 ms", "p90 ms", "p99 ms", "errors"):
        table.add_column(col, justify="right")
    for op, n, wall, lat, err in rows:
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
        table.add_row(op, str(n), f"{n / wall:.0f}", f"{q[49] * 1000:.1f}", f"{q[89] * 1000:.1f}",
                      f"{q[98] * 1000:.1f}", str(err))
    console.print(table)
    m = status["meetings"]
    moved_ok = sum(1 for e in moved if e.get("move") is None and e["start"] >= later)
    console.print(f"meetings: {m['scheduled']} scheduled, {m['failed']} failed, {m['cancelled']} cancelled; "
                  f"moves: {moved_ok} of {len(moved)} moved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
