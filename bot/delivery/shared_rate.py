"""A posting allowance shared by every process on one store: the workspace's rate is
divided among the replicas that post to it, never multiplied by their number.

Each allowance is a token bucket kept as one row, the wall-clock time its next post is
due (GCRA, as ``adapters/slack/pacer.py`` keeps it in memory). Booking a slot reads
and moves that time in one transaction under a lock named after the allowance, so
three replicas posting to one workspace get slots from one schedule. Wall-clock time,
because the slots compare across processes and hosts (kept in step by NTP).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from paperpost.bot.catalog.database import Database
from paperpost.bot.catalog.sqlite_tables import as_database
from paperpost.bot.errors import StoreError

log = logging.getLogger(__name__)


class SharedRate:
    def __init__(self, db: Database | Path, *, wall: Callable[[], float] = time.time) -> None:
        self._db = as_database(db)
        self._wall = wall
        try:
            with self._db.connection() as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS rate_slots (name TEXT PRIMARY KEY, "
                    "due REAL NOT NULL DEFAULT 0)"
                )
        except StoreError as exc:  # a read-only store posts nothing
            log.debug("rate_slots table not created: %s", exc)

    def book(self, name: str, *, interval: float, burst: float) -> float:
        """Book the next slot of allowance ``name``: seconds from now until it (0: go)."""
        with self._db.transaction(lock=f"rate:{name}") as conn:
            now = self._wall()
            row = conn.execute("SELECT due FROM rate_slots WHERE name = ?", (name,)).fetchone()
            due = float(row[0]) if row else now
            slot = max(now, due - (burst - 1) * interval)
            conn.execute(
                "INSERT INTO rate_slots (name, due) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET due = excluded.due",
                (name, max(due, slot) + interval),
            )
        return slot - now
