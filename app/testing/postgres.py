"""A real PostgreSQL for tests and benchmarks: `initdb` in a temporary folder, the server on a
unix socket in it (no TCP port at all), stopped by the postmaster's pid. Run as the `postgres`
user when started as root (PostgreSQL refuses root). Each `database()` is a new, empty database;
psycopg (the `postgresql` extra) is imported only then."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (Debian: apt-get install postgresql)")
    return found


def _as_owner() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Postgres:
    def __init__(self, folder: Path, port: int, pid: int) -> None:
        self.folder, self.port, self.pid = folder, port, pid
        self._names = itertools.count(1)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://slotwise@/{database}?host={self.folder}&port={self.port}"

    def database(self) -> str:
        """A new, empty database; its address."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def postgres(timeout_s: float = 60.0) -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="slotwise-pg-"))  # not under pytest's 0700 folders: postgres reads it
    port = 50000 + os.getpid() % 10000
    pid = 0
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        subprocess.run([*_as_owner(), _binary("initdb"), "-D", str(folder / "data"), "--auth=trust", "-U", "slotwise",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=timeout_s)
        options = (f"-c listen_addresses='' -c unix_socket_directories={folder} -p {port} -c max_connections=60 "
                   "-c shared_buffers=16MB -c fsync=on")
        subprocess.run([*_as_owner(), _binary("pg_ctl"), "-D", str(folder / "data"), "-o", options, "-l",
                        str(folder / "server.log"), "-w", "-t", str(int(timeout_s)), "start"],
                       check=True, capture_output=True, timeout=timeout_s + 10)
        pid = int((folder / "data" / "postmaster.pid").read_text().split()[0])
        yield Postgres(folder, port, pid)
    finally:
        if pid and _alive(pid):
            os.kill(pid, signal.SIGINT)  # a fast shutdown
            deadline = time.monotonic() + 20
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)  # ok-sleep: waiting for a process that is not our child to exit, bounded
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
