"""The outbox: hands a digest to its platform, exactly once, through the ledger.

Each delivery claims its channel first (bot/delivery/claims.py): the claim
is the one atomic read of the digest's ledger state, across processes; the
holder renews it while posting and before each part, and releases it after.

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
from paperpost.bot.delivery.claims import (
    ANY_PROGRESS,
    RENEW_SECONDS,
    Claim,
    ClaimLost,
    Claims,
    ClaimStatus,
)
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.ledger import Ledger
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
    CLAIMED = "being posted by another process"
    STALE = "planned before another process posted"  # the planner plans it again
    DROPPED = "dropped: the channel is paused"
    INTERRUPTED = "interrupted by shutdown"  # the next start resumes it


class ShuttingDown(ClaimLost):
    """Raised before the next part once Paperpost is stopping: the part in flight is
    finished, the rest is left "posting" for the next start to reconcile."""


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: ChannelKey
    day: date
    outcome: Outcome
    papers: int = 0
    detail: str = ""
    digest: Digest | None = None  # a dry run's digest, for printing what would be sent


class Outbox:
    def __init__(
        self,
        ledger: Ledger,
        claims: Claims,
        *,
        on_permanent: Callable[[ChannelKey, str], None],
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        max_backoff: float = 120.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._claims = claims
        self._platforms: dict[str, Platform] = {}
        self._on_permanent = on_permanent
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._clock = clock
        self._stopping = False

    def stop_after_part(self) -> None:
        """Shutdown: no new delivery starts; each one in flight ends after its current part."""
        self._stopping = True

    def register(self, platform: Platform) -> None:
        self._platforms[platform.name] = platform

    def platform_named(self, name: str) -> Platform | None:
        """The registered platform ``name`` (the weekly roundups post through it too)."""
        return self._platforms.get(name)

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def deliver(
        self,
        digest: Digest,
        *,
        through: date | object | None = ANY_PROGRESS,
        limit: asyncio.Semaphore | None = None,
    ) -> Delivery:
        """Claim, then post ``digest`` unless it is finished; never raises DeliveryError.

        ``through`` is the channel progress the digest was planned from (see
        Claims.claim). ``limit`` bounds posts in flight; it is held only while
        posting, never through a backoff wait, so rate-limited channels cannot
        starve the rest.
        """
        channel, day = digest.channel, digest.day
        if self._stopping:
            return Delivery(channel, day, Outcome.INTERRUPTED)
        platform = self._platforms.get(channel.platform)
        if platform is None and digest.entries:
            detail = f"{channel.platform} is not configured"
            return Delivery(channel, day, Outcome.NO_PLATFORM, detail=detail)
        claim = await asyncio.to_thread(self._claims.claim, channel, day, through=through)
        if claim.status is ClaimStatus.DONE:
            return Delivery(channel, day, Outcome.ALREADY_SENT)
        if claim.status is ClaimStatus.BUSY:
            return Delivery(channel, day, Outcome.CLAIMED)
        if claim.status is ClaimStatus.STALE:
            return Delivery(channel, day, Outcome.STALE)
        try:
            if claim.status is ClaimStatus.PAUSED:
                self._ledger.mark_dropped(digest, now=self._clock())
                log.info("digest dropped: channel paused", extra={"channel": str(channel)})
                return Delivery(channel, day, Outcome.DROPPED)
            if not digest.entries:
                self._ledger.mark_empty(digest, now=self._clock())
                return Delivery(channel, day, Outcome.EMPTY)
            assert platform is not None
            return await self._post(platform, digest, claim, limit)
        finally:
            await asyncio.to_thread(self._claims.release, channel)

    async def _post(
        self,
        platform: Platform,
        digest: Digest,
        claim: Claim,
        limit: asyncio.Semaphore | None,
    ) -> Delivery:
        channel = digest.channel
        resume = claim.resume  # an earlier attempt may have reached the platform: look first
        attempts = claim.previous.attempts if claim.previous else 0
        started = time.perf_counter()

        async def still_mine() -> None:
            if self._stopping:
                raise ShuttingDown("Paperpost is stopping")
            await asyncio.to_thread(self._claims.renew, channel)

        renewer = asyncio.create_task(self._keep_renewing(channel))
        try:
            for tries in range(1, self._max_attempts + 1):
                attempts += 1
                self._ledger.start_posting(digest, attempts=attempts, now=self._clock())
                try:
                    async with limit or contextlib.nullcontext():
                        await platform.post_digest(digest, resume=resume, before_part=still_mine)
                except ShuttingDown:
                    log.info("digest interrupted by shutdown", extra={"channel": str(channel)})
                    return Delivery(channel, digest.day, Outcome.INTERRUPTED)
                except ClaimLost as exc:
                    log.warning("%s; stopped posting", exc, extra={"channel": str(channel)})
                    return Delivery(channel, digest.day, Outcome.CLAIMED, detail=str(exc))
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
                    if self._stopping:
                        return Delivery(channel, digest.day, Outcome.INTERRUPTED)
                    continue
                break
        finally:
            renewer.cancel()
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

    async def _keep_renewing(self, channel: ChannelKey) -> None:
        # Real time, not the outbox's sleep: leases are compared across processes.
        with contextlib.suppress(ClaimLost):
            while True:
                await asyncio.sleep(RENEW_SECONDS)
                await asyncio.to_thread(self._claims.renew, channel)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return float(min(retry_after, self._max_backoff))
        exponential: float = self._backoff_base * 2 ** (attempt - 1)
        return min(exponential, self._max_backoff) * random.uniform(0.8, 1.2)

    def _fail(self, digest: Digest, exc: DeliveryError, attempts: int) -> Delivery:
        self._ledger.mark_failed(
            digest, attempts=attempts, permanent=exc.permanent, error=str(exc), now=self._clock()
        )
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
