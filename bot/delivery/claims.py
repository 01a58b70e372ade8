"""Delivery claims: the ledger is the lock, across processes.

Any number of ``run``, ``digest`` and ``sync`` processes may share one data
folder (or one PostgreSQL database, as replicas). Before posting a channel's
digest a process claims the channel in one transaction of the store's database
(SQLite's ``BEGIN IMMEDIATE``, or on PostgreSQL an advisory lock on the
channel, so claims of a channel are serialised across processes and
replicas): it reads the channel's ledger rows and its claim row, and takes the
claim only if the digest is not finished and nobody else holds a live lease.
The holder renews its lease while posting and checks it before each part; a
claim whose holder died (lease expired, or its process is gone on this host)
is taken over and reconciled with the platform's history (resume).

The ``claims`` table is ours, in the store's database, written through the
storage port (``database.py``): one row per channel with the holder, its
lease, and the ``floor`` below which no featured day is ever carried (the
days completed while the channel was paused).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from paperpost.bot import metrics
from paperpost.bot.catalog.database import Connection, Database
from paperpost.bot.catalog.sqlite_tables import as_database
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.ledger import DeliveryState, LedgerEntry
from paperpost.bot.errors import StoreError

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0  # a holder that stops renewing loses its claim after this
RENEW_SECONDS = 15.0  # how often a holder renews while posting
BULK_READ_THRESHOLD = 64  # channels from which one scan beats one query per channel
BUSY_TIMEOUT = 60.0  # seconds a claim waits for SQLite's write lock


class ClaimLost(Exception):
    """Raised before a part is posted when another process took the claim over."""


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    DONE = "done"  # the ledger says this digest is finished
    BUSY = "busy"  # another live process holds the channel
    STALE = "stale"  # the channel's ledger moved since the digest was planned
    PAUSED = "paused"  # claimed, but the channel is paused: drop the digest


@dataclass(frozen=True, slots=True)
class Claim:
    status: ClaimStatus
    previous: LedgerEntry | None = None  # this digest's entry before the claim

    @property
    def resume(self) -> bool:
        """An earlier attempt may have posted part of it: look before posting."""
        return self.previous is not None and self.previous.state in (
            DeliveryState.POSTING,
            DeliveryState.FAILED,
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a channel's digests stand, from one read of its ledger rows."""

    through: date | None  # the newest featured day whose digest is finished
    unfinished: tuple[date, LedgerEntry] | None  # a newer digest an attempt started
    paused_since: str | None


ANY_PROGRESS = object()  # claim() without a planned "through": an explicit --date digest


def _finished(entry: LedgerEntry) -> bool:
    return entry.state in (DeliveryState.SENT, DeliveryState.DROPPED) or entry.permanent


def _decoded(rows: list[tuple[str, str]]) -> Iterator[tuple[date, LedgerEntry]]:
    """Ledger rows read in bulk, decoded only as far as they are read."""
    for day, value in rows:
        yield date.fromisoformat(day), LedgerEntry.from_json(json.loads(value))


def _ledger_rows(conn: Connection, channel: ChannelKey) -> Iterator[tuple[date, LedgerEntry]]:
    """The channel's ledger entries, newest featured day first."""
    prefix = f"{channel}|"
    rows = conn.execute(
        'SELECT key, value FROM "ledger" WHERE key >= ? AND key < ? ORDER BY key DESC',
        (prefix, prefix + "\x7f"),
    )
    for key, value in rows:
        yield date.fromisoformat(key[len(prefix) :]), LedgerEntry.from_json(json.loads(value))


