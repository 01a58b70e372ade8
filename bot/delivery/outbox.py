"""The outbox: hands a digest to its platform, exactly once, through the ledger.

Transient errors are retried with exponential backoff (honouring the
platform's Retry-After); a permanent error fails the entry and reports it so
the channel gets paused. Each channel's delivery is independent: one bad
channel never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from paperpost.bot import metrics
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.ledger import DeliveryState, Ledger, LedgerEntry
from paperpost.bot.errors import DeliveryError
from paperpost.bot.ports import Platform

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already sent"
    EMPTY = "nothing to post"
    FAILED = "failed"  # transient; retried later
    PAUSED = "paused"  # permanent error; the channel was paused
    NO_PLATFORM = "no platform"
    WAITING = "waiting for the day"


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: ChannelKey
    day: date
    outcome: Outcome
    papers: int = 0
    detail: str = ""


class Outbox:
    def __init__(
        self,
        ledger: Ledger,
        *,
        on_permanent: Callable[[ChannelKey, str], None],
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        max_backoff: float = 120.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._platforms: dict[str, Platform] = {}
        self._on_permanent = on_permanent
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._clock = clock

    def register(self, platform: Platform) -> None:
        self._platforms[platform.name] = platform

    async def deliver(self, digest: Digest, *, limit: asyncio.Semaphore | None = None) -> Delivery:
        """Post ``digest`` unless the ledger says it was sent; never raises DeliveryError.

        ``limit`` bounds posts in flight; it is held only while posting, never
        through a backoff wait, so rate-limited channels cannot starve the rest.
        """
        channel = digest.channel
        previous = self._ledger.get(channel, digest.day)
        if previous and previous.state is DeliveryState.SENT:
            return Delivery(channel, digest.day, Outcome.ALREADY_SENT)
        if not digest.entries:
            return Delivery(channel, digest.day, Outcome.EMPTY)
        platform = self._platforms.get(channel.platform)
        if platform is None:
            return Delivery(
                channel,
                digest.day,
                Outcome.NO_PLATFORM,
                detail=f"{channel.platform} is not configured",
            )
        # An earlier attempt may have reached the platform: look before posting.
        resume = previous is not None and previous.state in (
            DeliveryState.POSTING,
            DeliveryState.FAILED,
        )
        attempts = previous.attempts if previous else 0
        started = time.perf_counter()
        for tries in range(1, self._max_attempts + 1):
            attempts += 1
            self._ledger.start_posting(digest, attempts=attempts, now=self._clock())
            try:
                async with limit or contextlib.nullcontext():
                    await platform.post_digest(digest, resume=resume)
            except DeliveryError as exc:
                resume = True
                if exc.permanent or tries == self._max_attempts:
                    return self._fail(digest, exc, attempts)
                delay = self._backoff(tries, exc.retry_after)
                log.warning(
                    "digest post failed, retrying",
                    extra={
                        "channel": str(channel),
                        "day": digest.day.isoformat(),
                        "attempt": attempts,
                        "delay": round(delay, 2),
                        "error": str(exc),
                    },
                )
                await self._sleep(delay)
                continue
            self._ledger.mark_sent(digest, attempts=attempts, now=self._clock())
            metrics.DIGESTS_POSTED.labels(platform.name).inc()
            metrics.POST_SECONDS.labels(platform.name).observe(time.perf_counter() - started)
            log.info(
                "digest posted",
                extra={
                    "channel": str(channel),
                    "day": digest.day.isoformat(),
                    "papers": len(digest.entries),
                },
            )
            return Delivery(channel, digest.day, Outcome.SENT, papers=len(digest.entries))
        raise AssertionError("unreachable: the last try returns")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._max_backoff)
        return min(self._backoff_base * 2 ** (attempt - 1), self._max_backoff) * random.uniform(
            0.8, 1.2
        )

    def _fail(self, digest: Digest, exc: DeliveryError, attempts: int) -> Delivery:
        entry = self._ledger.get(digest.channel, digest.day)
        assert entry is not None  # start_posting wrote it
        failed = LedgerEntry(
            DeliveryState.FAILED, entry.paper_ids, entry.matched, attempts, exc.permanent, str(exc)
        )
        self._ledger.record(digest.channel, digest.day, failed, now=self._clock())
        log.error(
            "digest not delivered",
            extra={
                "channel": str(digest.channel),
                "day": digest.day.isoformat(),
                "permanent": exc.permanent,
                "error": str(exc),
            },
        )
        metrics.DIGESTS_FAILED.labels(digest.channel.platform, str(exc.permanent).lower()).inc()
        if exc.permanent:
            self._on_permanent(digest.channel, str(exc))
            return Delivery(digest.channel, digest.day, Outcome.PAUSED, detail=str(exc))
        return Delivery(digest.channel, digest.day, Outcome.FAILED, detail=str(exc))
