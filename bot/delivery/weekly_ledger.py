"""The weekly roundups' ledger: one row per channel and ISO week, claimed like a digest.

Any number of Paperpost processes share a store: before posting a roundup a
process claims its row in one transaction of the storage port (SQLite's write
lock, or a PostgreSQL advisory lock on the row's key) (posting →
holder, lease); it renews the lease before the post and marks the row ``sent``
after the platform accepted it. A holder that died (lease expired, or its
process gone on this host) is taken over, and the adapter looks for the
roundup's marker among the channel's recent messages before posting (resume).

``weekly_armed`` remembers, per channel, the roundup setting a process last saw
and since when (``set weekly``, a zone change, pause and resume re-arm it): a
missed roundup is caught up only when its time came after that, so turning the
roundup on never posts last week's at once.

Tables (portable SQL, ``?`` placeholders, TEXT/REAL columns; port with the store):
``weekly_roundups (key TEXT PRIMARY KEY, state, holder, lease_until, updated_at)``
and ``weekly_armed (channel TEXT PRIMARY KEY, value, since)``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from paperpost.bot.catalog.database import Connection, Database
from paperpost.bot.catalog.sqlite_tables import as_database
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.claims import BUSY_TIMEOUT, LEASE_SECONDS, ClaimLost, Claims
from paperpost.bot.errors import StoreError

log = logging.getLogger(__name__)


class RoundupState(StrEnum):
    POSTING = "posting"
    SENT = "sent"
    EMPTY = "empty"  # nothing to list: done, nothing posted
    FAILED = "failed"  # transient: the sweep tries again
    GIVEN_UP = "given up"  # permanent error (the channel was paused): done


DONE = frozenset({RoundupState.SENT, RoundupState.EMPTY, RoundupState.GIVEN_UP})


class ClaimResult(StrEnum):
    CLAIMED = "claimed"
    DONE = "done"
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class RoundupClaim:
    result: ClaimResult
    resume: bool = False  # an earlier attempt may have posted it: look before posting


class WeeklyLedger:
    def __init__(self, db: Database | Path, claims: Claims, *, wall: Callable[[], float]) -> None:
        self._db = as_database(db, timeout=BUSY_TIMEOUT)
        self._claims = claims  # for its holder id and its "is that holder alive" test
        self._wall = wall
        try:
            with self._connect() as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS weekly_roundups (key TEXT PRIMARY KEY, "
                    "state TEXT NOT NULL, holder TEXT NOT NULL DEFAULT '', "
                    "lease_until REAL NOT NULL DEFAULT 0, updated_at TEXT NOT NULL DEFAULT '')"
                )
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS weekly_armed (channel TEXT PRIMARY KEY, "
                    "value TEXT NOT NULL, since TEXT NOT NULL)"
                )
        except StoreError as exc:  # a read-only store: nothing will be posted
            log.debug("weekly tables not created: %s", exc)

    def _connect(self) -> contextlib.AbstractContextManager[Connection]:
        return self._db.connection()

    def _transaction(self, lock: str) -> contextlib.AbstractContextManager[Connection]:
        return self._db.transaction(lock=f"weekly:{lock}")

    # -- arming ----------------------------------------------------------------
    def armed_since(self, channel: ChannelKey, value: str, now: datetime) -> datetime:
        """Since when the channel's roundup setting has been ``value``; a new or changed
        value is armed ``now``."""
        with self._connect() as conn:  # the usual case, read only: no write lock per sweep
            row = conn.execute(
                "SELECT value, since FROM weekly_armed WHERE channel = ?", (str(channel),)
            ).fetchone()
        if row and row[0] == value:
            return datetime.fromisoformat(row[1])
        with self._transaction(f"armed:{channel}") as conn:
            row = conn.execute(
                "SELECT value, since FROM weekly_armed WHERE channel = ?", (str(channel),)
            ).fetchone()
            if row and row[0] == value:
                return datetime.fromisoformat(row[1])
            conn.execute(
                "INSERT INTO weekly_armed (channel, value, since) VALUES (?, ?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET value = excluded.value, "
                "since = excluded.since",
                (str(channel), value, now.isoformat()),
            )
            return now

    # -- claiming --------------------------------------------------------------
    def state(self, channel: ChannelKey, week: str) -> RoundupState | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT state FROM weekly_roundups WHERE key = ?", (_key(channel, week),)
            ).fetchone()
        return RoundupState(row[0]) if row else None

    def claim(self, channel: ChannelKey, week: str) -> RoundupClaim:
        holder = self._claims.holder
        with self._transaction(_key(channel, week)) as conn:
            row = conn.execute(
                "SELECT state, holder, lease_until FROM weekly_roundups WHERE key = ?",
                (_key(channel, week),),
            ).fetchone()
            if row and RoundupState(row[0]) in DONE:
                return RoundupClaim(ClaimResult.DONE)
            if row and row[1] and row[1] != holder and self._claims.holder_alive(row[1], row[2]):
                return RoundupClaim(ClaimResult.BUSY)
            conn.execute(
                "INSERT INTO weekly_roundups (key, state, holder, lease_until) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
                "holder = excluded.holder, lease_until = excluded.lease_until",
                (_key(channel, week), RoundupState.POSTING, holder, self._wall() + LEASE_SECONDS),
            )
        # "posting" or "failed" before: the platform may hold it already.
        return RoundupClaim(ClaimResult.CLAIMED, resume=row is not None)

    def renew(self, channel: ChannelKey, week: str) -> None:
        """Extend the lease; ClaimLost when another process took the roundup over."""
        with self._connect() as conn:
            changed = conn.execute(
                "UPDATE weekly_roundups SET lease_until = ? WHERE key = ? AND holder = ?",
                (self._wall() + LEASE_SECONDS, _key(channel, week), self._claims.holder),
            ).rowcount
        if changed != 1:
            raise ClaimLost(f"the weekly roundup of {channel} was taken over by another process")

    def finish(self, channel: ChannelKey, week: str, state: RoundupState, now: datetime) -> None:
        """Record the outcome and release the claim (only our own)."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE weekly_roundups SET state = ?, holder = '', lease_until = 0, "
                "updated_at = ? WHERE key = ? AND holder = ?",
                (state, now.isoformat(), _key(channel, week), self._claims.holder),
            )

    def forget_channel(self, channel: ChannelKey) -> None:
        """The channel was deleted on its platform."""
        prefix = f"{channel}|"
        with self._transaction(f"channel:{channel}") as conn:
            conn.execute(
                "DELETE FROM weekly_roundups WHERE key >= ? AND key < ?",
                (prefix, prefix + "\x7f"),
            )
            conn.execute("DELETE FROM weekly_armed WHERE channel = ?", (str(channel),))


def _key(channel: ChannelKey, week: str) -> str:
    return f"{channel}|{week}"
