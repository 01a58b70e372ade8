"""Exactly once across processes: ``paperpost digest`` processes racing each other,
and one racing a live core, on one data folder and 40 channels of a loopback fake
Slack. Every digest part is accepted once, none is missing, everyone exits 0.

The subprocess driving comes from benchmarks/crash_kill.py (its fake Slack in a
thread, its Runner, its count of duplicates and misses).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from paperpost.adapters.slack.client import build_client
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.config import Config
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.conftest import FakeClock, no_sleep
from tests.fakes.slack_api import BOT_TOKEN
from tests.scale import rounds

ROOT = Path(__file__).resolve().parent.parent
POST_LATENCY = (0.001, 0.004)


def _load_crash_kill() -> Any:
    spec = importlib.util.spec_from_file_location(
        "crash_kill", ROOT / "benchmarks" / "crash_kill.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_kill", module)
    spec.loader.exec_module(module)
    return module


crash_kill = _load_crash_kill()
DIGEST = ("digest", "--date", crash_kill.DAY.isoformat(), "--offline")


def _channels(rng: random.Random) -> dict[ChannelKey, ChannelSettings]:
    """40 channels, half in threads mode; at most 3 messages each, so Slack's
    one-post-a-second per channel (after a burst of 3) never slows the race."""
    return {
        ChannelKey("slack", crash_kill.TEAM, f"C{i}"): ChannelSettings(
            top_n=rng.choice((1, 2)) if i % 2 else rng.choice((1, 3, 5)), threads=i % 2 == 1
        )
        for i in range(40)
    }


def _prepare(tmp: Path, fake: Any, rng: random.Random) -> tuple[Any, dict[str, int]]:
    settings = _channels(rng)
    expected = crash_kill.expected_parts(settings, crash_kill.DAY)
    logs = tmp / "logs"
    logs.mkdir()
    runner = crash_kill.Runner(tmp / "data", fake.api.url, logs)
    runner.env["SLACK_POSTS_PER_SECOND"] = "1000"  # the workspace allowance is not under test
    export = tmp / "channels.json"
    channels = {str(k): s.to_json() for k, s in settings.items()}
    export.write_text(json.dumps({"version": 1, "channels": channels}))
    code, out = runner.run("channels", "import", str(export))
    assert code == 0, out
    # The store and its search index filled before the race: processes racing to
    # build one index is issue 10's "one writer for the index", not this test's subject.
    code, out = runner.run(*DIGEST, "--dry-run")
    assert code == 0, out
    return runner, expected


def _check(fake: Any, expected: dict[str, int], exits: list[int], logs: str) -> None:
    result = crash_kill.RoundResult()
    crash_kill._count(result, fake.posts(), expected)
    assert result.duplicates == [], logs
    assert result.missing_parts == [] and result.missing_channels == [], logs
    assert result.misthreaded == [], logs
    assert exits == [0] * len(exits), logs
    assert result.posts == sum(expected.values())


def test_two_digest_processes_post_each_digest_once() -> None:
    rng = random.Random(11)
    for _round in range(rounds(small=1, full=10)):
        with (
            tempfile.TemporaryDirectory(
                prefix="paperpost-race-", ignore_cleanup_errors=True
            ) as tmp,
            crash_kill.FakeSlackThread(
                post_latency=POST_LATENCY, rng=random.Random(rng.random())
            ) as fake,
        ):
            runner, expected = _prepare(Path(tmp), fake, rng)
            procs = [runner.spawn(*DIGEST) for _ in range(2)]
            exits = [proc.wait(crash_kill.RUN_TIMEOUT) for proc, _log in procs]
            logs = "\n".join(log.read_text("utf-8", "replace")[-3000:] for _p, log in procs)
            _check(fake, expected, exits, logs)


async def test_digest_process_racing_a_live_core_posts_each_digest_once() -> None:
    """The README's Docker set-up: ``run`` catching up at its post time while cron's
    ``digest`` posts the same day. The core plans each channel's scheduled digest
    (first digest: Friday the 21st, due Monday 09:00 UTC); cron names the day."""
    rng = random.Random(23)
    for _round in range(rounds(small=1, full=10)):
        with (
            tempfile.TemporaryDirectory(
                prefix="paperpost-race-", ignore_cleanup_errors=True
            ) as tmp,
            crash_kill.FakeSlackThread(
                post_latency=POST_LATENCY, rng=random.Random(rng.random())
            ) as fake,
        ):
            runner, expected = await asyncio.to_thread(_prepare, Path(tmp), fake, rng)
            clock = FakeClock()  # Monday 2026-08-24 09:00 UTC
            core = await Paperpost.open(
                Config(data_dir=Path(tmp) / "data"),
                source=BundledSnapshot(),
                clock=clock,
                outbox_sleep=no_sleep,
            )
            client = build_client(BOT_TOKEN, base_url=fake.api.url, sleep=no_sleep)
            core.register_platform(SlackPlatform(client, sleep=no_sleep))
            proc, log = runner.spawn(*DIGEST)
            try:
                await core.catch_up()
                await core.catch_up()  # and the sweep after it
                code = await asyncio.to_thread(proc.wait, crash_kill.RUN_TIMEOUT)
            finally:
                core.close()
            _check(fake, expected, [code], log.read_text("utf-8", "replace")[-3000:])
