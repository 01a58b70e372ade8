"""Connecting the platforms at start, as a service should.

A refused credential is a ``UserError`` naming its variable (exit 2, no retry).
A platform that cannot be reached (connection refused, DNS, timeout) is retried
with capped exponential backoff, one log line per attempt, while ``/healthz``
answers 503 with the reason. Each platform logs one line when it is ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

import aiohttp

from paperpost.bot.app import Paperpost
from paperpost.bot.config import Config
from paperpost.http_server import Readiness

if TYPE_CHECKING:
    from paperpost.adapters.slack.server import LateBolt

log = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_RETRY = 1.0  # seconds; doubled after each failed attempt
MAX_RETRY = 60.0
Sleep = Callable[[float], Awaitable[None]]

# What "cannot reach it" looks like: refused, reset, DNS (socket.gaierror), timeouts
# (TimeoutError is an OSError), and aiohttp's own connection errors.
UNREACHABLE = (OSError, aiohttp.ClientConnectionError, asyncio.TimeoutError)


class Runtime(Protocol):
    """A started platform connection (Slack, Discord): ``stop()`` ends it."""

    async def stop(self) -> None: ...


def describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:300]  # one line, bounded


async def with_backoff(
    name: str,
    attempt: Callable[[], Awaitable[T]],
    readiness: Readiness,
    *,
    sleep: Sleep = asyncio.sleep,
    first: float = FIRST_RETRY,
    cap: float = MAX_RETRY,
) -> T:
    """``attempt()`` until it stops failing to connect; other errors propagate."""
    delay = first
    attempts = 1
    while True:
        try:
            return await attempt()
        except UNREACHABLE as exc:
            reason = f"cannot reach it ({describe(exc)})"
            readiness.waiting(name, reason)
            log.warning(
                "%s: %s; attempt %d failed, retrying in %.0f s", name, reason, attempts, delay
            )
        await sleep(delay)
        delay = min(cap, delay * 2)
        attempts += 1


async def connect_slack(
    core: Paperpost, config: Config, late: LateBolt | None, readiness: Readiness
) -> Runtime:
    """``late``: the served ``/slack/events`` route that HTTP mode hands Bolt to."""
    from paperpost.adapters.slack import start_slack

    runtime = await with_backoff("slack", lambda: start_slack(core, config, late=late), readiness)
    mode = "Socket Mode" if runtime.mode == "socket" else "HTTP mode at /slack/events"
    if runtime.installs is not None:  # OAuth: many workspaces, each installed at /slack/install
        log.info(
            "Slack ready: OAuth installs at /slack/install, %d workspace(s) installed (%s)",
            runtime.installs,
            mode,
        )
    else:
        log.info(
            "Slack ready: workspace %s, bot user @%s (%s)",
            runtime.workspace,
            runtime.bot_user,
            mode,
        )
    readiness.ready("slack")
    return runtime


async def connect_discord(core: Paperpost, config: Config, readiness: Readiness) -> Runtime:
    from paperpost.adapters.discord import start_discord

    runtime = await with_backoff("discord", lambda: start_discord(core, config), readiness)
    readiness.waiting("discord", "logged in; waiting for the gateway")

    async def announce() -> None:
        try:  # until READY, or until the connection ends (shutdown, or logged as it ends)
            await runtime.wait_ready(timeout=None)
        except Exception:
            return
        guilds = len(runtime.client.guilds)
        log.info(
            "Discord ready: bot user %s, in %d server%s",
            runtime.client.user,
            guilds,
            "" if guilds == 1 else "s",
        )
        readiness.ready("discord")

    _announcing.add(task := asyncio.create_task(announce(), name="discord-ready"))
    task.add_done_callback(_announcing.discard)
    return runtime


_announcing: set[asyncio.Task[None]] = set()  # keeps the tasks referenced until done
