"""Digest delivery against the loopback fake Web API: retries, permanent
errors, and exactly-once across crashes (message metadata + resume)."""

from __future__ import annotations

from datetime import date

import pytest

from paperpost.adapters.slack.client import build_client
from paperpost.adapters.slack.delivery import EVENT_TYPE, SlackPlatform
from paperpost.adapters.slack.render import render_digest
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.errors import DeliveryError
from paperpost.bot.papers.model import papers_from_hf_day
from tests.conftest import Sleeps
from tests.fakes.hf_server import load_day
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI, Fault, block_kit_problems

DAY = date(2026, 5, 12)
CHANNEL = ChannelKey("slack", "T0TEST", "C0DIGEST1")


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def platform(api: FakeSlackAPI, sleeps: Sleeps) -> SlackPlatform:
    return SlackPlatform(build_client(BOT_TOKEN, base_url=api.url, sleep=sleeps), sleep=sleeps)


def digest(n: int = 5, *, threads: bool = False, channel: ChannelKey = CHANNEL) -> Digest:
    papers = sorted(papers_from_hf_day(load_day(DAY), requested_day=DAY), key=lambda p: -p.upvotes)
    return Digest(channel, DAY, tuple(DigestEntry(p) for p in (papers * 3)[:n]), threads=threads)


def parts_posted(api: FakeSlackAPI, d: Digest) -> list[int]:
    return [
        p.metadata["event_payload"]["part"]
        for p in api.posts
        if p.metadata and p.metadata["event_payload"]["marker"] == d.marker
    ]


async def test_a_digest_is_one_tagged_valid_message(api: FakeSlackAPI, platform: SlackPlatform):
    d = digest(5)
    await platform.post_digest(d, resume=False)
    [post] = api.posts
    assert post.channel == "C0DIGEST1"
    assert post.metadata == {
        "event_type": EVENT_TYPE,
        "event_payload": {"marker": d.marker, "part": 0, "parts": 1},
    }
    assert block_kit_problems(post.blocks) == []
    assert post.text.startswith("Top papers of Tue 12 May 2026")
    assert api.calls_of("chat.postMessage")[0].content_type == "application/json"


async def test_threads_mode_posts_details_in_the_lists_thread(
    api: FakeSlackAPI, platform: SlackPlatform
):
    await platform.post_digest(digest(3, threads=True), resume=False)
    parent, *replies = api.posts
    assert parent.thread_ts is None
    assert [r.thread_ts for r in replies] == [parent.ts] * 3


async def test_a_429_delays_delivery_but_loses_nothing(
    api: FakeSlackAPI, platform: SlackPlatform, sleeps: Sleeps
):
    api.fail("chat.postMessage", Fault.rate_limited(retry_after=7))
    await platform.post_digest(digest(3), resume=False)
    assert len(api.calls_of("chat.postMessage")) == 2
    assert len(api.posts) == 1
    assert sleeps.waits == [7.0]  # Retry-After honoured, then retried


async def test_a_long_retry_after_is_handed_to_the_ledger(
    api: FakeSlackAPI, platform: SlackPlatform, sleeps: Sleeps
):
    api.fail("chat.postMessage", Fault.rate_limited(retry_after=900))
    with pytest.raises(DeliveryError) as caught:
        await platform.post_digest(digest(3), resume=False)
    assert (caught.value.permanent, caught.value.retry_after) == (False, 900.0)
    assert api.posts == [] and sleeps.waits == []
    await platform.post_digest(digest(3), resume=True)
    assert len(api.posts) == 1


@pytest.mark.parametrize("posted", [False, True], ids=["lost", "posted-anyway"])
async def test_a_5xx_on_a_post_is_recovered_without_posting_twice(
    api: FakeSlackAPI, platform: SlackPlatform, posted: bool
):
    d = digest(3, threads=True)
    api.fail("chat.postMessage", Fault.server_error(502, posted=posted))
    await platform.post_digest(d, resume=False)
    assert sorted(parts_posted(api, d)) == [0, 1, 2, 3]


