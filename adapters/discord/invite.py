"""Setting up the bot: its invite link and application id."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
import discord

from paperpost.bot.errors import UserError

# What posting digests and threads needs, nothing more (no admin, no @everyone).
BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    send_messages_in_threads=True,
    create_public_threads=True,
)
SCOPES = "bot applications.commands"


def invite_url(application_id: int) -> str:
    """The OAuth2 link a server admin opens to add the bot with its commands."""
    query = urlencode(
        {"client_id": application_id, "scope": SCOPES, "permissions": BOT_PERMISSIONS.value}
    )
    return f"https://discord.com/oauth2/authorize?{query}"


async def fetch_application_id(token: str, api_url: str = "https://discord.com/api/v10") -> int:
    """``GET /oauth2/applications/@me`` with the bot token; UserError when refused."""
    url = api_url.rstrip("/") + "/oauth2/applications/@me"
    headers = {"Authorization": f"Bot {token.strip()}", "User-Agent": "Paperpost (discord adapter)"}
    timeout = aiohttp.ClientTimeout(total=15)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers) as response,
        ):
            if response.status == 401:
                raise UserError(
                    "Discord rejected DISCORD_BOT_TOKEN (401): copy the bot token again"
                )
            if response.status != 200:
                raise UserError(f"Discord answered {response.status} to {url}")
            data = await response.json(content_type=None)
    except aiohttp.ClientError as exc:
        raise UserError(f"could not reach Discord at {api_url}: {exc}") from exc
    try:
        return int(data["id"])
    except (KeyError, TypeError, ValueError):
        raise UserError(f"unexpected answer from {url}: no application id") from None
