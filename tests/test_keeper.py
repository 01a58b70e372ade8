"""The store stays current by itself: a started online core backfills the recent featured
days from Hugging Face (the loopback fake, serving weeks relative to a fake clock), then
fetches each new day once it is complete; only one process per data folder does it; the
bundled snapshot seeds the store only offline or when Hugging Face is unreachable."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.channels.handlers import SNAPSHOT_NOTE
from paperpost.bot.channels.key import CONSOLE_CHANNEL, ChannelKey
from paperpost.bot.config import Config, ConfigError
from paperpost.bot.papers.huggingface import HuggingFaceSource
from paperpost.bot.papers.origin import SNAPSHOT_FILL
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.http_server import build_app, serve
from tests.conftest import FakeClock
from tests.fakes.hf_server import FakeHFServer, recent_weeks

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # a Wednesday
LATEST = date(2026, 11, 17)  # the latest complete featured day at NOW
GUARD = 30.0  # seconds: a bound for a hang, never an expected duration


def featured_days_since(today: date, days: int) -> list[date]:
    oldest = today - timedelta(days=days)
    return [
        oldest + timedelta(days=n)
        for n in range(days)
        if (oldest + timedelta(days=n)).weekday() < 5
    ]


async def started(config: Config, clock: FakeClock, **kw: object) -> Paperpost:
    core = await Paperpost.open(config, clock=clock, **kw)  # type: ignore[arg-type]
    await core.start()
    assert core.keeper is not None
    await asyncio.wait_for(core.keeper.first_round.wait(), GUARD)
    return core


async def shut(core: Paperpost) -> None:
    await core.stop()
    await core.aclose()


async def healthz(core: Paperpost) -> dict[str, object]:
    runner = await serve(build_app(core), host="127.0.0.1", port=0)
    host, port = runner.addresses[0][:2]
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            return dict((await client.get("/healthz")).json())
    finally:
        await runner.cleanup()


async def test_a_fresh_online_start_backfills_and_answers_top_with_the_latest_day(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(NOW)
    with FakeHFServer(recent_weeks(NOW.date())) as hf:
        config = Config(data_dir=tmp_path, hf_endpoint=hf.url, backfill_days=30)
        opened = await Paperpost.open(config, clock=clock)
        assert opened.health().papers == 0  # online, the snapshot does not seed the store
        for n in range(5):  # channels do not add requests
            await opened.handle(ChannelKey("console", "w", f"c{n}"), "subscribe agents")
        await opened.aclose()

        caplog.set_level("INFO", logger="paperpost.bot.papers.keeper")
        core = await started(config, clock)
        try:
            top = await core.handle(CONSOLE_CHANNEL, "top")
            assert top.text == f"Most upvoted papers of {LATEST:%a %d %b %Y}" and top.papers
            health = core.health()
            assert (health.latest_day, health.papers_from) == (LATEST, "huggingface")
            assert (await healthz(core))["papers_from"] == "huggingface"
            window = featured_days_since(NOW.date(), 30)
            assert core.library.days() == window
            assert sorted(r.query["date"] for r in hf.requests) == [d.isoformat() for d in window]
            progress = [r for r in caplog.records if "backfill" in r.getMessage()]
            assert 2 <= len(progress) <= len(window) // 5 + 2  # one line per few days

            # The next day completes at Thursday 00:00 UTC: the keeper fetches it.
            hf.requests.clear()
            clock.now = datetime(2026, 11, 19, 0, 1, tzinfo=UTC)
            hf.days = recent_weeks(clock.now.date())  # Wednesday is published
            assert core.keeper is not None
            await core.keeper.tick()
            assert core.library.latest_day() == date(2026, 11, 18)
            # ... and the upvotes of recent days, once per UTC day, whatever the channels.
            await core.keeper.tick()
            assert sorted(r.query["date"] for r in hf.requests) == [
                "2026-11-16", "2026-11-17", "2026-11-18",
            ]  # fmt: skip
        finally:
            await shut(core)


async def test_a_day_published_late_is_fetched_once_it_appears(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    served = recent_weeks(NOW.date())
    late = served.pop(LATEST.isoformat())
    with FakeHFServer(served) as hf:
        core = await started(Config(data_dir=tmp_path, hf_endpoint=hf.url, backfill_days=7), clock)
        try:
            assert core.library.latest_day() == date(2026, 11, 16)  # the backfill went on
            assert core.keeper is not None
            hf.set_day(LATEST, late)
            clock.now += timedelta(minutes=11)  # the retry interval of an empty day
            await core.keeper.tick()
            assert core.library.latest_day() == LATEST
        finally:
            await shut(core)


async def test_one_keeper_per_data_folder(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with FakeHFServer(recent_weeks(NOW.date())) as hf:
        config = Config(data_dir=tmp_path, hf_endpoint=hf.url, backfill_days=14)
        first = await started(config, clock)
        second = await started(config, clock)
        try:
            assert second.keeper is not None
            await second.keeper.tick()
            days = [r.query["date"] for r in hf.requests]
            assert len(days) == len(set(days)) == len(featured_days_since(NOW.date(), 14))
            assert second.library.latest_day() == LATEST  # it sees what the keeper stored
        finally:
            await shut(second)
            await shut(first)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_unreachable_at_first_start_serves_the_snapshot_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = HuggingFaceSource(endpoint=closed_port_url(), max_attempts=1)
    core = await started(Config(data_dir=tmp_path), FakeClock(NOW), source=source)
    try:
        health = core.health()
        assert (health.latest_day, health.papers_from) == (date(2026, 8, 21), "snapshot")
        assert (await healthz(core))["papers_from"] == "snapshot"
        settings = await core.handle(CONSOLE_CHANNEL, "settings")
        assert SNAPSHOT_NOTE in settings.text
        assert [r for r in caplog.records if "bundled snapshot" in r.getMessage()]
    finally:
        await shut(core)


async def test_the_snapshot_fill_finishes_after_a_kill_halfway(tmp_path: Path) -> None:
    snapshot = BundledSnapshot()
    with Store(tmp_path) as store:  # what a kill after 4 of 5 days leaves
        store.table("meta")[SNAPSHOT_FILL] = "started"
        store.commit("meta")
        library = PaperLibrary(store)
        for day in snapshot.days()[:-1]:
            library.add_day(day, await snapshot.fetch_day(day))
        library.close()
    core = await Paperpost.open(Config(data_dir=tmp_path), source=snapshot)
    try:
        assert core.library.days() == snapshot.days()
        assert core.health().papers_from == "snapshot"
    finally:
        await core.aclose()


def test_backfill_days_is_configured_and_checked() -> None:
    env = {"PAPERPOST_DATA_DIR": "/tmp/x"}
    assert Config.from_env(env).backfill_days == 30
    assert Config.from_env({**env, "PAPERPOST_BACKFILL_DAYS": "7"}).backfill_days == 7
    for bad in ("abc", "-1", "100000"):
        with pytest.raises(ConfigError, match=r"^PAPERPOST_BACKFILL_DAYS="):
            Config.from_env({**env, "PAPERPOST_BACKFILL_DAYS": bad})


async def test_the_keeper_indexes_days_other_processes_stored(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    with FakeHFServer(recent_weeks(NOW.date())) as hf:
        core = await started(Config(data_dir=tmp_path, hf_endpoint=hf.url, backfill_days=7), clock)
        try:
            snapshot = BundledSnapshot()
            papers = await snapshot.fetch_day(date(2026, 8, 21))
            with Store(tmp_path) as store:  # another process: not the index writer
                other = PaperLibrary(store)
                other.add_day(date(2026, 8, 21), papers)
                other.close()  # hands over; the writer has the lock, so the day stays marked
            assert core.search(papers[0].id, limit=1) == []
            assert core.keeper is not None
            await core.keeper.tick()
            assert [p.id for p in core.search(papers[0].id, limit=1)] == [papers[0].id]
        finally:
            await shut(core)
