"""Client-side pacing of ``chat.postMessage``, so a fan-out uses Slack's rate
limit instead of bouncing off it.

Slack allows about one message per second per channel (short bursts allowed)
and a workspace-wide rate it does not publish. Every 429 costs at least a
whole second (Retry-After is in whole seconds), so reacting to 429s alone
wastes most of the allowance: measured in benchmarks/delivery.py, 25 % of the
allowed rate without pacing, 99.8 % with it. Each post books its slot in order
(a workspace token bucket plus per-channel spacing), so waiters never stampede.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DEFAULT_RATE = 10.0  # posts per second per workspace; set SLACK_POSTS_PER_SECOND to yours
CHANNEL_INTERVAL = 1.0  # Slack: about one message per second per channel
CHANNEL_BURST = 3  # "short bursts allowed": a threads-mode digest's first replies


class PostPacer:
    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        burst: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("the posting rate must be positive")
        self.interval = 1.0 / rate
        self.burst = burst
        self._sleep = sleep
        self._clock = clock
        self._next = 0.0  # earliest time the workspace allows the next post
        self._channel_slots: dict[str, list[float]] = {}  # recent slots per channel

    async def wait(self, channel: str) -> None:
        """Sleep until ``channel`` may be posted to, and book that slot."""
        now = self._clock()
        slot = max(self._next, now - (self.burst - 1) * self.interval)
        recent = self._channel_slots.setdefault(channel, [])
        if len(recent) >= CHANNEL_BURST:
            slot = max(slot, recent[-CHANNEL_BURST] + CHANNEL_BURST * CHANNEL_INTERVAL)
        self._next = slot + self.interval
        recent.append(slot)
        del recent[:-CHANNEL_BURST]
        if slot > now:
            await self._sleep(slot - now)
