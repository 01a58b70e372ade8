"""The facade's read methods for the command line and the HTTP server, and the
channel-wide writes they share (export, import, a channel's deletion).

A mixin of ``bot.app.Paperpost`` (kept apart so app.py stays one screen of
lifecycle): it reads the attributes the facade sets up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paperpost.bot.catalog.library import IndexReport, PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.channels.handlers import paper_named
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.delivery.schedule import DigestScheduler
from paperpost.bot.feedback.export import export_votes, parse_votes
from paperpost.bot.feedback.reading_list import Tally, reading_list
from paperpost.bot.feedback.votes import FeedbackStore
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.origin import PapersOrigin
from paperpost.bot.ports import Health


class CoreReads:
    library: PaperLibrary
    channels: ChannelRegistry
    feedback: FeedbackStore
    scheduler: DigestScheduler
    origin: PapersOrigin
    store: Store

    def check_database(self) -> str:
        """Reach the store's database (``StoreError`` when it cannot); its dialect."""
        self.store.db.ping()
        return self.store.db.dialect

    def health(self) -> Health:
        latest, papers = self.library.latest_day(), self.library.paper_count()
        origin = self.origin.current(has_papers=papers > 0)
        return Health(papers, latest, self.scheduler.job_count(), origin and str(origin))

    def search(self, query: str, *, limit: int) -> list[Paper]:
        return self.library.search(query, limit=limit)

    def paper(self, reference: str) -> Paper | None:
        return paper_named(self.library, reference)

    def channel_list(self) -> list[tuple[ChannelKey, ChannelSettings]]:
        return self.channels.all()

    def export_channels(self) -> dict[str, Any]:
        """Every channel, and (an optional field, added later) every channel's votes."""
        return {**self.channels.export(), "feedback": export_votes(self.feedback)}

    def import_channels(self, data: Any) -> list[ChannelKey]:
        votes = parse_votes(data)  # checked before any channel is written: all or nothing
        keys = self.channels.import_(data)
        self.feedback.add_many(votes)
        return keys

    def saved_papers(self, channel: ChannelKey) -> list[tuple[Paper | None, Tally]]:
        """The channel's reading list, newest first (``paperpost saved``)."""
        listed = reading_list(self.feedback.votes(channel))
        return [(self.library.get(t.paper_id), t) for t in listed]

    def next_digest(self) -> tuple[datetime, ChannelKey] | None:
        """The soonest scheduled digest and its channel (``None``: nothing scheduled)."""
        upcoming = [
            (when, key)
            for key, settings in self.channels.all()
            if not settings.paused and (when := self.scheduler.next_run(key)) is not None
        ]
        return min(upcoming, default=None)

    def check_index(self) -> IndexReport:
        """Store against index, repairing what this process can (``paperpost doctor``)."""
        return self.library.check_index(repair=True)