async def test_a_5xx_on_a_read_is_retried(api: FakeSlackAPI, platform: SlackPlatform):
    api.fail("conversations.history", Fault.server_error(503), Fault.server_error(500))
    await platform.post_digest(digest(2), resume=True)
    assert len(api.calls_of("conversations.history")) == 3
    assert len(api.posts) == 1


async def test_persistent_5xx_is_a_transient_delivery_error(
    api: FakeSlackAPI, platform: SlackPlatform
):
    api.fail("chat.postMessage", *[Fault.server_error()] * 3)
    with pytest.raises(DeliveryError) as caught:
        await platform.post_digest(digest(1), resume=False)
    assert caught.value.permanent is False


@pytest.mark.parametrize(
    "code", ["channel_not_found", "not_in_channel", "is_archived", "missing_scope"]
)
async def test_permanent_errors_are_permanent(
    api: FakeSlackAPI, platform: SlackPlatform, code: str
):
    api.fail("chat.postMessage", Fault.error(code))
    with pytest.raises(DeliveryError) as caught:
        await platform.post_digest(digest(1), resume=False)
    assert caught.value.permanent is True
    assert code in str(caught.value)
    assert len(api.calls_of("chat.postMessage")) == 1  # no pointless retry


async def test_a_channel_the_bot_is_not_in(api: FakeSlackAPI, platform: SlackPlatform):
    api.not_member("C0DIGEST1")
    with pytest.raises(DeliveryError, match="not_in_channel") as caught:
        await platform.post_digest(digest(1), resume=False)
    assert caught.value.permanent


async def test_a_revoked_token_is_permanent(api: FakeSlackAPI, sleeps: Sleeps):
    platform = SlackPlatform(build_client("xoxb-revoked", base_url=api.url, sleep=sleeps))
    with pytest.raises(DeliveryError, match="invalid_auth") as caught:
        await platform.post_digest(digest(1), resume=False)
    assert caught.value.permanent


async def test_resume_after_a_crash_posts_only_the_missing_parts(
    api: FakeSlackAPI, platform: SlackPlatform
):
    d = digest(4, threads=True)  # 5 parts: the list, then 4 thread replies
    await _post_parts(platform, d, 2)  # the process died after posting two parts
    api.fail("chat.postMessage", Fault.rate_limited(retry_after=3600))
    with pytest.raises(DeliveryError):
        await platform.post_digest(d, resume=True)
    assert sorted(parts_posted(api, d)) == [0, 1]
    await platform.post_digest(d, resume=True)
    assert sorted(parts_posted(api, d)) == [0, 1, 2, 3, 4]
    parent_ts = api.posts[0].ts
    assert all(p.thread_ts == parent_ts for p in api.posts[1:])
    await platform.post_digest(d, resume=True)  # a second run posts nothing
    assert len(api.posts) == 5


async def _post_parts(platform: SlackPlatform, d: Digest, count: int) -> None:
    """Post the first ``count`` parts as an interrupted delivery would have."""
    posted: dict[int, str] = {}
    parts = render_digest(d)
    assert platform.client is not None
    await platform._post_missing(
        platform.client, platform.pacer, d.channel.channel, d, parts[:count], posted
    )


async def test_resume_ignores_other_digests_and_other_messages(
    api: FakeSlackAPI, platform: SlackPlatform
):
    other = Digest(CHANNEL, date(2026, 5, 11), digest(2).entries)
    await platform.post_digest(other, resume=False)
    d = digest(2)
    await platform.post_digest(d, resume=True)
    await platform.post_digest(d, resume=True)
    assert parts_posted(api, d) == [0] and parts_posted(api, other) == [0]


async def test_resume_pages_through_history(api: FakeSlackAPI, platform: SlackPlatform):
    d = digest(2)
    await platform.post_digest(d, resume=False)
    for i in range(450):  # later chatter pushes the digest beyond the first page
        api._post({"channel": "C0DIGEST1", "text": f"chatter {i}"})
    await platform.post_digest(d, resume=True)
    assert parts_posted(api, d) == [0]
    assert len(api.calls_of("conversations.history")) == 3
