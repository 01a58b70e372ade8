"""Delivery planning: which digest each channel gets now, then the outbox posts it.

A channel's digest carries every featured day completed since its previous
digest (bot/delivery/featured_day.py ``days_to_carry``), read from the
channel's progress in the ledger once per delivery (``Claims.progress_of``);
a digest an attempt started and did not finish is finished first, the same
digest again. The outbox's claim re-checks that progress atomically: when
another process moved it meanwhile, the channel is planned again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.delivery.claims import ANY_PROGRESS, Claims, Progress
from paperpost.bot.delivery.digest import (
    DayMatcher,
    Digest,
    DigestEntry,
    build_digest,
    combine_days,
)
from paperpost.bot.delivery.featured_day import days_to_carry, digest_day_for, is_final
from paperpost.bot.delivery.ledger import DeliveryState, Ledger, LedgerEntry
from paperpost.bot.delivery.outbox import Delivery, Outbox, Outcome
from paperpost.bot.delivery.schedule import previous_fire_time
from paperpost.bot.papers.refresh import DayRefresher

log = logging.getLogger(__name__)

DELIVERY_CONCURRENCY = 32  # digests in flight at once, across channels
RESUME_WINDOW = timedelta(days=3)  # interrupted digests older than this are left alone
PASSES = 3  # plans after a stale claim or a finished interruption, per call


@dataclass(frozen=True, slots=True)
class Plan:
    """One channel's digest to deliver: its featured days, the progress it was
    planned from, and the digest itself when an interrupted attempt recorded it."""

    channel: ChannelKey
    days: tuple[date, ...]
    through: date | object | None = ANY_PROGRESS
    recorded: LedgerEntry | None = None


class DeliveryPlanner:
    def __init__(
        self,
        *,
        library: PaperLibrary,
        channels: ChannelRegistry,
        ledger: Ledger,
        claims: Claims,
        outbox: Outbox,
        refresher: DayRefresher,
        clock: Callable[[], datetime],
    ) -> None:
        self.library = library
        self.channels = channels
        self.ledger = ledger
        self.claims = claims
        self.outbox = outbox
        self.refresher = refresher
        self.clock = clock
        self._limit = asyncio.Semaphore(DELIVERY_CONCURRENCY)  # shared by concurrent batches

    # -- what is due ---------------------------------------------------------
    async def catch_up(self) -> list[Delivery]:
        """What is due now: each channel's digest as its schedule says (days missed
        while down caught up in one), interrupted digests, waiting and failed ones.
        A channel's first digest is only caught up from a post due today."""
        deliveries = await self.deliver_scheduled(self.channels.all(), first_from_today=True)
        done = {(d.channel, d.day) for d in deliveries}
        now = self.clock()
        unfinished = [
            (c, d, e)
            for c, d, e in self.ledger.unfinished()
            if (c, d) not in done and now.date() - d <= RESUME_WINDOW
        ]
        progress = self.claims.progress_of(sorted({c for c, _, _ in unfinished}))
        leftovers = []
        for channel, day, entry in unfinished:
            if entry.paper_ids:  # interrupted: the same digest again
                leftovers.append(Plan(channel, tuple(_days_of(day, entry)), ANY_PROGRESS, entry))
            elif (through := progress[channel].through) is None or day > through:
                leftovers.append(Plan(channel, (day,), through))  # waited for its day
        return deliveries + await self._deliver(leftovers)

    async def deliver_scheduled(
        self,
        channels: Iterable[tuple[ChannelKey, ChannelSettings]],
        *,
        first_from_today: bool = False,
        dry_run: bool = False,
    ) -> list[Delivery]:
        """Each channel's digest for its latest scheduled post at or before now."""
        settings = dict(channels)
        deliveries: list[Delivery] = []
        for _ in range(PASSES):
            plans, skipped = await asyncio.to_thread(
                self._plan_scheduled, settings, first_from_today=first_from_today
            )
            done = await self._deliver(plans, dry_run=dry_run)
            # Planned again: a stale plan, and an interrupted digest just finished
            # (the days completed after it are still to carry).
            again = {
                d.channel
                for d, p in zip(done, plans, strict=True)
                if d.outcome is Outcome.STALE or (p.recorded and d.outcome is Outcome.SENT)
            }
            deliveries += skipped + [d for d in done if d.outcome is not Outcome.STALE]
            settings = {c: s for c, s in settings.items() if c in again}
            if not settings or dry_run:
                break
        return deliveries

    def _plan_scheduled(
        self, settings: dict[ChannelKey, ChannelSettings], *, first_from_today: bool
    ) -> tuple[list[Plan], list[Delivery]]:
        now = self.clock()
        progress = self.claims.progress_of(list(settings))
        latest = digest_day_for(now)
        for channel, s in settings.items():
            if s.paused != (progress[channel].paused_since is not None):
                self.claims.note_paused(channel, paused=s.paused, latest_complete=latest)
                progress.update(self.claims.progress_of([channel]))
        active = [c for c, s in settings.items() if not s.paused and s.days]
        plans: list[Plan] = []
        skipped: list[Delivery] = []
        for channel in active:
            fired = previous_fire_time(settings[channel], now)
            if fired is None:
                continue
            done = progress[channel]
            if done.unfinished is not None:
                day, entry = done.unfinished
                plans.append(Plan(channel, tuple(_days_of(day, entry)), done.through, entry))
                continue
            if done.through is None and first_from_today:
                zone = settings[channel].zone
                if fired.astimezone(zone).date() != now.astimezone(zone).date():
                    continue
            days = days_to_carry(fired, through=done.through, now=now)
            if days:
                plans.append(Plan(channel, tuple(days), done.through))
            elif done.through is not None:
                skipped.append(Delivery(channel, done.through, Outcome.ALREADY_SENT))
        return plans, skipped

    async def post_day(
        self, day: date, channels: list[ChannelKey], *, dry_run: bool = False
    ) -> list[Delivery]:
        """``day`` to each of ``channels`` (the ``--date`` of ``paperpost digest``)."""
        progress: dict[ChannelKey, Progress] = self.claims.progress_of(channels)
        plans = []
        for channel in channels:
            unfinished = progress[channel].unfinished
            recorded = unfinished[1] if unfinished and unfinished[0] == day else None
            days = _days_of(day, recorded) if recorded else [day]
            plans.append(Plan(channel, tuple(days), ANY_PROGRESS, recorded))
        return await self._deliver(plans, dry_run=dry_run)

    async def post_now(self, channel: ChannelKey) -> Delivery:
        """The channel's next digest, now (the ``post`` command): every featured day
        completed since its previous digest, or the latest complete day for its first;
        an interrupted digest is finished first. ALREADY_SENT, on its previous digest's
        day, when no featured day has completed since."""
        for _ in range(PASSES):
            now = self.clock()
            progress = (await asyncio.to_thread(self.claims.progress_of, [channel]))[channel]
            if progress.unfinished is not None:
                day, entry = progress.unfinished
                plan = Plan(channel, tuple(_days_of(day, entry)), progress.through, entry)
            else:
                days = days_to_carry(now, through=progress.through, now=now)
                if not days:
                    assert progress.through is not None  # a first digest always has a day
                    return Delivery(channel, progress.through, Outcome.ALREADY_SENT)
                plan = Plan(channel, tuple(days), progress.through)
            [delivery] = await self._deliver([plan])
            if delivery.outcome is not Outcome.STALE:
                return delivery
        return delivery

    # -- building and posting --------------------------------------------------
    async def _deliver(self, plans: list[Plan], *, dry_run: bool = False) -> list[Delivery]:
        """Build each plan's digest (one refresh per featured day, each distinct
        saved search run once per day) and hand them to the outbox, in plan order."""
        if not plans:
            return []
        now = self.clock()
        needed = sorted({d for p in plans if p.recorded is None for d in p.days})
        available: dict[date, bool] = {}
        for day in needed:  # one refresh per featured day, shared by every channel
            available[day] = await self.refresher.ensure(day)
        results: list[Delivery | Digest] = []
        to_build: list[tuple[int, Plan, list[date]]] = []
        for i, plan in enumerate(plans):
            if plan.recorded is not None:
                results.append(self.recorded_digest(plan.channel, plan.days, plan.recorded))
                continue
            missing = [d for d in plan.days if not available[d]]
            if any(not (is_final(d, now) and d in self.refresher.answered_empty) for d in missing):
                results.append(self._waiting(plan.channel, plan.days[-1], dry_run=dry_run))
                continue
            results.append(Delivery(plan.channel, plan.days[-1], Outcome.EMPTY))  # placeholder
            to_build.append((i, plan, [d for d in plan.days if available[d]]))
        built = await asyncio.to_thread(self.build, [(p, days) for _, p, days in to_build])
        for (i, _, _), digest in zip(to_build, built, strict=True):
            results[i] = digest
        # Started in an order of this process's own, so replicas fanning out the same
        # channels meet each other's claims rarely instead of racing for each in turn.
        order = sorted(range(len(plans)), key=lambda i: self._spread(plans[i].channel))
        sends = {i: asyncio.ensure_future(self._send(results[i], plans[i], dry_run)) for i in order}
        return list(await asyncio.gather(*(sends[i] for i in range(len(plans)))))

    def _spread(self, channel: ChannelKey) -> bytes:
        return hashlib.blake2b(f"{self.claims.holder}|{channel}".encode(), digest_size=8).digest()

    async def _send(self, item: Delivery | Digest, plan: Plan, dry_run: bool) -> Delivery:
        if isinstance(item, Delivery):
            return item
        if dry_run:
            outcome = Outcome.SENT if item.entries else Outcome.EMPTY
            return Delivery(item.channel, item.day, outcome, len(item.entries), "dry run", item)
        return await self.outbox.deliver(item, through=plan.through, limit=self._limit)

    def _waiting(self, channel: ChannelKey, day: date, *, dry_run: bool) -> Delivery:
        if not dry_run:
            self.ledger.record(channel, day, LedgerEntry(DeliveryState.PENDING), now=self.clock())
        return Delivery(channel, day, Outcome.WAITING, detail=self.refresher.last_error or "")

    def build(self, plans: list[tuple[Plan, list[date]]]) -> list[Digest]:
        """Each plan's fresh digest from the days of it that are available."""
        channels = [p.channel for p, _ in plans]
        settings_of = self.channels.settings_of(channels)
        posted_of = self.ledger.posted_of(channels)
        matchers: dict[date, DayMatcher] = {}
        digests = []
        for plan, days in plans:
            settings, posted = settings_of[plan.channel], set(posted_of[plan.channel])
            parts = []
            for day in days:
                if day not in matchers:
                    matchers[day] = DayMatcher(self.library.papers_on(day))
                part = build_digest(
                    plan.channel,
                    day,
                    matchers[day],
                    subscriptions=settings.subscriptions,
                    posted=posted,
                    min_upvotes=settings.min_upvotes,
                    top_n=settings.top_n,
                    threads=settings.threads,
                )
                posted.update(e.paper.id for e in part.entries)  # re-featured: once, newest day
                parts.append(part)
            digests.append(combine_days(plan.channel, plan.days, parts, settings.threads))
        return digests

    def digests_for_day(self, day: date, channels: Iterable[ChannelKey]) -> list[Digest]:
        """Every named channel's one-day digest of ``day`` (previews, benchmarks)."""
        return self.build([(Plan(c, (day,)), [day]) for c in channels])

    def recorded_digest(
        self, channel: ChannelKey, days: tuple[date, ...], entry: LedgerEntry
    ) -> Digest:
        """The digest an interrupted attempt was posting, so a retry posts the same one."""
        papers = [self.library.get(i) for i in entry.paper_ids]
        entries = tuple(
            DigestEntry(
                p,
                tuple(entry.matched.get(p.id, ())),
                date.fromisoformat(entry.paper_days[p.id]) if p.id in entry.paper_days else None,
            )
            for p in papers
            if p is not None
        )
        threads = self.channels.get(channel).threads
        return Digest(channel, days[-1], entries, threads, days if len(days) > 1 else ())


def _days_of(day: date, entry: LedgerEntry) -> list[date]:
    """The featured days a recorded digest carries (its newest is ``day``)."""
    return [date.fromisoformat(d) for d in entry.days if d < day.isoformat()] + [day]
