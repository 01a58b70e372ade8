"""Stopping Paperpost ends a delivery after the part in flight: the rest of the
digest is left "posting" and the next start posts only what is missing."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.bot.config import Config
from paperpost.bot.delivery.digest import Digest
from paperpost.bot.delivery.ledger import DeliveryState
from paperpost.bot.delivery.outbox import Outcome
from paperpost.bot.delivery.planner import RESUME_WINDOW
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.bot.ports import PartGuard, no_guard
from tests.conftest import FakeClock, no_sleep

DAY = date(2026, 8, 21)
PARTS = 3


class ThreePartPlatform:
    """Posts a digest in three parts; the first part's post waits for the test."""

    name = "console"

    def __init__(self) -> None:
        self.parts: list[tuple[str, int]] = []
        self.first_part_started = asyncio.Event()
        self.release_first_part = asyncio.Event()
        self.resumed: list[bool] = []

    async def post_digest(
        self, digest: Digest, *, resume: bool, before_part: PartGuard = no_guard
    ) -> None:
        self.resumed.append(resume)
        done = {n for marker, n in self.parts if marker == digest.marker} if resume else set()
        for n in range(PARTS):
            if n in done:
                continue
            await before_part()
            if n == 0 and not self.release_first_part.is_set():
                self.first_part_started.set()
                await self.release_first_part.wait()
            self.parts.append((digest.marker, n))

    async def aclose(self) -> None:
        """Nothing to release."""


async def open_core(folder: Path, clock: FakeClock, platform: ThreePartPlatform) -> Paperpost:
    core = await Paperpost.open(
        Config(data_dir=folder), source=BundledSnapshot(), clock=clock, outbox_sleep=no_sleep
    )
    core.register_platform(platform)
    return core


async def test_stop_finishes_the_part_in_flight_and_the_next_start_posts_the_rest(
    tmp_path: Path,
) -> None:
    clock = FakeClock(datetime(2026, 8, 24, 9, 0, tzinfo=UTC))
    platform = ThreePartPlatform()
    core = await open_core(tmp_path, clock, platform)
    delivering = asyncio.create_task(core.post_digests(day=DAY, channel=CONSOLE_CHANNEL))
    await platform.first_part_started.wait()
    stopping = asyncio.create_task(core.stop())
    await asyncio.sleep(0)
    platform.release_first_part.set()
    (delivery,) = await delivering
    await stopping

    assert delivery.outcome is Outcome.INTERRUPTED
    assert [n for _, n in platform.parts] == [0]  # the part in flight, nothing after it
    entry = core.ledger.get(CONSOLE_CHANNEL, DAY)
    assert entry is not None and entry.state is DeliveryState.POSTING
    core.close()

    core = await open_core(tmp_path, clock, platform)
    try:
        await core.catch_up()
    finally:
        core.close()
    assert sorted(n for _, n in platform.parts) == [0, 1, 2]  # each part exactly once
    assert platform.resumed[-1] is True


async def interrupted_digest(folder: Path, clock: FakeClock, platform: ThreePartPlatform) -> None:
    core = await open_core(folder, clock, platform)
    delivering = asyncio.create_task(core.post_digests(day=DAY, channel=CONSOLE_CHANNEL))
    await platform.first_part_started.wait()
    stopping = asyncio.create_task(core.stop())
    await asyncio.sleep(0)
    platform.release_first_part.set()
    await delivering
    await stopping
    core.close()


@pytest.mark.parametrize(
    ("restart_at", "resumed"),
    [
        (datetime(2026, 8, 24, 23, 59, tzinfo=UTC), True),  # 3 days after DAY: inside the window
        (datetime(2026, 8, 25, 0, 0, tzinfo=UTC), False),  # 4 days: left alone
    ],
)
async def test_an_interrupted_digest_is_resumed_only_within_the_resume_window(
    tmp_path: Path, restart_at: datetime, resumed: bool
) -> None:
    assert timedelta(days=3) == RESUME_WINDOW
    clock = FakeClock(datetime(2026, 8, 24, 9, 0, tzinfo=UTC))
    platform = ThreePartPlatform()
    await interrupted_digest(tmp_path, clock, platform)
    assert [n for _, n in platform.parts] == [0]

    clock.now = restart_at
    core = await open_core(tmp_path, clock, platform)
    try:
        await core.catch_up()
    finally:
        core.close()
    expected = [0, 1, 2] if resumed else [0]
    assert sorted(n for _, n in platform.parts) == expected
