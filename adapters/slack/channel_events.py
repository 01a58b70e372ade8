"""A Slack channel deleted: its votes, saves, settings and saved searches go.

``channel_deleted`` (public channels, scope ``channels:read``) and
``group_deleted`` (private ones, ``groups:read``) are the only events that
remove a channel's data; archiving, the bot's removal and posting errors only
pause its digest. Bolt acknowledges the event before this listener runs.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.errors import UserError
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)

EVENTS = ("channel_deleted", "group_deleted")


class ChannelEvents:
    def __init__(self, core: Core) -> None:
        self.core = core

    def register(self, app: AsyncApp) -> None:
        for event in EVENTS:
            app.event(event)(self.on_deleted)

    async def on_deleted(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        team, channel = body.get("team_id"), event.get("channel")
        try:
            if not isinstance(team, str) or not isinstance(channel, str):
                raise UserError("no team or channel id")
            key = ChannelKey.parse(f"slack:{team}:{channel}")  # validated like any key
        except UserError:
            log.debug("%s without a usable channel ignored", event.get("type"))
            return
        try:
            await self.core.forget_channel(key)
        except Exception:  # a listener's failure must stay in the log
            log.exception("forgetting the deleted channel %s failed", key)
