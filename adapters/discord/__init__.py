"""The Discord adapter: slash commands in, digests and replies out (discord.py 2.x).

start_discord(core, config) -> DiscordRuntime    gateway + commands + platform (paperpost run)
open_discord_platform(config) -> DiscordPlatform  REST only (paperpost digest)
invite_url(application_id) / fetch_application_id(token, api_url)
"""

from paperpost.adapters.discord.client import DiscordRuntime, open_discord_platform, start_discord
from paperpost.adapters.discord.delivery import DiscordPlatform
from paperpost.adapters.discord.invite import BOT_PERMISSIONS, fetch_application_id, invite_url
from paperpost.adapters.discord.render import render_digest, render_reply

__all__ = [
    "BOT_PERMISSIONS",
    "DiscordPlatform",
    "DiscordRuntime",
    "fetch_application_id",
    "invite_url",
    "open_discord_platform",
    "render_digest",
    "render_reply",
    "start_discord",
]
