"""``paperpost run`` and ``paperpost digest``: the core wired to the configured adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any, TextIO

from aiohttp import web

from paperpost.adapters.console import ConsolePlatform, render_digest, serve_console
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.plain_text import plural
from paperpost.bot.config import Config
from paperpost.bot.delivery.outbox import Delivery
from paperpost.bot.errors import UserError
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.http_server import build_app, serve

log = logging.getLogger(__name__)


async def open_core(config: Config, *, offline: bool) -> Paperpost:
    return await Paperpost.open(config, source=BundledSnapshot() if offline else None)


async def start_platforms(core: Paperpost, config: Config, web_app: web.Application) -> list[Any]:
    """Start every platform that has a token; each returns a runtime with ``stop()``.

    Slack's HTTP mode serves ``web_app`` (with /healthz and /metrics) itself.
    """
    runtimes: list[Any] = []
    if config.slack_enabled:
        from paperpost.adapters.slack import start_slack

        runtimes.append(await start_slack(core, config, web_app=web_app))
    if config.discord_enabled:
        from paperpost.adapters.discord import start_discord

        runtimes.append(await start_discord(core, config))
    return runtimes


async def run_service(config: Config, *, offline: bool, stdin: TextIO | None = None) -> int:
    core = await open_core(config, offline=offline)
    web_app = build_app(core)
    runtimes: list[Any] = []
    runner: web.AppRunner | None = None
    try:
        runtimes = await start_platforms(core, config, web_app)
        if not runtimes:
            # No platform configured: the console is the channel, stdin the user.
            core.register_platform(ConsolePlatform())
            await core.start()
            await serve_console(core, stdin=stdin)
        else:
            if not any(getattr(r, "mode", None) == "http" for r in runtimes):
                runner = await serve(web_app, host=config.host, port=config.port)
            log.info("Paperpost is running", extra={"host": config.host, "port": config.port})
            await core.start()
            await _until_terminated()
    finally:
        for runtime in runtimes:
            await runtime.stop()
        if runner is not None:
            await runner.cleanup()
        await core.stop()
        core.close()
    return 0


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def posting_platforms(config: Config) -> list[Any]:
    """Platforms that post without serving slash commands (cron mode)."""
    platforms: list[Any] = [ConsolePlatform()]
    if config.slack_enabled:
        from paperpost.adapters.slack import slack_platform

        platforms.append(slack_platform(config))
    if config.discord_enabled:
        from paperpost.adapters.discord import open_discord_platform

        platforms.append(await open_discord_platform(config))
    return platforms


async def post_digests_now(
    config: Config,
    *,
    offline: bool,
    day: date | None,
    channel: ChannelKey | None,
    dry_run: bool,
    out: TextIO | None = None,
) -> Sequence[Delivery]:
    core = await open_core(config, offline=offline)
    try:
        known_channel(core, channel)
    except UserError:
        core.close()
        raise
    platforms = await posting_platforms(config)
    try:
        for platform in platforms:
            core.register_platform(platform)
        deliveries = await core.post_digests(day=day, channel=channel, dry_run=dry_run)
    finally:
        for platform in platforms:
            if hasattr(platform, "aclose"):
                await platform.aclose()
        core.close()
    for d in deliveries:
        detail = f" ({d.detail})" if d.detail else ""
        papers = f" {plural(d.papers, 'paper')}" if d.papers else ""
        outcome = d.outcome.value
        if d.digest is not None and d.digest.entries:  # a dry run: show what would go out
            outcome = "would send"
            print(f"would send to {d.channel}:\n{render_digest(d.digest)}", file=sys.stdout)
        print(f"{d.channel} {d.day}: {outcome}{papers}{detail}", file=out or sys.stderr)
    return deliveries


def known_channel(core: Paperpost, channel: ChannelKey | None) -> None:
    """``digest --channel`` names a channel Paperpost has seen, or exit 2 naming those."""
    if channel is None:
        return
    known = [str(key) for key, _ in core.channel_list()]
    if str(channel) not in known:
        names = ", ".join(known[:20]) + (" …" if len(known) > 20 else "") or "none yet"
        raise UserError(f"no channel {channel}: known channels are {names}")
