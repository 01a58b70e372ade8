"""Which papers a digest carries: ``set min-upvotes`` alone and with subscriptions,
through the core's commands and ``post_digests``, on a real bundled day.

2026-08-21 (bundled) has papers with 163, 54, 38, 32, 30, 24 … upvotes, so a bar
of 40 keeps exactly two of the day's top five.
"""

from __future__ import annotations

from datetime import date

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.bot.delivery.outbox import Outcome
from tests.conftest import RecordingPlatform

DAY = date(2026, 8, 21)
TOP = "2608.19880"  # 163 upvotes: EnvHarness (LLM agents)
SECOND = "2608.18580"  # 54 upvotes: FACET (terminal agents)


async def digest_of(core: Paperpost, platform: RecordingPlatform, *lines: str) -> list[str]:
    for line in lines:
        reply = await core.handle(CONSOLE_CHANNEL, line)
        assert not reply.is_error, reply.text
    deliveries = await core.post_digests(day=DAY, channel=CONSOLE_CHANNEL)
    if not platform.posted:
        assert [d.outcome for d in deliveries] == [Outcome.EMPTY]
        return []
    (digest,) = platform.posted
    return [e.paper.id for e in digest.entries]


async def test_the_days_top_five_without_a_bar(core: Paperpost, platform: RecordingPlatform):
    ids = await digest_of(core, platform)
    assert ids[:2] == [TOP, SECOND] and len(ids) == 5  # so the bar below has work to do


async def test_min_upvotes_40_keeps_exactly_163_and_54(
    core: Paperpost, platform: RecordingPlatform
) -> None:
    assert await digest_of(core, platform, "set min-upvotes 40") == [TOP, SECOND]
    (digest,) = platform.posted
    assert [e.paper.upvotes for e in digest.entries] == [163, 54]


async def test_min_upvotes_40_with_a_subscription(
    core: Paperpost, platform: RecordingPlatform
) -> None:
    # "agents" also matches SWE-bench Science (32 upvotes), which the bar leaves out.
    ids = await digest_of(core, platform, "subscribe agents", "set min-upvotes 40")
    assert ids == [TOP, SECOND]
    (digest,) = platform.posted
    assert all(e.matched == ("agents",) for e in digest.entries)


async def test_min_upvotes_with_a_subscription_that_only_finds_papers_below_it(
    core: Paperpost, platform: RecordingPlatform
) -> None:
    # "video" matches 4DAnyone (38) and ForgeWM (12): neither clears 40, so nothing is posted.
    assert await digest_of(core, platform, "subscribe video", "set min-upvotes 40") == []


@pytest.mark.parametrize("bar,expected", [(54, [TOP, SECOND]), (55, [TOP]), (164, [])])
async def test_the_bar_is_at_least_not_more_than(
    core: Paperpost, platform: RecordingPlatform, bar: int, expected: list[str]
) -> None:
    assert await digest_of(core, platform, f"set min-upvotes {bar}") == expected
