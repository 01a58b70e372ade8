"""Slack's posting rate limits, for the loopback fake Web API.

    limits = SlackRateLimits(workspace_rate=100)
    api = FakeSlackAPI(limiter=limits)

``chat.postMessage`` is limited as Slack describes it: about 1 message per
second per channel, with a short burst, and a workspace-wide ceiling above
that. Each is a token bucket; a call finding either bucket empty gets HTTP 429
with ``Retry-After`` in whole seconds, rounded up and at least 1, as Slack
sends it (so a client cannot be told to wait less than a second). A refused
call takes no token from either bucket. Other methods are not limited unless
named in ``methods``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float  # capacity
    tokens: float = -1.0  # starts full
    stamp: float = 0.0

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0 when one is there now)."""
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class SlackRateLimits:
    """A ``FakeSlackAPI.limiter``: per-channel and workspace token buckets."""

    workspace_rate: float = 100.0
    workspace_burst: float = 10.0
    channel_rate: float = 1.0
    channel_burst: float = 2.0
    methods: Collection[str] = ("chat.postMessage",)
    clock: Callable[[], float] = time.monotonic
    refused_workspace: int = 0  # 429s because of the workspace bucket
    refused_channel: int = 0  # 429s because of a channel's bucket
    _workspace: TokenBucket | None = None
    _channels: dict[str, TokenBucket] = field(default_factory=dict)

    def __call__(self, method: str, params: dict[str, Any]) -> int | None:
        if method not in self.methods:
            return None
        now = self.clock()
        if self._workspace is None:
            self._workspace = TokenBucket(self.workspace_rate, self.workspace_burst)
        channel = str(params.get("channel", ""))
        bucket = self._channels.get(channel)
        if bucket is None:
            bucket = self._channels[channel] = TokenBucket(self.channel_rate, self.channel_burst)
        channel_wait = bucket.wait(now)
        workspace_wait = self._workspace.wait(now)
        if channel_wait or workspace_wait:
            if channel_wait >= workspace_wait:
                self.refused_channel += 1
            else:
                self.refused_workspace += 1
            return max(1, math.ceil(max(channel_wait, workspace_wait)))
        bucket.take()
        self._workspace.take()
        return None

    @property
    def refused(self) -> int:
        return self.refused_workspace + self.refused_channel

    def binding_rate(self, channels: int) -> float:
        """Messages per second allowed to ``channels`` channels posting at once."""
        return min(self.workspace_rate, channels * self.channel_rate)
