"""``paperpost run`` and ``paperpost digest``: the core wired to the configured adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Collection, Sequence
from datetime import UTC, date
from typing import TYPE_CHECKING, TextIO

from aiohttp import web

from paperpost.adapters.console import ConsolePlatform, render_digest, serve_console
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.plain_text import plural
from paperpost.bot.config import Config
from paperpost.bot.delivery.outbox import Delivery
from paperpost.bot.errors import PaperpostError, UserError
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.bot.ports import Platform
from paperpost.http_server import Readiness, build_app, serve
from paperpost.startup import Runtime, connect_discord, connect_slack

if TYPE_CHECKING:
    from paperpost.adapters.slack.server import LateBolt

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 8.0  # from SIGTERM to the store closed
SCHEDULER_STOP_SECONDS = 1.0  # kept back from that for stopping the scheduler


NO_PLATFORM = (
    "no platform token is set: set SLACK_BOT_TOKEN (with SLACK_APP_TOKEN or "
    "SLACK_SIGNING_SECRET) and/or DISCORD_BOT_TOKEN; 'paperpost console' serves stdin instead"
)  # (Slack OAuth installs, SLACK_CLIENT_ID…, also count as a platform: see the README)


async def open_core(config: Config, *, offline: bool, fill_empty: bool | None = None) -> Paperpost:
    source = BundledSnapshot() if offline else None
    return await Paperpost.open(config, source=source, fill_empty=fill_empty)


def slack_serves_http(config: Config) -> bool:
    """Slack without an app token runs in HTTP mode, on the web app's own port."""
    return config.slack_enabled and not config.slack_app_token


async def run_service(config: Config, *, offline: bool) -> int:
    """Serve Slack and/or Discord with the scheduler until SIGTERM/SIGINT.

    The HTTP server comes up first, so ``/healthz`` says "starting" (503) while
    a platform is still being reached; a refused token ends the start with a
    ``UserError`` naming its variable.
    """
    if not (config.slack_enabled or config.discord_enabled):
        raise UserError(NO_PLATFORM)
    callers = asyncio.all_tasks()  # whoever runs the service: not its work to wait for
    terminated = _termination_signal()
    core = await open_core(config, offline=offline)
    readiness = Readiness()
    web_app = build_app(core, readiness, replica=config.replica)
    late = None
    if slack_serves_http(config):
        from paperpost.adapters.slack import add_late_slack_routes

        late = add_late_slack_routes(web_app)
    runtimes: list[Runtime] = []
    runner: web.AppRunner | None = None
    stopping = asyncio.create_task(terminated.wait())
    try:
        runner = await _listen(web_app, config)
        connecting = asyncio.create_task(_connect(core, config, late, readiness, runtimes))
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not connecting.done():  # terminated while still trying to connect
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
        else:
            connecting.result()  # a refused token raises here
            await core.start()
            _log_schedule(core)
            await stopping
    finally:
        stopping.cancel()  # not work for shut_down to wait for
        await shut_down(core, runtimes, runner, spare=callers)
    return 0


async def _listen(web_app: web.Application, config: Config) -> web.AppRunner:
    try:
        runner = await serve(web_app, host=config.host, port=config.port)
    except OSError as exc:
        raise PaperpostError(
            f"cannot listen on {config.host}:{config.port} (PAPERPOST_HOST, PORT): "
            f"{exc.strerror or exc}"
        ) from None
    host, port = runner.addresses[0][:2]
    log.info("HTTP ready: listening on http://%s:%s (/healthz, /metrics)", host, port)
    return runner


async def _connect(
    core: Paperpost,
    config: Config,
    late: LateBolt | None,
    readiness: Readiness,
    runtimes: list[Runtime],
) -> None:
    """Connect every configured platform, appending each to ``runtimes`` once up."""
    if config.slack_enabled:
        readiness.waiting("slack", "connecting")
    if config.discord_enabled:
        readiness.waiting("discord", "connecting")
    if config.slack_enabled:
        runtimes.append(await connect_slack(core, config, late, readiness))
    if config.discord_enabled:
        runtimes.append(await connect_discord(core, config, readiness))


def _log_schedule(core: Paperpost) -> None:
    scheduled = core.health().scheduled_channels
    upcoming = core.next_digest()
    if upcoming is None:
        log.info(
            "Schedule ready: %d channel(s) scheduled; no digest due "
            "('/papers subscribe' in a channel schedules its digest)",
            scheduled,
        )
        return
    when, channel = upcoming
    log.info(
        "Schedule ready: %d channel(s) scheduled; next digest %s to %s",
        scheduled,
        when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        channel,
    )


async def run_console(config: Config, *, offline: bool, stdin: TextIO | None = None) -> int:
    """The console channel on stdin, with the scheduler, until end of input."""
    callers = asyncio.all_tasks()
    # A try-out: an empty store starts on the snapshot (the keeper brings live days).
    core = await open_core(config, offline=offline, fill_empty=True)
    try:
        core.register_platform(ConsolePlatform())
        await core.start()
        await serve_console(core, stdin=stdin)
    finally:
        await shut_down(core, [], None, spare=callers)
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


def _termination_signal() -> asyncio.Event:
    """Set on SIGINT or SIGTERM (from the very start: a platform may never connect)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def posting_platforms(config: Config, core: Paperpost | None = None) -> list[Platform]:
    """Platforms that post without serving slash commands (cron mode). ``core``: whose
    store holds the Slack workspaces installed through OAuth."""
    platforms: list[Platform] = [ConsolePlatform()]
    if config.slack_enabled:
        from paperpost.adapters.slack import slack_platform

        platforms.append(slack_platform(config, core=core))
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
    try:
        platforms = await posting_platforms(config, core)
    except UserError:
        core.close()
        raise
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
