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
from datetime import UTC, date, datetime, timedelta

from paperpost.bot.app_reads import CoreReads
from paperpost.bot.catalog.installations import InstallationRecords
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.channels.grammar import Command, parse_command
from paperpost.bot.channels.handlers import CommandHandlers
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.post_reply import post_now
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.channels.replies import Reply, apology, error
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.channels.workspaces import ChannelPauser
from paperpost.bot.config import Config
from paperpost.bot.delivery.claims import Claims
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.featured_day import digest_day_for
from paperpost.bot.delivery.ledger import Ledger
from paperpost.bot.delivery.outbox import Delivery, Outbox
from paperpost.bot.delivery.planner import DeliveryPlanner
from paperpost.bot.delivery.schedule import DigestScheduler, next_fire_time
from paperpost.bot.delivery.shared_rate import SharedRate
from paperpost.bot.delivery.weekly import WeeklyRoundups
from paperpost.bot.errors import UserError
from paperpost.bot.feedback.commands import FeedbackCommands
from paperpost.bot.feedback.presses import Presses
from paperpost.bot.papers.keeper import PaperKeeper
from paperpost.bot.papers.lookup import LookupThrottle, PaperLookup
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.origin import PapersOrigin
from paperpost.bot.papers.paper_api import UpstreamPapers
from paperpost.bot.papers.refresh import DayRefresher, PaperSource
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.bot.papers.sync import SyncReport, sync_days
from paperpost.bot.ports import ClosableSource, Platform

log = logging.getLogger(__name__)

BATCH_WINDOW = 0.5  # seconds to gather channels the scheduler fires together
SWEEP_INTERVAL = timedelta(minutes=10)  # how often waiting/failed digests are retried


def utc_now() -> datetime:
    return datetime.now(UTC)


