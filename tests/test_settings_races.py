"""Two processes (or replicas) changing one channel at once: neither change is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.papers.snapshot import BundledSnapshot

pytestmark = pytest.mark.usefixtures("database_url")

CHANNEL = ChannelKey("slack", "T1", "C1")


async def test_concurrent_subscribes_from_two_cores_keep_every_one(
    tmp_path: Path, database_url: str | None
) -> None:
    # Defect caught: a command reading, changing and saving the settings without a
    # lock across processes: two subscribes at once, one of them silently lost.
    folders = ("a", "a") if database_url is None else ("a", "b")  # one folder, or replicas
    cores = [
        await Paperpost.open(Config(data_dir=tmp_path / f, database_url=database_url),
                             source=BundledSnapshot())
        for f in folders
    ]  # fmt: skip
    try:
        a, b = cores
        for n in range(8):
            await asyncio.gather(a.handle(CHANNEL, f"subscribe alpha{n}"),
                                 b.handle(CHANNEL, f"subscribe beta{n}"))  # fmt: skip
        saved = set(a.channels.get(CHANNEL).subscriptions)
    finally:
        for core in cores:
            core.close()
    assert saved == {f"alpha{n}" for n in range(8)} | {f"beta{n}" for n in range(8)}
