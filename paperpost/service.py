"""``paperpost run`` and ``paperpost digest``: the core wired to the configured adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Collection, Sequence
from datetime import date
from typing import Protocol, TextIO

from aiohttp import web

from paperpost.adapters.console import ConsolePlatform, serve_console
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery.outbox import Delivery
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.bot.ports import Platform
from paperpost.http_server import build_app, serve

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 8.0  # from SIGTERM to the store closed
SCHEDULER_STOP_SECONDS = 1.0  # kept back from that for stopping the scheduler


class Runtime(Protocol):
    """A started platform connection (Slack, Discord): ``stop()`` ends it."""

    async def stop(self) -> None: ...


async def open_core(config: Config, *, offline: bool) -> Paperpost:
    return await Paperpost.open(config, source=BundledSnapshot() if offline else None)


async def start_platforms(
    core: Paperpost, config: Config, web_app: web.Application
) -> list[Runtime]:
    """Start every platform that has a token; each returns a runtime with ``stop()``.

    Slack's HTTP mode serves ``web_app`` (with /healthz and /metrics) itself.
    """
    runtimes: list[Runtime] = []
    if config.slack_enabled:
        from paperpost.adapters.slack import start_slack

        runtimes.append(await start_slack(core, config, web_app=web_app))
    if config.discord_enabled:
        from paperpost.adapters.discord import start_discord

        runtimes.append(await start_discord(core, config))
    return runtimes


def slack_serves_http(config: Config) -> bool:
    """Slack without an app token runs in HTTP mode, on the web app's own port."""
    return config.slack_enabled and not config.slack_app_token


async def run_service(config: Config, *, offline: bool, stdin: TextIO | None = None) -> int:
    callers = asyncio.all_tasks()  # whoever runs the service: not its work to wait for
    core = await open_core(config, offline=offline)
    web_app = build_app(core)
    runtimes: list[Runtime] = []
    runner: web.AppRunner | None = None
    try:
        runtimes = await start_platforms(core, config, web_app)
        if not runtimes:
            # No platform configured: the console is the channel, stdin the user.
            core.register_platform(ConsolePlatform())
            await core.start()
            await serve_console(core, stdin=stdin)
        else:
            if not slack_serves_http(config):
                runner = await serve(web_app, host=config.host, port=config.port)
            log.info("Paperpost is running", extra={"host": config.host, "port": config.port})
            await core.start()
            await _until_terminated()
    finally:
        await shut_down(core, runtimes, runner, spare=callers)
    return 0


async def shut_down(
    core: Paperpost,
    runtimes: Sequence[Runtime],
    runner: web.AppRunner | None,
    *,
    seconds: float = SHUTDOWN_SECONDS,
    spare: Collection[asyncio.Task[object]] = (),
) -> None:
    """Stop taking commands; let acknowledged commands finish and deliveries end
    the part they are posting, within ``seconds``; then close the store.

    Every task on the loop but ``spare`` (the callers: they are waiting for
    this) is the service's work. Work still running at the deadline is
    cancelled: a digest cut off there is left "posting" in the ledger, and the
    next start reconciles it with the platform's history, as after a crash.
    The store is closed last, so no command that was acknowledged loses its
    write to a closed store.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    work_until = deadline - SCHEDULER_STOP_SECONDS
    spare = {*spare, *filter(None, [asyncio.current_task()])}
    for runtime in runtimes:  # no new commands from here on
        await _within(runtime.stop(), work_until, "stopping a platform")
    if runner is not None:
        await _within(runner.cleanup(), work_until, "stopping HTTP")
    stopped = await _within(core.stop(), work_until, "delivering")
    await _finish_other_tasks(work_until, spare=spare)
    if not stopped:  # its deliveries are cancelled now: this time it stops the scheduler
        await _within(core.stop(), deadline, "stopping the scheduler")
    core.close()


async def _within(step: Awaitable[None], deadline: float, what: str) -> bool:
    """Await ``step`` until ``deadline`` (loop time); False when it was cut off."""
    try:
        await asyncio.wait_for(step, max(0.0, deadline - asyncio.get_running_loop().time()))
        return True
    except TimeoutError:
        log.warning("shutdown: %s took too long; cut off (the next start resumes it)", what)
        return False


async def _finish_other_tasks(deadline: float, *, spare: Collection[object]) -> None:
    """Wait for the loop's tasks but ``spare`` (commands acknowledged, their
    replies) until ``deadline``; cancel what is left."""
    loop = asyncio.get_running_loop()
    others = asyncio.all_tasks() - set(spare)
    if not others:
        return
    _, pending = await asyncio.wait(others, timeout=max(0.0, deadline - loop.time()))
    for task in pending:
        log.warning("shutdown: cancelling %s, still running at the deadline", task.get_name())
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=SCHEDULER_STOP_SECONDS)


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def posting_platforms(config: Config) -> list[Platform]:
    """Platforms that post without serving slash commands (cron mode)."""
    platforms: list[Platform] = [ConsolePlatform()]
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
    platforms = await posting_platforms(config)
    try:
        for platform in platforms:
            core.register_platform(platform)
        deliveries = await core.post_digests(day=day, channel=channel, dry_run=dry_run)
    finally:
        for platform in platforms:
            await platform.aclose()
        core.close()
    for d in deliveries:
        detail = f" ({d.detail})" if d.detail else ""
        papers = f" {d.papers} paper(s)" if d.papers else ""
        print(f"{d.channel} {d.day}: {d.outcome.value}{papers}{detail}", file=out or sys.stderr)
    return deliveries
