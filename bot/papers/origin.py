"""Where the stored papers come from: Hugging Face, or the bundled snapshot.

The answer lives in the store's ``meta`` table, so every process on the data folder
(and ``/healthz``, ``settings``) reports the same thing. The snapshot fills a store
only offline or when Hugging Face cannot be reached at first start; the fill is
resumable: each missing snapshot day is stored whole, then a marker says the fill is
done, so a kill halfway leaves a fill that the next start completes, never 4 of 5 days
for ever.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.bot.papers.sync import sync_days

log = logging.getLogger(__name__)

PAPERS_FROM = "papers_from"
SNAPSHOT_FILL = "snapshot_fill"  # "started", then "done"


class Origin(StrEnum):
    HUGGING_FACE = "huggingface"
    SNAPSHOT = "snapshot"


class PapersOrigin:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._meta = store.table("meta")

    def _committed(self, key: str) -> object:
        # Straight from SQLite, so a value another process wrote is seen at once.
        return dict(self._store.scan("meta")).get(key)

    def _write(self, key: str, value: str) -> None:
        self._meta[key] = value
        self._store.commit("meta")

    def current(self, *, has_papers: bool) -> Origin | None:
        """What the stored papers are from; a store filled by ``sync`` alone says Hugging Face."""
        value = self._committed(PAPERS_FROM)
        if value in set(Origin):
            return Origin(str(value))
        return Origin.HUGGING_FACE if has_papers else None

    def note_fetched(self) -> None:
        """A day came from Hugging Face: the papers are live from now on."""
        if self._committed(PAPERS_FROM) != Origin.HUGGING_FACE:
            self._write(PAPERS_FROM, Origin.HUGGING_FACE)

    def snapshot_fill_unfinished(self, library: PaperLibrary) -> bool:
        """An empty store, or a snapshot fill a kill cut short."""
        state = self._committed(SNAPSHOT_FILL)
        return state == "started" or (state != "done" and library.paper_count() == 0)

    async def fill_from_snapshot(self, library: PaperLibrary) -> int:
        """Store every bundled day the store lacks, then mark the fill done. Returns the
        number of days stored now (0 when an earlier fill already finished)."""
        if not self.snapshot_fill_unfinished(library):
            return 0
        self._write(SNAPSHOT_FILL, "started")
        snapshot = BundledSnapshot()
        missing = [day for day in snapshot.days() if not library.has_day(day)]
        await sync_days(snapshot, library, missing)
        if self._committed(PAPERS_FROM) is None:
            self._write(PAPERS_FROM, Origin.SNAPSHOT)
        self._write(SNAPSHOT_FILL, "done")
        return len(missing)
