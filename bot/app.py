"""The Paperpost core: the one object adapters talk to.

Commands in, replies out; digests scheduled, built and delivered through the
platforms registered with it. The store is the truth: the schedule is rebuilt
from it at start and after every settings change, and digests that fell due
while Paperpost was down are caught up once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.channels.grammar import Command, parse_command
from paperpost.bot.channels.handlers import CommandHandlers, paper_named
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.channels.replies import Reply, apology, error
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.config import Config
from paperpost.bot.delivery.digest import DayMatcher, Digest, DigestEntry, build_digest
from paperpost.bot.delivery.featured_day import digest_day_for
from paperpost.bot.delivery.ledger import DeliveryState, Ledger, LedgerEntry
from paperpost.bot.delivery.outbox import Delivery, Outbox, Outcome
from paperpost.bot.delivery.schedule import DigestScheduler, next_fire_time, previous_fire_time
from paperpost.bot.errors import UserError
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.refresh import DayRefresher, PaperSource
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.bot.papers.sync import SyncReport, sync_days
from paperpost.bot.ports import ClosableSource, Health, Platform

log = logging.getLogger(__name__)

BATCH_WINDOW = 0.5  # seconds to gather channels the scheduler fires together
DELIVERY_CONCURRENCY = 32  # digests in flight at once, across channels
SWEEP_INTERVAL = timedelta(minutes=10)  # how often waiting/failed digests are retried
CATCH_UP_WINDOW = timedelta(days=3)  # unfinished ledger entries older than this are dropped


def utc_now() -> datetime:
    return datetime.now(UTC)


class Paperpost:
    def __init__(
        self,
        *,
        store: Store,
        library: PaperLibrary,
        source: PaperSource,
        clock: Callable[[], datetime] = utc_now,
        outbox_sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.library = library
        self.source = source
        self.channels = ChannelRegistry(store)
        self.ledger = Ledger(store)
        self.clock = clock
        self.refresher = DayRefresher(source, library, clock)
        self.outbox = Outbox(
            self.ledger,
            on_permanent=self._pause_after_error,
            clock=clock,
            sleep=outbox_sleep or asyncio.sleep,
        )
        self.scheduler = DigestScheduler(self.run_due)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._due_now: set[ChannelKey] = set()
        self._flush: asyncio.Task[None] | None = None
        self.handlers = CommandHandlers(
            library=library,
            channels=self.channels,
            ledger=self.ledger,
            clock=clock,
            on_settings_changed=self._settings_changed,
            next_post=lambda _key, settings: next_fire_time(settings, self.clock()),
        )

    @classmethod
    async def open(
        cls,
        config: Config,
        *,
        source: PaperSource | None = None,
        fill_empty: bool = True,
        **kwargs: object,
    ) -> Paperpost:
        """Open the store in ``config.data_dir``; an empty one gets the bundled snapshot
        (unless ``fill_empty`` is False: read-only CLI commands say it is empty instead)."""
        store = Store(config.data_dir)
        library = await asyncio.to_thread(PaperLibrary, store)
        if fill_empty and library.paper_count() == 0:
            snapshot = BundledSnapshot()
            await sync_days(snapshot, library, snapshot.days())
        if source is None:
            from paperpost.bot.papers.huggingface import HuggingFaceSource

            source = HuggingFaceSource(endpoint=config.hf_endpoint, token=config.hf_token)
        return cls(store=store, library=library, source=source, **kwargs)  # type: ignore[arg-type]

    def register_platform(self, platform: Platform) -> None:
        self.outbox.register(platform)

    # -- commands --------------------------------------------------------------
    async def handle(self, channel: ChannelKey, text: str, *, user: str | None = None) -> Reply:
        """Parse and execute one command line. Never raises."""
        try:
            command = parse_command(text)
        except UserError as exc:
            return error(str(exc))
        return await self.execute(channel, command, user=user)

    async def execute(
        self, channel: ChannelKey, command: Command, *, user: str | None = None
    ) -> Reply:
        try:
            return await asyncio.to_thread(self.handlers.run, channel, command)
        except UserError as exc:
            return error(str(exc))
        except Exception as exc:
            return apology(exc, command=command.name, channel=str(channel))

    def _settings_changed(self, channel: ChannelKey, settings: ChannelSettings) -> None:
        # Handlers run in a worker thread; the scheduler lives on the loop.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.scheduler.set_channel, channel, settings)

    def _pause_after_error(self, channel: ChannelKey, reason: str) -> None:
        settings = self.channels.get(channel)
        paused = replace(
            settings, paused=True, paused_reason=f"paused by Paperpost: {reason}; "
            "fix it, then /papers resume",
        )  # fmt: skip
        self.channels.save(channel, paused)
        self.scheduler.remove_channel(channel)

    # -- service ---------------------------------------------------------------
    async def start(self) -> None:
        """Schedule every channel, then catch up what fell due while we were down."""
        self._loop = asyncio.get_running_loop()
        self.scheduler.rebuild(self.channels.all())
        self.scheduler.start()
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._flush and not self._flush.done():
            await self._flush  # digests the scheduler just fired: let them finish
        if self._sweeper:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.scheduler.shutdown()

    def close(self) -> None:
        self.library.close()
        self.store.close()

    async def catch_up(self) -> list[Delivery]:
        """Post digests that fell due today while down, and finish interrupted ones."""
        now = self.clock()
        due: dict[tuple[ChannelKey, date], None] = {}
        for channel, day, _entry in self.ledger.unfinished():
            if now.date() - day <= CATCH_UP_WINDOW:
                due[(channel, day)] = None
        for channel, settings in self.channels.all():
            fired = previous_fire_time(settings, now) if not settings.paused else None
            if (
                fired
                and fired.astimezone(settings.zone).date() == now.astimezone(settings.zone).date()
            ):
                due[(channel, digest_day_for(fired))] = None
        return await self._deliver_many(due)

    async def _sweep_forever(self) -> None:
        """Catch up now (in the background, so commands are served meanwhile), then
        retry waiting and failed digests every few minutes."""
        while True:
            try:
                await self.catch_up()
            except Exception:
                log.exception("catch-up sweep failed")
            await asyncio.sleep(SWEEP_INTERVAL.total_seconds())

    async def run_due(self, channel: ChannelKey) -> None:
        """Scheduler callback. Channels due at the same moment are batched, so a
        day's saved searches run once for all of them."""
        self._due_now.add(channel)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._flush_due())

    async def _flush_due(self) -> None:
        await asyncio.sleep(BATCH_WINDOW)
        channels, self._due_now = self._due_now, set()
        day = digest_day_for(self.clock())
        await self._deliver_many((c, day) for c in channels if not self.channels.get(c).paused)

    async def post_digests(
        self, *, day: date | None = None, channel: ChannelKey | None = None, dry_run: bool = False
    ) -> list[Delivery]:
        """Cron mode: post now. With ``day``, that day to every unpaused channel (or
        ``channel``); without, each channel's day as its schedule says."""
        now = self.clock()
        chosen = [(channel, self.channels.get(channel))] if channel else self.channels.all()
        due: dict[tuple[ChannelKey, date], None] = {}
        for key, settings in chosen:
            if settings.paused:
                continue
            if day is not None:
                due[(key, day)] = None
            elif fired := previous_fire_time(settings, now):
                due[(key, digest_day_for(fired))] = None
        return await self._deliver_many(due, dry_run=dry_run)

    async def _deliver_many(
        self, due: Iterable[tuple[ChannelKey, date]], *, dry_run: bool = False
    ) -> list[Delivery]:
        by_day: dict[date, list[ChannelKey]] = {}
        for channel, day in due:
            by_day.setdefault(day, []).append(channel)
        deliveries: list[Delivery] = []
        limit = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def deliver(digest: Digest) -> Delivery:
            return await self.outbox.deliver(digest, limit=limit)

        for day, channels in sorted(by_day.items()):
            entries = self.ledger.entries_for(channels, day)
            done = {c for c, e in entries.items() if e and e.state is DeliveryState.SENT}
            deliveries += [Delivery(c, day, Outcome.ALREADY_SENT) for c in sorted(done)]
            channels = [c for c in channels if c not in done]
            # One refresh per featured day, shared by every channel posting it.
            if channels and not await self.refresher.ensure(day):
                deliveries += [self._waiting(c, day, dry_run=dry_run) for c in channels]
                continue
            planned = await asyncio.to_thread(self.plan_digests, day, channels, entries)
            ready = [d for d in planned if isinstance(d, Digest)]
            deliveries += [d for d in planned if isinstance(d, Delivery)]
            if dry_run:
                deliveries += [
                    Delivery(d.channel, day, Outcome.SENT if d.entries else Outcome.EMPTY,
                             papers=len(d.entries), detail="dry run")
                    for d in ready
                ]  # fmt: skip
            else:
                deliveries += await asyncio.gather(*(deliver(d) for d in ready))
        return deliveries

    def _waiting(self, channel: ChannelKey, day: date, *, dry_run: bool) -> Delivery:
        if not dry_run:
            self.ledger.record(channel, day, LedgerEntry(DeliveryState.PENDING), now=self.clock())
        return Delivery(channel, day, Outcome.WAITING, detail=self.refresher.last_error or "")

    def plan_digests(
        self,
        day: date,
        channels: list[ChannelKey],
        entries: dict[ChannelKey, LedgerEntry | None],
    ) -> list[Digest | Delivery]:
        """What each channel should get for ``day``: nothing (already sent), the
        digest an interrupted attempt was posting, or a fresh digest."""
        plan: list[Digest | Delivery] = []
        fresh: list[ChannelKey] = []
        for channel in channels:
            entry = entries.get(channel)
            if entry and entry.state is DeliveryState.SENT:
                plan.append(Delivery(channel, day, Outcome.ALREADY_SENT))
            elif recorded := self.recorded_digest(channel, day, entry):
                plan.append(recorded)
            else:
                fresh.append(channel)
        return plan + list(self.digests_for_day(day, fresh))

    def recorded_digest(
        self, channel: ChannelKey, day: date, entry: LedgerEntry | None
    ) -> Digest | None:
        """The digest an interrupted attempt was posting, so a retry posts the same one."""
        if entry is None or not entry.paper_ids:
            return None
        papers = [self.library.get(i) for i in entry.paper_ids]
        entries = tuple(
            DigestEntry(p, tuple(entry.matched.get(p.id, ()))) for p in papers if p is not None
        )
        return Digest(channel, day, entries, self.channels.get(channel).threads)

    def digests_for_day(self, day: date, channels: Iterable[ChannelKey]) -> list[Digest]:
        """Every named channel's digest of ``day``; each distinct saved search runs once."""
        channels = list(channels)
        if not channels:
            return []
        matcher = DayMatcher(self.library.papers_on(day))
        settings_of = self.channels.settings_of(channels)
        posted_of = self.ledger.posted_of(channels)
        return [
            build_digest(
                channel,
                day,
                matcher,
                subscriptions=settings_of[channel].subscriptions,
                posted=posted_of[channel],
                min_upvotes=settings_of[channel].min_upvotes,
                top_n=settings_of[channel].top_n,
                threads=settings_of[channel].threads,
            )
            for channel in channels
        ]

    # -- for the command line and the HTTP server ----------------------------------
    async def aclose(self) -> None:
        """``close()``, after the paper source's connections (when it has any)."""
        try:
            if isinstance(self.source, ClosableSource):
                await self.source.aclose()
        finally:
            self.close()

    def health(self) -> Health:
        latest = self.library.latest_day()
        return Health(self.library.paper_count(), latest, self.scheduler.job_count())

    def search(self, query: str, *, limit: int) -> list[Paper]:
        return self.library.search(query, limit=limit)

    def paper(self, reference: str) -> Paper | None:
        return paper_named(self.library, reference)

    async def sync(
        self, days: Sequence[date], *, on_day: Callable[[date, int], None] | None = None
    ) -> SyncReport:
        """Fetch ``days`` from the paper source into the store and index."""
        return await sync_days(self.source, self.library, days, on_day=on_day)

    def channel_list(self) -> list[tuple[ChannelKey, ChannelSettings]]:
        return self.channels.all()

    def export_channels(self) -> dict[str, Any]:
        return self.channels.export()

    def import_channels(self, data: Any) -> list[ChannelKey]:
        return self.channels.import_(data)
