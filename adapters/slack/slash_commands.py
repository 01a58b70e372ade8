"""The ``/papers`` slash command and the "Share in channel" button, as Bolt
listeners. Acknowledge first (Slack gives 3 s), work after: the answer goes to
the command's ``response_url``, ephemerally; a change to the channel (a new
subscription, a setting) is also announced in the channel.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack.changers import ChangerCheck
from paperpost.adapters.slack.client import CALL_ERRORS, slack_error_code
from paperpost.adapters.slack.render import (
    SHARE_ACTION,
    SlackMessage,
    render_announcement,
    render_reply,
    render_shared,
)
from paperpost.bot.channels.grammar import parse_command
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import Reply, apology
from paperpost.bot.config import SlackChangers
from paperpost.bot.errors import CommandError
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)

COMMAND = "/papers"
INVITE_HINT = "Invite me with /invite @Paperpost so the digest can be posted here."
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


def _with_hint(reply: Reply) -> Reply:
    return dataclasses.replace(reply, text=f"{reply.text}\n{INVITE_HINT}")


async def bot_is_member(client: AsyncWebClient, channel_id: str) -> bool | None:
    """Whether the bot can post in the channel; ``None`` when Slack would not say."""
    try:
        info = await client.conversations_info(channel=channel_id)
    except CALL_ERRORS as exc:
        if slack_error_code(exc) in NOT_A_MEMBER:
            return False
        log.warning("conversations.info %s failed: %r", channel_id, exc)
        return None
    channel = info.get("channel") or {}
    return channel.get("is_member") if isinstance(channel.get("is_member"), bool) else None


async def _send(respond: Any, message: SlackMessage, **options: Any) -> None:
    await respond(text=message.text, blocks=list(message.blocks), **options)


class SlashCommands:
    """Turns Slack payloads into core calls and core replies into Slack messages."""

    def __init__(
        self, core: Core, client: AsyncWebClient, *, changers: ChangerCheck | None = None
    ) -> None:
        self.core = core
        self.client = client
        self.changers = changers or ChangerCheck(SlackChangers(), client)

    def register(self, app: AsyncApp, *, command: str = COMMAND) -> None:
        app.command(command)(self.on_command)
        app.action(SHARE_ACTION)(self.on_share)

    async def on_command(
        self,
        ack: Any,
        command: dict[str, Any],
        respond: Any,
        client: AsyncWebClient | None = None,
    ) -> None:
        """``client``: Bolt's, with the token of the command's team (OAuth installs)."""
        await ack()  # first, always: Slack shows an error after 3 s without it
        try:
            await self._answer(command, respond, client or self.client)
        except Exception as exc:  # the user must hear back even when Slack calls fail
            sorry = apology(exc, platform="slack", channel=command.get("channel_id"))
            await _send(respond, render_reply(sorry), response_type="ephemeral")

    async def _answer(self, command: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        text = command.get("text") or ""
        channel_id, user = command["channel_id"], command.get("user_id")
        channel = ChannelKey("slack", command["team_id"], channel_id)
        if not await self._may_run(text, command["team_id"], user, client):
            refusal = self.changers.refusal()
            block = SectionBlock(text=MarkdownTextObject(text=":no_entry: " + refusal))
            await respond(text=refusal, blocks=[block.to_dict()], response_type="ephemeral")
            return
        # The user's name as the payload gives it, kept with their votes (plain text).
        name = command.get("user_name") if isinstance(command.get("user_name"), str) else None
        reply = await self.core.handle(channel, text, user=user, name=name)
        hint = False
        if not reply.is_error and reply.command == "subscribe":
            hint = await bot_is_member(client, channel_id) is False
        if reply.announcement:
            posted = await self._announce(client, channel_id, user, reply.announcement, respond)
            hint = hint or not posted
        if hint:
            reply = _with_hint(reply)
        await _send(respond, render_reply(reply, share_value=text), response_type="ephemeral")

    async def _may_run(
        self, text: str, team: str, user: str | None, client: AsyncWebClient
    ) -> bool:
        """Decided before the command runs, so a refused change changes nothing. A line
        that does not parse runs (the core answers with the fix)."""
        try:
            command = parse_command(text)
        except CommandError:
            return True
        return not command.changes_channel or await self.changers.allows(team, user, client)

    async def _announce(
        self, client: AsyncWebClient, channel_id: str, user: str | None, text: str, respond: Any
    ) -> bool:
        """Post the announcement; ``False`` when the bot is not in the channel,
        in which case the command's own response_url says it publicly instead."""
        message = render_announcement(user, text)
        try:
            await client.chat_postMessage(
                channel=channel_id, text=message.text, blocks=list(message.blocks)
            )
            return True
        except CALL_ERRORS as exc:
            if slack_error_code(exc) not in NOT_A_MEMBER:
                # The command itself succeeded: say so, and leave the failure to the log.
                log.warning("announcement in %s failed: %r", channel_id, exc)
                return True
        await _send(respond, message, response_type="in_channel", replace_original=False)
        return False

    async def on_share(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        try:
            value = body["actions"][0].get("value") or ""
            user = body["user"]["id"]
            team = (body.get("team") or {}).get("id") or body["user"].get("team_id", "")
            channel = ChannelKey("slack", team, body["channel"]["id"])
            try:
                command = parse_command(value)
            except CommandError:
                return  # a forged or stale button
            if command.changes_channel:
                return  # forged: the core only offers Share on replies that change nothing
            reply = await self.core.execute(channel, command, user=user)
            if reply.is_error:
                await _send(respond, render_reply(reply), replace_original=False)
                return
            shared = render_shared(reply, user_id=user, command=f"{COMMAND} {value}")
            await _send(respond, shared, response_type="in_channel", replace_original=False)
        except Exception as exc:  # the user hears back; if Slack itself failed, the log has it
            sorry = apology(exc, platform="slack", action="share")
            with contextlib.suppress(*CALL_ERRORS):
                await _send(respond, render_reply(sorry), replace_original=False)
