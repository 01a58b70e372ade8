"""The Slack post pacer on a fake clock: per-channel burst and spacing, the
workspace rate, and the waits of a threaded digest against Slack's limits.

The clock only moves when the pacer sleeps, so every wait is exact and the
tests take no wall-clock time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from datetime import date

import pytest

from paperpost.adapters.slack.client import build_client
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.adapters.slack.pacer import CHANNEL_BURST, CHANNEL_INTERVAL, PostPacer
from paperpost.adapters.slack.render import render_digest
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.papers.model import papers_from_hf_day
from tests.fakes.hf_server import load_day
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI
from tests.fakes.slack_ratelimit import SlackRateLimits, TokenBucket

DAY = date(2026, 5, 12)


class VirtualTime:
    """A clock that moves only when every task is asleep on it: then to the
    earliest wake-up. Records each sleep."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), wake))
        await wake

    async def run(self, *work: Awaitable[object]) -> None:
        tasks = [asyncio.ensure_future(w) for w in work]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every task run until it sleeps or ends
                await asyncio.sleep(0)
            if self._sleepers:
                self.now, _, wake = heapq.heappop(self._sleepers)
                wake.set_result(None)
        for task in tasks:
            task.result()

    def real_sleeps(self) -> list[float]:
        return [s for s in self.sleeps if s > 1e-6]  # not float noise


async def post_times(pacer: PostPacer, time: VirtualTime, channels: list[str]) -> list[float]:
    """When each post goes out: after its ``wait``."""
    times = []
    for channel in channels:
        await pacer.wait(channel)
        times.append(time.now)
    return times


async def paced(time: VirtualTime, pacer: PostPacer, channels: list[str]) -> list[float]:
    times: list[float] = []

    async def post() -> None:
        times.extend(await post_times(pacer, time, channels))

    await time.run(post())
    return times


def within(times: list[float], rate: float, burst: float) -> bool:
    """Whether posts at ``times`` fit a token bucket of ``rate``/s and ``burst``."""
    bucket = TokenBucket(rate, burst)
    for t in times:
        if bucket.wait(t) > 1e-9:
            return False
        bucket.take()
    return True


async def test_one_channel_gets_its_burst_then_one_post_a_second() -> None:
    time = VirtualTime()
    pacer = PostPacer(rate=10.0, sleep=time.sleep, clock=time.clock)
    times = await paced(time, pacer, ["C1"] * 9)
    start = times[0]
    assert times[:CHANNEL_BURST] == [start] * CHANNEL_BURST  # the burst goes out at once
    assert time.real_sleeps() == pytest.approx([CHANNEL_INTERVAL] * (9 - CHANNEL_BURST))
    assert within(times, 1 / CHANNEL_INTERVAL, CHANNEL_BURST)  # Slack's per-channel pace
    # Spread out, not bunched: 9 posts take 6 s or more after the burst of 3.
    assert times[-1] - start >= (9 - CHANNEL_BURST) * CHANNEL_INTERVAL - 0.5
    assert not within(times, 1 / CHANNEL_INTERVAL, CHANNEL_BURST - 1)  # it does use the burst


async def test_the_workspace_rate_paces_many_channels() -> None:
    time = VirtualTime()
    pacer = PostPacer(rate=10.0, burst=10.0, sleep=time.sleep, clock=time.clock)
    times = await paced(time, pacer, [f"C{i}" for i in range(40)])
    assert times[:10] == pytest.approx([times[0]] * 10)  # the workspace burst
    assert time.real_sleeps() == pytest.approx([0.1] * 30)  # then one post every 1/rate s
    assert within(times, 10.0, 10.0)
    assert times[-1] - times[0] == pytest.approx(3.0)


async def test_a_channel_waiting_for_its_spacing_does_not_hold_up_the_others() -> None:
    """C1 posts a threaded digest; half a second in, C2 posts once. The
    workspace has room, so C2 goes at once: holding it behind C1's one-second
    spacing would serialise a fan-out of threaded digests."""
    time = VirtualTime()
    pacer = PostPacer(rate=10.0, burst=10.0, sleep=time.sleep, clock=time.clock)
    start = time.now
    c1: list[float] = []
    c2: list[float] = []

    async def first() -> None:
        c1.extend(await post_times(pacer, time, ["C1"] * 5))

    async def second() -> None:
        await time.sleep(0.5)
        c2.extend(await post_times(pacer, time, ["C2"]))

    await time.run(first(), second())
    assert c2 == [pytest.approx(start + 0.5)]
    assert within(c1, 1 / CHANNEL_INTERVAL, CHANNEL_BURST)


def test_the_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PostPacer(rate=0)


@pytest.mark.parametrize("papers", [4, 5])  # 5 and 6 parts (top 5, the default)
async def test_a_threaded_digest_is_paced_inside_slacks_limits(
    api: FakeSlackAPI, papers: int
) -> None:
    time = VirtualTime()
    limits = SlackRateLimits(
        workspace_rate=10.0, channel_rate=1.0, channel_burst=CHANNEL_BURST, clock=time.clock
    )
    api.limiter = limits
    pacer = PostPacer(rate=10.0, sleep=time.sleep, clock=time.clock)
    client = build_client(BOT_TOKEN, base_url=api.url, sleep=time.sleep)
    platform = SlackPlatform(client, sleep=time.sleep, pacer=pacer)
    ranked = sorted(papers_from_hf_day(load_day(DAY), requested_day=DAY), key=lambda p: -p.upvotes)
    channel = ChannelKey("slack", "T0TEST", "C0DIGEST1")
    digest = Digest(channel, DAY, tuple(DigestEntry(p) for p in ranked[:papers]), threads=True)
    parts = papers + 1  # the list, then one reply a paper in its thread
    assert len(render_digest(digest)) == parts

    await time.run(platform.post_digest(digest, resume=False))

    assert len(api.posts) == parts and limits.refused == 0  # no 429 on the way
    # The list and two replies go at once (the channel's burst of 3), then one a second.
    assert time.real_sleeps() == pytest.approx([CHANNEL_INTERVAL] * (parts - CHANNEL_BURST))