class Claims:
    def __init__(self, db: Database | Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        self._db = as_database(db, timeout=BUSY_TIMEOUT)
        self._wall = wall_clock  # leases compare across processes: real time, not a test clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        # Channels this process is delivering now: the sweep and a batch of one
        # process share a holder id, so they must not both take a channel.
        self._held: set[ChannelKey] = set()
        self._held_lock = threading.Lock()
        try:
            self._create_table()
        except StoreError as exc:  # a read-only store: nothing will be posted
            log.debug("claims table not created: %s", exc)

    def _create_table(self) -> None:
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS claims (channel TEXT PRIMARY KEY, "
                "holder TEXT NOT NULL DEFAULT '', lease_until REAL NOT NULL DEFAULT 0, "
                "day TEXT NOT NULL DEFAULT '', floor TEXT NOT NULL DEFAULT '', "
                "paused_since TEXT NOT NULL DEFAULT '')"
            )

    def _connect(self) -> contextlib.AbstractContextManager[Connection]:
        return self._db.connection()

    def _transaction(self, channel: ChannelKey) -> contextlib.AbstractContextManager[Connection]:
        return self._db.transaction(lock=f"claim:{channel}")

    # -- reading -------------------------------------------------------------
    def progress_of(self, channels: list[ChannelKey]) -> dict[ChannelKey, Progress]:
        with self._connect() as conn:
            if len(channels) < BULK_READ_THRESHOLD:
                return {c: self._progress(conn, c) for c in channels}
            # A fan-out: two queries in all rather than two per channel (on PostgreSQL a
            # round trip each: planning 100,000 channels took 32 s).
            wanted = {str(c): c for c in channels}
            rows: dict[str, list[tuple[str, str]]] = {}
            for key, value in conn.execute('SELECT key, value FROM "ledger" ORDER BY key DESC'):
                name, _, day = key.rpartition("|")
                if name in wanted:
                    rows.setdefault(name, []).append((day, value))
            floors = {c: (f, p) for c, f, p in self._claim_rows(conn, None)}
            return {
                c: self._summed(_decoded(rows.get(n, [])), floors.get(n)) for n, c in wanted.items()
            }

    def _claim_rows(self, conn: Connection, channel: ChannelKey | None) -> list[Any]:
        where, args = ("WHERE channel = ?", (str(channel),)) if channel else ("", ())
        try:
            sql = f"SELECT channel, floor, paused_since FROM claims {where}"
            return list(conn.execute(sql, args).fetchall())
        except StoreError:  # no claims table (a read-only SQLite store): none yet
            if self._db.dialect != "sqlite":
                raise  # PostgreSQL creates it with the schema: this is a real failure
            return []

    def _progress(self, conn: Connection, channel: ChannelKey) -> Progress:
        found = self._claim_rows(conn, channel)
        return self._summed(_ledger_rows(conn, channel), found[0][1:] if found else None)

    @staticmethod
    def _summed(
        ledger: Iterable[tuple[date, LedgerEntry]], row: tuple[str, str] | None
    ) -> Progress:
        """A channel's progress from its ledger rows (newest first) and its claim row."""
        through: date | None = None
        unfinished: tuple[date, LedgerEntry] | None = None
        for day, entry in ledger:
            if _finished(entry):
                through = day
                break
            if unfinished is None and entry.paper_ids:
                unfinished = (day, entry)
        floor = date.fromisoformat(row[0]) if row and row[0] else None
        if floor is not None and (through is None or floor > through):
            through = floor
        if unfinished is not None and through is not None and unfinished[0] <= through:
            unfinished = None
        return Progress(through, unfinished, row[1] if row and row[1] else None)

    # -- claiming ------------------------------------------------------------
    def claim(
        self, channel: ChannelKey, day: date, *, through: date | object | None = ANY_PROGRESS
    ) -> Claim:
        """Claim the digest of ``channel`` whose newest featured day is ``day``.

        ``through`` is the progress the digest was planned from; when the
        channel's ledger has moved since, the claim is STALE and the caller
        plans again (so two plans never carry the same day twice).
        """
        with self._held_lock:
            if channel in self._held:
                return Claim(ClaimStatus.BUSY)
            self._held.add(channel)
        try:
            claim = self._claim(channel, day, through)
        except BaseException:
            self._forget(channel)
            raise
        metrics.CLAIMS.labels(str(claim.status)).inc()
        if claim.status not in (ClaimStatus.CLAIMED, ClaimStatus.PAUSED):
            self._forget(channel)
        return claim

    def _forget(self, channel: ChannelKey) -> None:
        with self._held_lock:
            self._held.discard(channel)

    def _claim(self, channel: ChannelKey, day: date, through: date | object | None) -> Claim:
        with self._transaction(channel) as conn:
            progress = self._progress(conn, channel)
            previous = next((e for d, e in _ledger_rows(conn, channel) if d == day), None)
            if previous is not None and _finished(previous):
                return Claim(ClaimStatus.DONE, previous)
            planned = through is not ANY_PROGRESS
            if planned and progress.through is not None and progress.through >= day:
                return Claim(ClaimStatus.DONE, previous)
            row = conn.execute(
                "SELECT holder, lease_until FROM claims WHERE channel = ?", (str(channel),)
            ).fetchone()
            if row and row[0] and row[0] != self.holder and self._alive(row[0], row[1]):
                return Claim(ClaimStatus.BUSY, previous)
            if planned and progress.through != through:
                return Claim(ClaimStatus.STALE, previous)
            if row and row[0] and row[0] != self.holder:
                # A holder that died mid-post: its lease expired (or its process is gone).
                metrics.LEASE_TAKEOVERS.inc()
                log.info("took over an expired claim", extra={"channel": str(channel)})
            conn.execute(
                "INSERT INTO claims (channel, holder, lease_until, day) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(channel) DO UPDATE SET holder = excluded.holder, "
                "lease_until = excluded.lease_until, day = excluded.day",
                (str(channel), self.holder, self._wall() + LEASE_SECONDS, day.isoformat()),
            )
            paused = self._paused(conn, channel)
        return Claim(ClaimStatus.PAUSED if paused else ClaimStatus.CLAIMED, previous)

    def holder_alive(self, holder: str, lease_until: float) -> bool:
        """Whether ``holder``'s lease still stands (weekly_ledger.py claims with it too)."""
        return self._alive(holder, lease_until)

    def _alive(self, holder: str, lease_until: float) -> bool:
        if lease_until <= self._wall():
            return False
        host, _, rest = holder.partition(":")
        pid = rest.partition(":")[0]
        if host == socket.gethostname() and pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                return False  # killed: its lease needs no waiting out
            except PermissionError:
                return True
        return True

    @staticmethod
    def _paused(conn: Connection, channel: ChannelKey) -> bool:
        row = conn.execute('SELECT value FROM "channels" WHERE key = ?', (str(channel),)).fetchone()
        return bool(row and json.loads(row[0]).get("paused", False))

    def renew(self, channel: ChannelKey) -> None:
        """Extend the lease; ClaimLost if another process took the claim over."""
        with self._connect() as conn:
            changed = conn.execute(
                "UPDATE claims SET lease_until = ? WHERE channel = ? AND holder = ?",
                (self._wall() + LEASE_SECONDS, str(channel), self.holder),
            ).rowcount
        if changed != 1:
            raise ClaimLost(f"the digest of {channel} was taken over by another process")

    def release(self, channel: ChannelKey) -> None:
        try:
            with self._connect() as conn:
                conn.execute(
                    "UPDATE claims SET holder = '', lease_until = 0 "
                    "WHERE channel = ? AND holder = ?",
                    (str(channel), self.holder),
                )
        finally:
            self._forget(channel)

    # -- pauses --------------------------------------------------------------
    def note_paused(self, channel: ChannelKey, *, paused: bool, latest_complete: date) -> None:
        """Remember when a channel was paused; at resume, raise its floor so the
        days completed meanwhile are never carried."""
        with self._transaction(channel) as conn:
            row = conn.execute(
                "SELECT paused_since, floor FROM claims WHERE channel = ?", (str(channel),)
            ).fetchone()
            since, floor = (row[0], row[1]) if row else ("", "")
            if paused and not since:
                since = latest_complete.isoformat()
            elif not paused and since:
                floor = max(floor, latest_complete.isoformat())
                since = ""
            else:
                return
            conn.execute(
                "INSERT INTO claims (channel, paused_since, floor) VALUES (?, ?, ?) "
                "ON CONFLICT(channel) DO UPDATE SET paused_since = excluded.paused_since, "
                "floor = excluded.floor",
                (str(channel), since, floor),
            )
