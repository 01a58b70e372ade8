"""Client-side pacing of ``chat.postMessage``, so a fan-out uses Slack's rate
limit instead of bouncing off it.

Slack allows about one message per second per channel (short bursts allowed)
and a workspace-wide rate it does not publish. Every 429 costs at least a
whole second (Retry-After is in whole seconds), so reacting to 429s alone
wastes most of the allowance: measured in benchmarks/delivery.py, 25 % of the
allowed rate without pacing, 99.8 % with it.

Both limits are paced as token buckets, each kept as the time its next post
is due (GCRA). A post first waits for its channel, and only then books a
workspace slot: booking the workspace for a channel's later slot would hold
every other channel behind that one channel's spacing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

DEFAULT_RATE = 10.0  # posts per second per workspace; set SLACK_POSTS_PER_SECOND to yours
CHANNEL_INTERVAL = 1.0  # Slack: about one message per second per channel
CHANNEL_BURST = 3  # "short bursts allowed": a threads-mode digest's first replies


@dataclass
class _Schedule:
    """A token bucket of ``1 / interval`` per second and ``burst`` tokens, as the
    theoretical time of its next post (``due``)."""

    interval: float
    burst: float
    due: float = float("-inf")

    def book(self, now: float) -> float:
        """The earliest time from ``now`` a post fits; books it."""
        slot = max(now, self.due - (self.burst - 1) * self.interval)
        self.due = max(self.due, slot) + self.interval
        return slot


SharedSlot = Callable[[float, float], Awaitable[float]]  # (interval, burst) -> seconds to wait


class PostPacer:
    """``shared``: book the workspace's slots in the store instead of in memory, so every
    process posting to the workspace draws on one allowance (bot/delivery/shared_rate.py)."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        burst: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedSlot | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("the posting rate must be positive")
        self.interval = 1.0 / rate
        self.burst = burst
        self._sleep = sleep
        self._clock = clock
        self._workspace = _Schedule(self.interval, burst)
        self._channels: dict[str, _Schedule] = {}
        self.shared = shared

    async def wait(self, channel: str) -> None:
        """Sleep until ``channel`` may be posted to, and book that slot."""
        schedule = self._channels.get(channel)
        if schedule is None:
            schedule = self._channels[channel] = _Schedule(CHANNEL_INTERVAL, CHANNEL_BURST)
        before = schedule.due
        now = self._clock()
        ready = schedule.book(now)
        if ready > now:
            await self._sleep(ready - now)
        now = max(self._clock(), ready)  # ``ready`` when the sleep was not a real one
        if self.shared is not None:
            slot = now + await self.shared(self.interval, self.burst)
        else:
            slot = self._workspace.book(now)
        if slot > now:
            await self._sleep(slot - now)
        # The channel's post goes at ``slot``, maybe after ``ready``: count it from then.
        schedule.due = max(schedule.due, max(before, slot) + CHANNEL_INTERVAL)
