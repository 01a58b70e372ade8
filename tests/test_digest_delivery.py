"""Digests over real recorded days, delivered exactly once through the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL, ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.ledger import DeliveryState
from paperpost.bot.delivery.outbox import Outcome
from paperpost.bot.errors import DeliveryError
from paperpost.bot.papers.huggingface import HuggingFaceSource
from tests.conftest import FakeClock, RecordingPlatform, no_sleep
from tests.fakes.hf_server import FakeHFServer, Fault, load_days
from tests.postgres import both_backends

DAY = date(2026, 8, 21)  # a bundled Friday
SLACK = ChannelKey("slack", "T1", "C1")


@both_backends
async def test_subscription_digest_is_top_n_by_upvotes_and_posted_once(
    core: Paperpost, platform: RecordingPlatform
) -> None:
    for line in ("/papers subscribe agents", "/papers set top 3"):
        assert not (await core.handle(CONSOLE_CHANNEL, line)).is_error
    first = await core.post_digests(day=DAY, channel=CONSOLE_CHANNEL)
    assert [d.outcome for d in first] == [Outcome.SENT]
    (digest,) = platform.posted
    assert 1 <= len(digest.entries) <= 3
    upvotes = [e.paper.upvotes for e in digest.entries]
    assert upvotes == sorted(upvotes, reverse=True)
    expected = {
        p.id for p in core.library.search(f"agents since:{DAY} before:2026-08-22", limit=50)
    }
    assert {e.paper.id for e in digest.entries} <= expected
    assert all(e.matched == ("agents",) for e in digest.entries)
    second = await core.post_digests(day=DAY, channel=CONSOLE_CHANNEL)
    assert [d.outcome for d in second] == [Outcome.ALREADY_SENT]
    assert len(platform.posted) == 1
    why = await core.handle(CONSOLE_CHANNEL, f"why {digest.entries[0].paper.id}")
    assert "agents" in why.text


async def test_channel_without_subscriptions_gets_the_days_top_n(
    core: Paperpost, platform: RecordingPlatform
) -> None:
    await core.handle(CONSOLE_CHANNEL, "set min-upvotes 10")
    await core.post_digests(day=DAY, channel=CONSOLE_CHANNEL)
    (digest,) = platform.posted
    top = [p for p in core.library.papers_on(DAY) if p.upvotes >= 10][:5]
    assert [e.paper.id for e in digest.entries] == [p.id for p in top]
    assert all(e.matched == () for e in digest.entries)


async def test_refeatured_paper_is_never_posted_twice(tmp_path: Path, clock: FakeClock) -> None:
    platform = RecordingPlatform(name="slack")
    with FakeHFServer(load_days()) as hf:
        core = await Paperpost.open(
            Config(data_dir=tmp_path),
            clock=clock,
            outbox_sleep=no_sleep,
            source=HuggingFaceSource(endpoint=hf.url, sleep=no_sleep),
        )
        core.register_platform(platform)
        await core.handle(SLACK, "subscribe 2604.07429")
        # 2604.07429 was featured on 2026-04-10 and again on 2026-04-16 (real data).
        for day in (date(2026, 4, 10), date(2026, 4, 16)):
            await core.post_digests(day=day, channel=SLACK)
        core.close()
    assert [[e.paper.id for e in d.entries] for d in platform.posted] == [["2604.07429"]]


class CrashAfterAccept(BaseException):
    """The process dies after the platform accepted the post, before the ledger knows."""


async def test_no_duplicate_across_a_crash_between_accept_and_record(
    tmp_path: Path, clock: FakeClock
) -> None:
    posted: list[Digest] = []

    class Crashing(RecordingPlatform):
        async def post_digest(self, digest: Digest, *, resume: bool, **_hooks: object) -> None:
            self.posted.append(digest)
            raise CrashAfterAccept

    crashing = Crashing(posted=posted)
    config = Config(data_dir=tmp_path)
    core = await Paperpost.open(config, source=_snapshot(), clock=clock)
    core.register_platform(crashing)
    with pytest.raises(CrashAfterAccept):
        await core.post_digests(day=DAY, channel=CONSOLE_CHANNEL)
    assert core.ledger.get(CONSOLE_CHANNEL, DAY).state is DeliveryState.POSTING
    core.close()

    # Restart: the uncertain entry is resumed; the platform finds it already posted.
    survivor = RecordingPlatform(posted=posted)
    core = await Paperpost.open(config, source=_snapshot(), clock=clock)
    core.register_platform(survivor)
    await core.catch_up()
    await core.post_digests(day=DAY, channel=CONSOLE_CHANNEL)
    assert [resume for _, resume in survivor.calls] == [True]
    assert len(posted) == 1
    assert core.ledger.get(CONSOLE_CHANNEL, DAY).state is DeliveryState.SENT
    core.close()


async def test_catch_up_happens_exactly_once(tmp_path: Path, clock: FakeClock) -> None:
    config = Config(data_dir=tmp_path)
    platform = RecordingPlatform()
    core = await Paperpost.open(config, source=_snapshot(), clock=clock)
    await core.handle(CONSOLE_CHANNEL, "set time 08:00")  # Monday 08:00 UTC fell due while down
    core.close()
    clock.now = datetime(2026, 8, 24, 11, 0, tzinfo=UTC)
    for _restart in range(3):
        core = await Paperpost.open(config, source=_snapshot(), clock=clock)
        core.register_platform(platform)
        await core.catch_up()
        await core.catch_up()
        core.close()
    assert [d.day for d in platform.posted] == [date(2026, 8, 21)]  # Monday posts Friday


async def test_catch_up_skips_a_digest_not_yet_due(
    core: Paperpost, platform: RecordingPlatform, clock: FakeClock
) -> None:
    await core.handle(CONSOLE_CHANNEL, "set time 18:00")
    clock.now = datetime(2026, 8, 24, 11, 0, tzinfo=UTC)
    await core.catch_up()
    assert platform.posted == []


@both_backends
async def test_transient_errors_retry_then_post_once(
    core: Paperpost, platform: RecordingPlatform
) -> None:
    platform.failures = [DeliveryError("busy", permanent=False, retry_after=3)] * 2
    (delivery,) = await core.post_digests(day=DAY, channel=CONSOLE_CHANNEL)
    assert delivery.outcome is Outcome.SENT
    assert len(platform.posted) == 1
    assert [resume for _, resume in platform.calls] == [False, True, True]


async def test_permanent_error_pauses_only_that_channel(tmp_path: Path, clock: FakeClock) -> None:
    good, bad = RecordingPlatform(name="console"), RecordingPlatform(name="slack")
    bad.failures = [DeliveryError("channel_not_found", permanent=True)]
    core = await Paperpost.open(Config(data_dir=tmp_path), source=_snapshot(), clock=clock)
    core.register_platform(good)
    core.register_platform(bad)
    await core.handle(SLACK, "list")
    core.channels.save(SLACK, core.channels.get(SLACK))
    core.channels.save(CONSOLE_CHANNEL, core.channels.get(CONSOLE_CHANNEL))
    outcomes = {d.channel: d.outcome for d in await core.post_digests(day=DAY)}
    assert outcomes == {SLACK: Outcome.PAUSED, CONSOLE_CHANNEL: Outcome.SENT}
    assert len(bad.calls) == 1  # a permanent error is not retried
    settings = (await core.handle(SLACK, "settings")).text
    assert "paused" in settings and "channel_not_found" in settings
    assert await core.post_digests(day=DAY, channel=None) == [
        d for d in await core.post_digests(day=DAY) if d.channel != SLACK
    ]
    core.close()


async def test_source_down_posts_nothing_then_posts_once_when_back(
    tmp_path: Path, clock: FakeClock
) -> None:
    missing = date(2026, 8, 24)  # not stored, not bundled
    platform = RecordingPlatform()
    with FakeHFServer({}) as hf:
        hf.script(*Fault.server_error(times=2))  # both attempts of the one refresh
        core = await Paperpost.open(
            Config(data_dir=tmp_path),
            clock=clock,
            outbox_sleep=no_sleep,
            source=HuggingFaceSource(endpoint=hf.url, sleep=no_sleep, max_attempts=2),
        )
        core.register_platform(platform)
        (waiting,) = await core.post_digests(day=missing, channel=CONSOLE_CHANNEL)
        assert waiting.outcome is Outcome.WAITING and "500" in waiting.detail
        assert platform.posted == []
        assert core.ledger.get(CONSOLE_CHANNEL, missing).state is DeliveryState.PENDING
        assert hf.pending_faults == 0
        # The source is back the next day, with the papers of the missed day.
        hf.set_day(missing, load_days()["2026-08-21"])
        clock.now = datetime(2026, 8, 25, 9, 0, tzinfo=UTC)
        await core.catch_up()
        await core.catch_up()
        core.close()
    assert [d.day for d in platform.posted] == [missing]


async def test_refresh_is_once_per_day_for_all_channels(tmp_path: Path, clock: FakeClock) -> None:
    with FakeHFServer(load_days()) as hf:
        core = await Paperpost.open(
            Config(data_dir=tmp_path),
            clock=clock,
            source=HuggingFaceSource(endpoint=hf.url, sleep=no_sleep),
        )
        core.register_platform(RecordingPlatform(name="slack"))
        for i in range(30):
            core.channels.save(ChannelKey("slack", "T1", f"C{i}"), core.channels.get(SLACK))
        await core.post_digests(day=date(2026, 8, 21))
        await core.post_digests(day=date(2026, 8, 21))
        assert len(hf.requests_for("2026-08-21")) == 1
        core.close()


def _snapshot():
    from paperpost.bot.papers.snapshot import BundledSnapshot

    return BundledSnapshot()
