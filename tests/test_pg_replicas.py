"""Replicas on one PostgreSQL database, each with its own data folder: the core's state is
shared (subscriptions, votes, the ledger), digests go out once, and only one replica keeps
the papers current."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.conftest import FakeClock, RecordingPlatform, no_sleep
from tests.fakes.hf_server import FakeHFServer, recent_weeks
from tests.test_keeper import LATEST, NOW, featured_days_since, shut, started

CHANNEL = ChannelKey("slack", "T1", "C1")
DAY = date(2026, 8, 21)


async def replica(tmp_path: Path, url: str, name: str, platform: RecordingPlatform) -> Paperpost:
    core = await Paperpost.open(
        Config(data_dir=tmp_path / name, database_url=url),
        source=BundledSnapshot(),
        clock=FakeClock(),
        outbox_sleep=no_sleep,
    )
    core.register_platform(platform)
    return core


async def test_replicas_share_subscriptions_votes_and_post_each_digest_once(
    tmp_path: Path, pg_url: str
) -> None:
    posted_a, posted_b = RecordingPlatform(name="slack"), RecordingPlatform(name="slack")
    a = await replica(tmp_path, pg_url, "a", posted_a)
    b = await replica(tmp_path, pg_url, "b", posted_b)
    try:
        assert not (await a.handle(CHANNEL, "subscribe agents")).is_error
        paper = b.library.papers_on(DAY)[0].id
        assert not (await b.handle(CHANNEL, f"like {paper}", user="U1")).is_error
        assert "agents" in (await b.handle(CHANNEL, "list")).text
        assert [v.user for v in a.feedback.votes(CHANNEL)] == ["U1"]
        others = [ChannelKey("slack", "T1", f"C{n}") for n in range(2, 10)]
        for channel in others:
            a.channels.save(channel, a.channels.get(channel))
        await asyncio.gather(a.post_digests(day=DAY), b.post_digests(day=DAY))  # a race
        await b.post_digests(day=DAY)  # again, on the other replica
        posted = sorted(str(d.channel) for d in posted_a.posted + posted_b.posted)
        assert posted == sorted(str(c) for c in [CHANNEL, *others])  # each once
        assert all(d.day == DAY and d.papers for d in posted_a.posted + posted_b.posted)
    finally:
        a.close()
        b.close()


async def test_one_replica_keeps_the_papers_current_and_every_replica_indexes_them(
    tmp_path: Path, pg_url: str
) -> None:
    clock = FakeClock(NOW)
    with FakeHFServer(recent_weeks(NOW.date())) as hf:
        first = await started(
            Config(data_dir=tmp_path / "a", hf_endpoint=hf.url, backfill_days=14,
                   database_url=pg_url), clock,
        )  # fmt: skip
        second = await started(
            Config(data_dir=tmp_path / "b", hf_endpoint=hf.url, backfill_days=14,
                   database_url=pg_url), clock,
        )  # fmt: skip
        try:
            assert second.keeper is not None
            await second.keeper.tick()
            days = [r.query["date"] for r in hf.requests]
            assert len(days) == len(set(days)) == len(featured_days_since(NOW.date(), 14))
            assert second.library.latest_day() == LATEST
            newest = second.library.papers_on(LATEST)[0]
            assert [p.id for p in second.search(newest.id, limit=1)] == [newest.id]
        finally:
            await shut(second)
            await shut(first)
