"""Starting and stopping the Slack side of Paperpost, for the composition root.

    runtime = await start_slack(core, config)   # paperpost run
    ...
    await runtime.stop()

    core.register_platform(slack_platform(config))   # paperpost digest (post only)

Socket Mode when ``SLACK_APP_TOKEN`` is set, else HTTP mode with
``SLACK_SIGNING_SECRET`` on ``PAPERPOST_HOST``:``PORT``. Everything runs on the
caller's asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack.changers import ChangerCheck
from paperpost.adapters.slack.client import CALL_ERRORS, Sleep, build_client, slack_error_code
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.adapters.slack.pacer import PostPacer
from paperpost.adapters.slack.server import EVENTS_PATH, MAX_BODY, add_slack_routes, serve
from paperpost.adapters.slack.slash_commands import SlashCommands
from paperpost.bot.config import Config
from paperpost.bot.errors import UserError
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)


@dataclass
class SlackRuntime:
    """A running Slack connection. ``url`` is where HTTP mode listens."""

    mode: Literal["socket", "http"]
    bolt: AsyncApp
    platform: SlackPlatform
    url: str | None = None
    web_app: web.Application | None = None
    _runner: web.AppRunner | None = field(default=None, repr=False)
    _socket: AsyncSocketModeHandler | None = field(default=None, repr=False)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _client(config: Config, sleep: Sleep) -> AsyncWebClient:
    if not config.slack_bot_token:
        raise UserError("Slack needs SLACK_BOT_TOKEN (the app's xoxb- bot token)")
    return build_client(config.slack_bot_token, base_url=config.slack_api_url, sleep=sleep)


def _pacer(config: Config, sleep: Sleep) -> PostPacer:
    return PostPacer(config.slack_posts_per_second, sleep=sleep)


def slack_platform(config: Config, *, sleep: Sleep = asyncio.sleep) -> SlackPlatform:
    """Digest posting only, no slash commands: for ``paperpost digest``."""
    return SlackPlatform(_client(config, sleep), sleep=sleep, pacer=_pacer(config, sleep))


async def _check_token(client: AsyncWebClient) -> None:
    try:
        await client.auth_test()
    except CALL_ERRORS as exc:
        code = slack_error_code(exc)
        if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked"):
            raise UserError(f"Slack refused SLACK_BOT_TOKEN: {code}") from exc
        raise


async def start_slack(
    core: Core,
    config: Config,
    *,
    web_app: web.Application | None = None,
    sleep: Sleep = asyncio.sleep,
) -> SlackRuntime:
    """Connect to Slack and answer ``/papers``; registers the platform with ``core``.

    HTTP mode serves ``web_app`` (a fresh one when ``None``) with
    ``/slack/events`` added: add your own routes to it *before* calling.
    """
    client = _client(config, sleep)
    if not config.slack_app_token and not config.slack_signing_secret:
        raise UserError(
            "Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"
        )
    await _check_token(client)
    bolt = AsyncApp(client=client, signing_secret=config.slack_signing_secret or "")
    changers = ChangerCheck(config.slack_changers, client)
    SlashCommands(core, client, changers=changers).register(bolt)
    platform = SlackPlatform(client, sleep=sleep, pacer=_pacer(config, sleep))
    core.register_platform(platform)

    if config.slack_app_token:
        handler = AsyncSocketModeHandler(bolt, app_token=config.slack_app_token)
        await handler.connect_async()
        log.info("Slack: connected in Socket Mode")
        return SlackRuntime("socket", bolt, platform, _socket=handler)

    if web_app is None:
        web_app = web.Application(client_max_size=MAX_BODY)
    add_slack_routes(web_app, bolt)
    runner = await serve(web_app, host=config.host, port=config.port)
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}{EVENTS_PATH}"
    log.info("Slack: HTTP mode, listening on %s", url)
    return SlackRuntime("http", bolt, platform, url=url, web_app=web_app, _runner=runner)
