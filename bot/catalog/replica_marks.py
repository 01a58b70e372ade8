"""Search-index marks for replicas on PostgreSQL: a log each index reads from its own place.

Replicas share the database but not the data folder: each keeps its own search index,
so a mark cannot be removed once one index has it. Every ``add_day`` (on any replica)
appends its paper ids to ``index_marks`` (seq, key, ids), before and after writing the
papers, as the shared marks do. Each data folder remembers the last seq its index
holds, with the "index matches the store" flag, in ``search-index.position.json``
beside the index; ``pending`` is every mark after it.

Marks are appended and read under one advisory lock, so a reader never sees seq N+1
committed while N is still being written (it would skip N for ever).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from paperpost.bot.catalog.database import Database
from paperpost.bot.catalog.unindexed import PendingDay

log = logging.getLogger(__name__)

LOCK = "paperpost:index-marks"
STATE_FILE = "search-index.position.json"


class ReplicaMarks:
    def __init__(self, db: Database, data_dir: Path) -> None:
        self._db = db
        self._file = data_dir / STATE_FILE
        self._seq, self._consistent = self._load()

    def _load(self) -> tuple[int, bool]:
        try:
            state = json.loads(self._file.read_text())
            return int(state["seq"]), bool(state["consistent"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0, False  # every mark is indexed again (upserts: harmless)

    def _save(self) -> None:
        tmp = self._file.with_name(self._file.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"seq": self._seq, "consistent": self._consistent}))
            os.replace(tmp, self._file)  # atomic: a kill leaves the old or the new state
        except OSError as exc:  # a read-only folder: kept in memory for this process
            log.debug("index position not saved in %s: %s", self._file, exc)

    def new_key(self, day: date) -> str:
        return f"{day.isoformat()}/{secrets.token_hex(6)}"

    def new_lookup_key(self) -> str:
        return f"lookup/{secrets.token_hex(6)}"

    def mark(self, key: str, paper_ids: Sequence[str]) -> None:
        with self._db.transaction(lock=LOCK) as conn:
            conn.execute(
                "INSERT INTO index_marks (key, ids) VALUES (?, ?)", (key, json.dumps(paper_ids))
            )

    def pending(self) -> list[PendingDay]:
        with self._db.transaction(lock=LOCK) as conn:
            rows = conn.execute(
                "SELECT seq, key, ids FROM index_marks WHERE seq > ? ORDER BY seq", (self._seq,)
            ).fetchall()
        return [PendingDay(str(seq), key, tuple(json.loads(ids))) for seq, key, ids in rows]

    def done(self, entry: PendingDay) -> None:
        self.skip_to(int(entry.key))

    def count(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT COUNT(*) FROM index_marks WHERE seq > ?", (self._seq,))
            return int(row.fetchone()[0])

    def position(self) -> int:
        """The newest mark now: an index rebuilt from the store after this holds it."""
        with self._db.transaction(lock=LOCK) as conn:
            row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM index_marks").fetchone()
        return int(row[0])

    def skip_to(self, position: int) -> None:
        if position > self._seq:
            self._seq = position
            self._save()

    def index_consistent(self) -> bool:
        return self._consistent

    def set_index_consistent(self, consistent: bool) -> None:
        self._consistent = consistent
        self._save()
