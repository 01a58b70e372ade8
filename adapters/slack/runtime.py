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
from typing import Any, Literal

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack.buttons import SlackButtons
from paperpost.adapters.slack.changers import ChangerCheck
from paperpost.adapters.slack.channel_events import ChannelEvents
from paperpost.adapters.slack.client import CALL_ERRORS, Sleep, build_client, slack_error_code
from paperpost.adapters.slack.delivery import SlackPlatform
from paperpost.adapters.slack.link_cards import LinkCards
from paperpost.adapters.slack.oauth import TeamClients, Uninstalls, oauth_app, store_installations
from paperpost.adapters.slack.pacer import PostPacer, SharedSlot
from paperpost.adapters.slack.server import (
    EVENTS_PATH,
    MAX_BODY,
    LateBolt,
    add_slack_routes,
    serve,
)
from paperpost.adapters.slack.slash_commands import SlashCommands
from paperpost.bot.config import Config
from paperpost.bot.errors import UserError
from paperpost.bot.feedback.presses import Presses
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)


class _SkipTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client,
    then warns that it will not use it: true, expected, and noise at every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_SkipTokenWarning())


@dataclass
class SlackRuntime:
    """A running Slack connection. ``url`` is where HTTP mode listens."""

    mode: Literal["socket", "http"]
    bolt: AsyncApp
    platform: SlackPlatform
    url: str | None = None
    workspace: str = ""  # auth.test's team name, for the "ready" log line
    bot_user: str = ""
    web_app: web.Application | None = None
    buttons: SlackButtons | None = None  # 👍/🔖: its ``edits`` coalesce message updates
    installs: int | None = None  # OAuth mode: the workspaces installed so far
    _runner: web.AppRunner | None = field(default=None, repr=False)
    _socket: AsyncSocketModeHandler | None = field(default=None, repr=False)
    _commands: SlashCommands | None = field(default=None, repr=False)

    async def stop(self) -> None:
        if self.buttons is not None:
            await self.buttons.stop()  # pending count edits: the votes are stored already
        if self._commands is not None:
            await self._commands.aclose()
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


def _pacer(config: Config, sleep: Sleep, core: Core | None = None) -> PostPacer:
    shared = shared_allowance(core, "workspace") if core is not None else None
    return PostPacer(config.slack_posts_per_second, sleep=sleep, shared=shared)


def shared_allowance(core: Core, team: str) -> SharedSlot:
    """The workspace's posting slots, booked in the store: every process posting to
    it (replicas, a cron ``digest``) shares SLACK_POSTS_PER_SECOND instead of each
    taking all of it. Off the event loop: the booking is a database transaction."""

    async def book(interval: float, burst: float) -> float:
        name = f"slack:{team}"
        return await asyncio.to_thread(core.allowances.book, name, interval=interval, burst=burst)

    return book


def slack_platform(
    config: Config,
    *,
    sleep: Sleep = asyncio.sleep,
    presses: Presses | None = None,
    core: Core | None = None,
) -> SlackPlatform:
    """Digest posting only, no slash commands: for ``paperpost digest`` (``presses``:
    the core's, so the parts' buttons and reactions are known to ``paperpost run``).
    With OAuth installs each team's token comes from ``core``'s store."""
    if config.slack_oauth is not None and core is not None:
        return _oauth_platform(core, config, sleep)
    client, pacer = _client(config, sleep), _pacer(config, sleep, core)
    return SlackPlatform(client, sleep=sleep, pacer=pacer, presses=presses)


def _oauth_platform(
    core: Core, config: Config, sleep: Sleep, clients: TeamClients | None = None
) -> SlackPlatform:
    """Each team's digests with its own token, paced by its allowance shared in the store."""
    if clients is None:
        installations = store_installations(core, config)
        clients = TeamClients(installations, base_url=config.slack_api_url, sleep=sleep)
    return SlackPlatform(
        None, sleep=sleep, pacer=_pacer(config, sleep), presses=core.presses,
        team_clients=clients, shared_for=lambda team: shared_allowance(core, team),
    )  # fmt: skip


AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})


async def _check_token(client: AsyncWebClient) -> dict[str, Any]:
    """auth.test's answer (team, user); a refused token is a ``UserError`` naming it.
    Connection errors propagate as they are: the caller retries those."""
    try:
        answer = await client.auth_test()
    except CALL_ERRORS as exc:
        code = slack_error_code(exc)
        if code in AUTH_ERRORS:
            raise UserError(f"Slack refused SLACK_BOT_TOKEN: {code}") from exc
        raise
    return dict(answer.data) if isinstance(answer.data, dict) else {}


async def _connect_socket(
    client: AsyncWebClient, handler: AsyncSocketModeHandler, app_token: str
) -> None:
    """Open the Socket Mode connection. slack_sdk's own ``connect`` retries every
    error for ever (a refused app token too), so the URL is asked for here first:
    a refused token is a ``UserError``, an unreachable Slack propagates (the
    caller retries), and the handler is given the URL."""
    try:
        answer = await client.apps_connections_open(app_token=app_token)
    except CALL_ERRORS as exc:
        if slack_error_code(exc) in AUTH_ERRORS:
            raise UserError(f"Slack refused SLACK_APP_TOKEN: {slack_error_code(exc)}") from exc
        raise
    handler.client.wss_uri = str(answer["url"])
    await handler.connect_async()


