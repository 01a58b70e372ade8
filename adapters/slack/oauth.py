"""Many Slack workspaces: Bolt's OAuth v2 install flow, the right bot token per
team, and what happens when a workspace uninstalls the app.

- ``/slack/install`` redirects to Slack's consent page with a signed one-time
  state (and sets the state cookie); ``/slack/oauth_redirect`` checks both,
  trades the code for the team's tokens (``oauth.v2.access``) and saves the
  installation, sealed, in the store (``installations.py``).
- Commands and events: Bolt's ``authorize`` finds the team's installation and
  hands each listener a client with that team's bot token.
- Digests: ``TeamClients`` picks the bot token by the channel key's team
  (``slack:TEAM:CHANNEL``); a team with no installation is a permanent delivery
  error, so the outbox pauses that channel and logs why.
- ``app_uninstalled`` / ``tokens_revoked`` (bot): the team's installation and
  tokens are deleted and its channels paused (in single-token mode, paused only).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack.client import Sleep, build_client
from paperpost.adapters.slack.installations import STATE_SECONDS, StoreInstallations, StoreStates
from paperpost.adapters.slack.server import INSTALL_PATH, REDIRECT_PATH
from paperpost.bot.catalog.sealed import Sealer, SealError
from paperpost.bot.config import Config
from paperpost.bot.errors import DeliveryError, UserError
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)

# The bot scopes of slack/manifest.yaml (tests/test_slack_oauth.py keeps them equal).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "users:read",
    "usergroups:read",
    "links:read",
    "links:write",
)
UNINSTALLED = (
    "the Slack app was uninstalled from this workspace (install it again at /slack/install)"
)
REVOKED = "the workspace revoked Paperpost's Slack token (install it again at /slack/install)"


def store_installations(core: Core, config: Config) -> StoreInstallations:
    """The installation store, its tokens sealed with ``PAPERPOST_SECRET_KEY``.
    A stored installation that key cannot open is a ``UserError`` (exit 2)."""
    if config.secret_key is None:
        raise UserError("Slack OAuth needs PAPERPOST_SECRET_KEY")
    installations = StoreInstallations(core.installations, Sealer(config.secret_key))
    try:
        installations.check_key()
    except SealError:
        raise UserError(
            "PAPERPOST_SECRET_KEY cannot open the stored Slack installations: it is not the "
            "key they were saved with (set that one; add a new key before it, comma-separated, "
            "to rotate)"
        ) from None
    return installations


def oauth_app(
    core: Core, config: Config, client: AsyncWebClient, installations: StoreInstallations
) -> AsyncApp:
    """A Bolt app serving the install flow and authorizing each team from the store."""
    oauth = config.slack_oauth
    assert oauth is not None
    settings = AsyncOAuthSettings(
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=oauth.redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,  # straight to Slack's consent page
        installation_store=installations,
        state_store=StoreStates(core.installations, secret=oauth.state_secret),
        state_expiration_seconds=STATE_SECONDS,
        logger=log,
    )
    # Each request's team token from the store; Bolt asks auth.test who that token is,
    # once per token here (cached), not before every command's 3-second ack.
    authorize = AsyncInstallationStoreAuthorize(
        logger=log, installation_store=installations, cache_enabled=True, client=client
    )
    return AsyncApp(
        client=client,
        signing_secret=config.slack_signing_secret or "",
        oauth_settings=settings,
        installation_store=installations,
        # Bolt takes an AsyncAuthorize here (it checks for one); its hint names only callables.
        authorize=cast(Callable[..., Awaitable[AuthorizeResult]], authorize),
    )


class Uninstalls:
    """``app_uninstalled`` and ``tokens_revoked``: forget the tokens, pause the channels."""

    def __init__(self, core: Core, installations: StoreInstallations | None) -> None:
        self.core = core
        self.installations = installations

    def register(self, app: AsyncApp) -> None:
        app.event("app_uninstalled")(self.on_app_uninstalled)
        app.event("tokens_revoked")(self.on_tokens_revoked)

    async def on_app_uninstalled(self, context: AsyncBoltContext) -> None:
        await self._forget(context, UNINSTALLED)

    async def on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        tokens = event.get("tokens") or {}
        if self.installations is not None:
            for user in tokens.get("oauth") or []:  # user tokens: that user's installation only
                await self.installations.async_delete_installation(
                    enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user
                )
        if tokens.get("bot"):
            await self._forget(context, REVOKED)

    async def on_installed(self, team: str) -> None:
        """Installed again: resume the channels its uninstall (or revoked token) paused."""
        resumed = [
            key
            for reason in (UNINSTALLED, REVOKED)
            for key in self.core.pauser.paused_for("slack", team, reason)
        ]
        for key in resumed:
            await self.core.handle(key, "resume")
        if resumed:
            log.info(
                "Slack workspace %s installed again: resumed %d channel(s)", team, len(resumed)
            )

    async def _forget(self, context: AsyncBoltContext, reason: str) -> None:
        team = context.team_id or context.enterprise_id or ""
        if self.installations is not None:
            await self.installations.async_delete_all(
                enterprise_id=context.enterprise_id, team_id=context.team_id
            )
        self.core.pauser.pause_workspace("slack", team, reason)


class TeamClients:
    """The Web API client of each team's bot token, for posting digests."""

    def __init__(
        self, installations: StoreInstallations, *, base_url: str, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.installations = installations
        self.base_url = base_url
        self.sleep = sleep
        self._clients: dict[str, AsyncWebClient] = {}

    async def __call__(self, team: str) -> AsyncWebClient:
        try:
            bot = self.installations.bot(team)
        except SealError:
            raise DeliveryError(
                f"PAPERPOST_SECRET_KEY cannot open the Slack installation of workspace {team}",
                permanent=False,
            ) from None
        if bot is None:
            raise DeliveryError(
                f"Paperpost is not installed in Slack workspace {team} (uninstalled, or never "
                "installed through /slack/install)",
                permanent=True,
            )
        client = self._clients.get(team)
        if client is None or client.token != bot.bot_token:
            client = build_client(bot.bot_token, base_url=self.base_url, sleep=self.sleep)
            self._clients[team] = client
        return client