class Paperpost(CoreReads):
    def __init__(
        self,
        *,
        store: Store,
        library: PaperLibrary,
        source: PaperSource,
        clock: Callable[[], datetime] = utc_now,
        outbox_sleep: Callable[[float], Awaitable[None]] | None = None,
        backfill_days: int | None = None,
        upstream: UpstreamPapers | None = None,
    ) -> None:
        self.store = store
        self.library = library
        self.source = source
        self.lookup = PaperLookup(library, LookupThrottle(store.db), upstream)  # pasted links
        self.channels = ChannelRegistry(store)
        self.ledger = Ledger(store)
        self.claims = Claims(store.db)
        self.clock = clock
        self.refresher = DayRefresher(source, library, clock)
        self.origin = PapersOrigin(store)
        # Keeps the store current while the service runs; None for an offline source.
        self.keeper = PaperKeeper.online(self.refresher, self.origin, store, backfill_days)
        self.scheduler = DigestScheduler(self.run_due)
        self.pauser = ChannelPauser(self.channels, self.claims, clock, self._unschedule)
        self.installations = InstallationRecords(store)  # Slack workspaces (OAuth installs)
        self.allowances = SharedRate(store.db)  # posting rates shared across processes
        self.outbox = Outbox(
            self.ledger,
            self.claims,
            on_permanent=self.pauser.pause,
            clock=clock,
            sleep=outbox_sleep or asyncio.sleep,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._due_now: set[ChannelKey] = set()
        self._gathering: asyncio.Task[None] | None = None  # the batch still gathering channels
        self._batches: set[asyncio.Task[None]] = set()
        self.planner = DeliveryPlanner(
            library=library,
            channels=self.channels,
            ledger=self.ledger,
            claims=self.claims,
            outbox=self.outbox,
            refresher=self.refresher,
            clock=clock,
        )
        self.presses = Presses(library=library, db=store.db, clock=clock)
        self.feedback = self.presses.votes
        self.weekly = WeeklyRoundups(
            db=store.db, library=library, channels=self.channels, ledger=self.ledger,
            claims=self.claims, feedback=self.feedback, outbox=self.outbox, clock=clock,
            on_permanent=self.pauser.pause,
        )  # fmt: skip
        self.handlers = CommandHandlers(
            library=library,
            channels=self.channels,
            ledger=self.ledger,
            clock=clock,
            on_settings_changed=self._settings_changed,
            next_post=lambda _key, settings: next_fire_time(settings, self.clock()),
            papers_from=lambda: self.health().papers_from,
            feedback=FeedbackCommands(votes=self.feedback, library=library, clock=clock),
        )

    @classmethod
    async def open(
        cls,
        config: Config,
        *,
        source: PaperSource | None = None,
        fill_empty: bool | None = None,
        lookups: bool | None = None,
        **kwargs: object,
    ) -> Paperpost:
        """Open the store in ``config.data_dir``.

        ``fill_empty``: fill an empty store from the bundled snapshot (finishing a fill a
        kill cut short); by default only when ``source`` is the snapshot (offline). Online,
        the store is filled from Hugging Face by the keeper once ``start()`` runs, and from
        the snapshot only when Hugging Face cannot be reached then.

        ``lookups``: whether papers named by pasted links may be fetched from Hugging
        Face / arXiv (``config``'s endpoints). By default only when ``source`` is not
        given: a caller who picks the source (``--offline``, tests) stays off the network.
        """
        lookups = source is None if lookups is None else lookups
        store = Store(config.data_dir, config.database_url)
        library = await asyncio.to_thread(PaperLibrary, store)
        offline = isinstance(source, BundledSnapshot)
        if offline if fill_empty is None else fill_empty:
            await PapersOrigin(store).fill_from_snapshot(library)
        if source is None:
            from paperpost.bot.papers.huggingface import HuggingFaceSource

            source = HuggingFaceSource(endpoint=config.hf_endpoint, token=config.hf_token)
        if not offline:
            kwargs.setdefault("backfill_days", config.backfill_days)
        if lookups:
            kwargs["upstream"] = UpstreamPapers(
                hf_endpoint=config.hf_endpoint,
                arxiv_endpoint=config.arxiv_endpoint,
                hf_token=config.hf_token,
            )
        return cls(store=store, library=library, source=source, **kwargs)  # type: ignore[arg-type]

    def register_platform(self, platform: Platform) -> None:
        self.outbox.register(platform)

    # -- commands --------------------------------------------------------------
    async def handle(
        self, channel: ChannelKey, text: str, *, user: str | None = None, name: str | None = None
    ) -> Reply:
        """Parse and execute one command line. Never raises."""
        try:
            command = parse_command(text)
        except UserError as exc:
            return error(str(exc))
        return await self.execute(channel, command, user=user, name=name)

    async def execute(
        self, channel: ChannelKey, command: Command, *, user: str | None = None,
        name: str | None = None,
    ) -> Reply:  # fmt: skip
        """``name``: the user's display name, kept with their votes (plain text)."""
        try:
            if command.name == "post":  # async: it posts through the outbox
                return await self.post_now(channel)
            run = self.handlers.run
            return await asyncio.to_thread(run, channel, command, user=user, name=name)
        except UserError as exc:
            return error(str(exc))
        except Exception as exc:
            return apology(exc, command=command.name, channel=str(channel))

    def _settings_changed(self, channel: ChannelKey, settings: ChannelSettings) -> None:
        # At resume, the days completed while paused are marked never to be carried.
        self.claims.note_paused(
            channel, paused=settings.paused, latest_complete=digest_day_for(self.clock())
        )
        self.weekly.note_settings(channel, settings)  # re-armed when its roundup changed
        # Handlers run in a worker thread; the schedulers live on the loop.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.scheduler.set_channel, channel, settings)
            self._loop.call_soon_threadsafe(self.weekly.set_channel, channel, settings)

    def _unschedule(self, channel: ChannelKey) -> None:  # a channel paused by Paperpost
        self.scheduler.remove_channel(channel)
        self.weekly.remove_channel(channel)

    # -- service ---------------------------------------------------------------
    async def start(self) -> None:
        """Schedule every channel, then catch up what fell due while we were down."""
        self._loop = asyncio.get_running_loop()
        self.scheduler.rebuild(self.channels.all())
        self.scheduler.start()
        self.weekly.start(self.channels.all())
        self._sweeper = asyncio.create_task(self._sweep_forever())
        if self.keeper is not None:
            self.keeper.start()

    async def stop(self) -> None:
        """Deliveries in flight end after their current part (the next start resumes
        them); nothing new starts."""
        self.outbox.stop_after_part()
        await self.lookup.aclose()
        if self.keeper is not None:
            await self.keeper.stop()
        if self._batches:
            await asyncio.wait(set(self._batches))
        if self._sweeper:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.scheduler.shutdown()
        await self.weekly.stop()

    def close(self) -> None:
        self.library.close()
        self.store.close()

    async def catch_up(self) -> list[Delivery]:
        """Post what fell due while down (one digest per channel) and finish interrupted ones."""
        return await self.planner.catch_up()

    async def _sweep_forever(self) -> None:
        """Catch up now (in the background, so commands are served meanwhile), then
        retry waiting and failed digests every few minutes."""
        while True:
            for sweep in (self.catch_up, self.weekly.catch_up):  # digests, then a missed roundup
                try:
                    await sweep()
                except Exception:
                    log.exception("catch-up sweep failed")
            await asyncio.sleep(SWEEP_INTERVAL.total_seconds())

    async def run_due(self, channel: ChannelKey) -> None:
        """Scheduler callback. Channels due at the same moment are batched, so a
        day's saved searches run once for all of them; a channel due while an
        earlier batch is still posting starts a batch of its own."""
        self._due_now.add(channel)
        if self._gathering is None:
            self._gathering = asyncio.create_task(self._flush_due())
            self._batches.add(self._gathering)
            self._gathering.add_done_callback(self._batches.discard)

    async def _flush_due(self) -> None:
        await asyncio.sleep(BATCH_WINDOW)
        channels, self._due_now, self._gathering = self._due_now, set(), None
        settings = self.channels.settings_of(sorted(channels))
        await self.planner.deliver_scheduled(settings.items())

    async def post_digests(
        self, *, day: date | None = None, channel: ChannelKey | None = None, dry_run: bool = False
    ) -> list[Delivery]:
        """Cron mode: post now. With ``day``, that day to every unpaused channel (or
        ``channel``); without, each channel's digest as its schedule says (and, for
        all channels, the latest weekly roundup not posted yet)."""
        chosen = [(channel, self.channels.get(channel))] if channel else self.channels.all()
        if day is not None:
            keys = [key for key, settings in chosen if not settings.paused]
            return await self.planner.post_day(day, keys, dry_run=dry_run)
        if channel is None and not dry_run:
            await self.weekly.catch_up()  # cron's roundups too: a missed one, once
        return await self.planner.deliver_scheduled(chosen, dry_run=dry_run)

    def digests_for_day(self, day: date, channels: Iterable[ChannelKey]) -> list[Digest]:
        """Every named channel's digest of ``day`` alone, without posting it."""
        return self.planner.digests_for_day(day, channels)

    # -- for the command line and the HTTP server ----------------------------------
    async def aclose(self) -> None:
        """``close()``, after the paper source's connections (when it has any)."""
        try:
            await self.lookup.aclose()
            if isinstance(self.source, ClosableSource):
                await self.source.aclose()
        finally:
            self.close()

    async def post_now(self, channel: ChannelKey) -> Reply:
        """The ``post`` command: this channel's next digest, now, through the ledger."""
        return await post_now(self.planner, channel, self.channels.get(channel))

    async def forget_channel(self, channel: ChannelKey) -> None:
        """The platform deleted the channel: its votes, saves, settings, saved searches
        and roundups go (nothing else removes them all)."""
        self.scheduler.remove_channel(channel)
        self.weekly.remove_channel(channel)
        votes = await asyncio.to_thread(self.feedback.forget_channel, channel)
        await asyncio.to_thread(self.weekly.ledger.forget_channel, channel)
        await asyncio.to_thread(self.channels.delete, channel)
        log.info("channel deleted: %d vote(s) forgotten", votes, extra={"channel": str(channel)})

    async def papers_linked(self, urls: Sequence[str]) -> dict[str, Paper]:
        """``{url: paper}`` for the links naming a paper that is stored or, once an hour
        at most per id, found upstream (then stored). Never raises: others get no card."""
        try:
            return await self.lookup.papers_linked(urls)
        except Exception:
            log.exception("link lookup failed")
            return {}

    async def sync(
        self, days: Sequence[date], *, on_day: Callable[[date, int], None] | None = None
    ) -> SyncReport:
        """Fetch ``days`` from the paper source into the store and index."""
        report = await sync_days(self.source, self.library, days, on_day=on_day)
        if report.papers and not isinstance(self.source, BundledSnapshot):
            self.origin.note_fetched()
        return report