async def start_slack(
    core: Core,
    config: Config,
    *,
    web_app: web.Application | None = None,
    late: LateBolt | None = None,
    sleep: Sleep = asyncio.sleep,
) -> SlackRuntime:
    """Connect to Slack and answer ``/papers``; registers the platform with ``core``.

    HTTP mode serves ``web_app`` (a fresh one when ``None``) with
    ``/slack/events`` added: add your own routes to it *before* calling. When the
    caller already serves ``/slack/events`` (``late``, from
    ``add_late_slack_routes``), the Bolt app is handed to it instead.
    """
    if config.slack_oauth is not None:
        return await _start_oauth(core, config, web_app=web_app, late=late, sleep=sleep)
    client = _client(config, sleep)
    if not config.slack_app_token and not config.slack_signing_secret:
        raise UserError(
            "Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"
        )
    identity = await _check_token(client)
    workspace, bot_user = str(identity.get("team", "")), str(identity.get("user", ""))
    bolt = AsyncApp(client=client, signing_secret=config.slack_signing_secret or "")
    changers = ChangerCheck(config.slack_changers, client)
    commands = SlashCommands(core, client, changers=changers)
    commands.register(bolt)
    LinkCards(core, client).register(bolt)  # arxiv.org / huggingface.co links → cards
    ChannelEvents(core).register(bolt)  # a deleted channel's votes and settings go
    buttons = SlackButtons(core.presses, client)  # 👍/🔖 presses and reactions
    buttons.register(bolt)
    Uninstalls(core, None).register(bolt)  # app_uninstalled: the team's channels paused
    pacer = _pacer(config, sleep, core)
    platform = SlackPlatform(client, sleep=sleep, pacer=pacer, presses=core.presses)
    core.register_platform(platform)

    if config.slack_app_token:
        handler = AsyncSocketModeHandler(bolt, app_token=config.slack_app_token)
        try:
            await _connect_socket(client, handler, config.slack_app_token)
        except BaseException:
            await handler.close_async()
            raise
        log.debug("Slack: connected in Socket Mode")
        return SlackRuntime(
            "socket",
            bolt,
            platform,
            _socket=handler,
            workspace=workspace,
            bot_user=bot_user,
            buttons=buttons,
            _commands=commands,
        )

    if late is not None:
        late.bolt = bolt
        return SlackRuntime(
            "http",
            bolt,
            platform,
            workspace=workspace,
            bot_user=bot_user,
            buttons=buttons,
            _commands=commands,
        )

    web_app, runner, url = await _serve_routes(web_app, bolt, config)
    log.info("Slack: HTTP mode, listening on %s", url)
    return SlackRuntime(
        "http",
        bolt,
        platform,
        url=url,
        web_app=web_app,
        _runner=runner,
        workspace=workspace,
        bot_user=bot_user,
        buttons=buttons,
        _commands=commands,
    )


async def _serve_routes(
    web_app: web.Application | None, bolt: AsyncApp, config: Config
) -> tuple[web.Application, web.AppRunner, str]:
    """Slack's routes (/slack/events; with OAuth /slack/install and /slack/oauth_redirect)
    on the given server app, or on one of their own; served, with the events URL."""
    if web_app is None:  # (an aiohttp app with no state is falsy: no ``or`` here)
        web_app = web.Application(client_max_size=MAX_BODY)
    add_slack_routes(web_app, bolt)
    runner = await serve(web_app, host=config.host, port=config.port)
    host, port = runner.addresses[0][:2]
    return web_app, runner, f"http://{host}:{port}{EVENTS_PATH}"


async def _start_oauth(
    core: Core,
    config: Config,
    *,
    web_app: web.Application | None,
    late: LateBolt | None,
    sleep: Sleep,
) -> SlackRuntime:
    """Many workspaces: no token to check at start; each team's comes from the store."""
    if not config.slack_signing_secret:
        raise UserError("Slack OAuth works in HTTP mode: set SLACK_SIGNING_SECRET")
    client = build_client(None, base_url=config.slack_api_url, sleep=sleep)
    installations = store_installations(core, config)
    bolt = oauth_app(core, config, client, installations)
    commands = SlashCommands(core, client, changers=ChangerCheck(config.slack_changers, client))
    commands.register(bolt)
    LinkCards(core, client).register(bolt)
    ChannelEvents(core).register(bolt)
    clients = TeamClients(installations, base_url=config.slack_api_url, sleep=sleep)
    platform = _oauth_platform(core, config, sleep, clients)
    buttons = SlackButtons(core.presses, client, team_clients=clients)  # edits: the team's token
    buttons.register(bolt)
    uninstalls = Uninstalls(core, installations)
    uninstalls.register(bolt)
    installations.on_saved = uninstalls.on_installed  # installed again: its channels resume
    core.register_platform(platform)
    installs = len(installations.teams())
    if late is not None:
        late.bolt = bolt
        return SlackRuntime(
            "http", bolt, platform, buttons=buttons, installs=installs, _commands=commands
        )
    web_app, runner, url = await _serve_routes(web_app, bolt, config)
    return SlackRuntime(
        "http",
        bolt,
        platform,
        url=url,
        web_app=web_app,
        _runner=runner,
        buttons=buttons,
        installs=installs,
        _commands=commands,
    )
