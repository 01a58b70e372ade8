"""``paperpost demo``: the whole loop, offline, on the bundled snapshot.

It runs in a throw-away folder, through the same core and console adapter as
``paperpost console``: the latest day's top papers, a subscription, its preview,
the digest it posts, and a search.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from paperpost.adapters.console import ConsolePlatform, render_reply
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.bot.channels.plain_text import day_text
from paperpost.bot.config import Config
from paperpost.bot.papers.snapshot import BundledSnapshot

SCRIPT = (
    "/papers subscribe agent OR agents",
    "/papers set top 3",
    "/papers preview",
)
EXAMPLE_SEARCH = '/papers search "reinforcement learning" upvotes:>=10'


async def _demo(data_dir: Path) -> None:
    snapshot = BundledSnapshot()
    core = await Paperpost.open(Config(data_dir=data_dir), source=snapshot)
    core.register_platform(ConsolePlatform())
    try:
        health = core.health()
        latest = health.latest_day
        assert latest is not None, "the bundled snapshot is empty"
        days = snapshot.days()
        print(
            f"Paperpost demo: {health.papers} real papers from the bundled "
            f"snapshot ({day_text(days[0])} to {day_text(days[-1])}), no network, no tokens.\n"
        )
        print(f"== Top papers of {day_text(latest)} ==")
        print(render_reply(await core.handle(CONSOLE_CHANNEL, "/papers top", user="you")))
        for line in SCRIPT:
            print(f"\n> {line}")
            print(render_reply(await core.handle(CONSOLE_CHANNEL, line, user="you")))
        print(f"\n> paperpost digest --channel {CONSOLE_CHANNEL} --date {latest}")
        await core.post_digests(day=latest, channel=CONSOLE_CHANNEL)
        print(f"\n> {EXAMPLE_SEARCH}")
        print(render_reply(await core.handle(CONSOLE_CHANNEL, EXAMPLE_SEARCH, user="you")))
        print(
            "\nNext: 'paperpost console' for the console on stdin, or set SLACK_BOT_TOKEN / "
            "DISCORD_BOT_TOKEN and 'paperpost run' to serve a team (see README.md)."
        )
    finally:
        await core.aclose()


def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="paperpost-demo-") as data_dir:
        asyncio.run(_demo(Path(data_dir)))
    return 0
