"""Who leads: a lease row with a fencing epoch, on the database's clock.

Several `serve` processes share one PostgreSQL store; one leads. The leader holds the single
row of `slotwise_lease` (holder, epoch, expires_at): it takes the row only when the lease has
ended (`expires_at <= now()`, the database's clock, so no two machines' clocks are compared), and
every takeover raises the epoch. It renews every `lease_s / 3`; every state-changing transaction
checks holder and epoch inside itself (coordinator/pg_store.py), so the fence holds however late a
deposed leader wakes. A session advisory lock alone would not do: a dead session's lock looks
held until TCP notices, and it gives no epoch to fence with.

The leader also keeps a local deadline: the moment it last sent a renewal that succeeded, plus
the lease, less a margin. Past it, it stops serving on its own — before the database would let a
successor in — so a leader that cannot reach the database (or was paused) has stopped before
another starts. `valid()` is that check, cheap enough to ask before every action.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slotwise.coordinator.pg_store import connect, migrate, shown

if TYPE_CHECKING:
    import psycopg
    from loguru import Logger

DEFAULT_LEASE_S = 10.0
MARGIN = 0.25  # of the lease: a leader stops this long before its lease would end


class Lease:
    def __init__(self, dsn: str, password: str | None, lease_s: float, log: Logger, address: str = "") -> None:
        """`address`: where this instance serves agents and admins, shown in `status`."""
        self.dsn, self.password, self.lease_s, self.log, self.address = dsn, password, lease_s, log, address
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.epoch = 0
        self._db: psycopg.Connection[Any] = connect(dsn, password)
        migrate(self._db, shown(dsn))
        self._deadline = 0.0  # monotonic: serve until then at most
        self._lock = threading.Lock()
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()
        self.on_lost: Callable[[], None] | None = None

    def __str__(self) -> str:
        return shown(self.dsn)

    # --- standing by ----------------------------------------------------------------------------

    def acquire(self) -> bool:
        """Take the lease if it has ended (or was never taken); True if this instance now leads."""
        sent = time.monotonic()
        self._seen(self._db, "standby")
        row = self._db.execute(
            "INSERT INTO slotwise_lease (id, holder, epoch, expires_at, address) "
            "VALUES (1, %(me)s, 1, now() + make_interval(secs => %(s)s), %(at)s) "
            "ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, epoch = slotwise_lease.epoch + 1, "
            "expires_at = EXCLUDED.expires_at, address = EXCLUDED.address WHERE slotwise_lease.expires_at <= now() "
            "RETURNING epoch", {"me": self.holder, "s": self.lease_s, "at": self.address}).fetchone()
        if row is None:
            return False
        with self._lock:
            self.epoch = int(row[0])
            self._deadline = sent + self.lease_s * (1 - MARGIN)
        return True

    def wait(self, stop: threading.Event, every_s: float | None = None) -> bool:
        """Stand by until this instance leads (True) or `stop` is set (False)."""
        every = every_s if every_s is not None else max(0.2, self.lease_s / 10)
        said = False
        while not stop.is_set():
            try:
                if self.acquire():
                    return True
            except Exception as exc:  # the database away: keep standing by, said once
                if not said:
                    self.log.warning("standing by: cannot reach the store: {}", str(exc)[:200])
                said = True
                self._reconnect()
            if not said:
                self.log.info("standing by: {} leads", self.current().get("holder", "another instance"))
                said = True
            stop.wait(every)
        return False

    # --- leading --------------------------------------------------------------------------------

    def valid(self) -> bool:
        """Still within the local deadline: this instance may act as leader."""
        return self.epoch > 0 and time.monotonic() < self._deadline

    def start_renewing(self) -> None:
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew_loop, name="lease", daemon=True)
        self._renewer.start()

    def renew(self, db: psycopg.Connection[Any] | None = None) -> bool:
        """Extend the lease if this instance still holds it at its epoch; moves the local
        deadline on from the moment the renewal was sent."""
        sent = time.monotonic()
        row = (db or self._db).execute(
            "UPDATE slotwise_lease SET expires_at = now() + make_interval(secs => %s) "
            "WHERE id = 1 AND holder = %s AND epoch = %s AND expires_at > now() RETURNING epoch",
            (self.lease_s, self.holder, self.epoch)).fetchone()
        if row is None:
            return False
        with self._lock:
            self._deadline = sent + self.lease_s * (1 - MARGIN)
        return True

    def _renew_loop(self) -> None:
        db = connect(self.dsn, self.password)  # its own connection: the store's may be busy
        try:
            while not self._stop.wait(self.lease_s / 3):
                try:
                    renewed = self.renew(db)
                except Exception as exc:
                    self.log.warning("lease not renewed: {}", str(exc)[:200])
                    renewed = False
                    try:
                        db.close()
                        db = connect(self.dsn, self.password)
                    except Exception:
                        pass
                if renewed:
                    try:
                        self._seen(db, "leader")
                    except Exception:
                        pass
                elif not self.valid():
                    self.log.warning("the lease of epoch {} is lost: stopping serving", self.epoch)
                    if self.on_lost is not None:
                        self.on_lost()
                    return
        finally:
            db.close()

    def stop_renewing(self, release: bool) -> None:
        """`release`: end the lease now (a clean stop), so a standby takes over at once."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(self.lease_s)
        if release and self.epoch:
            try:
                self._db.execute("UPDATE slotwise_lease SET expires_at = now() WHERE id = 1 AND holder = %s "
                                 "AND epoch = %s", (self.holder, self.epoch))
            except Exception as exc:
                self.log.warning("lease not released (a standby waits for it to end): {}", str(exc)[:200])
        self.epoch = 0

    def current(self) -> dict[str, Any]:
        """The lease as the database has it: holder, epoch, until when, and where it serves."""
        row = self._db.execute("SELECT holder, epoch, expires_at, address, now() FROM slotwise_lease WHERE id = 1"
                               ).fetchone()
        if row is None:
            return {}
        holder, epoch, until, address, now = row
        assert isinstance(until, datetime)
        return {"holder": holder, "epoch": int(epoch), "expires_in_s": round((until - now).total_seconds(), 3),
                "address": address}

    def instances(self) -> list[dict[str, Any]]:
        """Every instance seen lately (within three leases), leader or standing by."""
        rows = self._db.execute(
            "SELECT holder, role, address, extract(epoch FROM now() - seen_at) FROM slotwise_instances "
            "WHERE seen_at > now() - make_interval(secs => %s) ORDER BY holder", (3 * self.lease_s,)).fetchall()
        return [{"holder": h, "role": r, "address": a, "seen_s_ago": round(float(ago), 3)} for h, r, a, ago in rows]

    def _seen(self, db: psycopg.Connection[Any], role: str) -> None:
        db.execute("INSERT INTO slotwise_instances VALUES (%s, %s, %s, now()) ON CONFLICT (holder) DO UPDATE "
                   "SET role = EXCLUDED.role, address = EXCLUDED.address, seen_at = now()",
                   (self.holder, role, self.address))

    def _reconnect(self) -> None:
        try:
            self._db.close()
            self._db = connect(self.dsn, self.password)
        except Exception:
            pass

    def close(self) -> None:
        self._db.close()
