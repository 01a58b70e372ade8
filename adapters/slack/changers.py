"""Who may change a Slack channel's digest (``PAPERPOST_SLACK_CHANGERS``).

Discord gates its admin command with Manage Channels; Slack has no such
permission on slash commands, so the operator names the people: the
workspace's own admins and owners (``users.info``), listed users, or members
of user groups (``usergroups.users.list``). Answers are cached for ten
minutes per user and per group, so a burst of commands costs one lookup; a
lookup that fails is not cached and refuses (fail closed: the log says why).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from paperpost.adapters.slack.client import CALL_ERRORS
from paperpost.bot.channels.grammar import CHANGES_CHANNEL, COMMAND_NAMES
from paperpost.bot.config import SlackChangers

log = logging.getLogger(__name__)

CACHE_SECONDS = 600.0
_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")


class ChangerCheck:
    """``await check.allows(team, user)``; ``check.refusal()`` says who may."""

    def __init__(
        self,
        policy: SlackChangers,
        client: AsyncWebClient,
        *,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._admins: dict[tuple[str, str], tuple[float, bool]] = {}
        self._members: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    async def allows(
        self, team: str, user: str | None, client: AsyncWebClient | None = None
    ) -> bool:
        """``client``: the team's (OAuth installs); by default the one given at start."""
        policy = self.policy
        client = client or self.client
        if policy.anyone:
            return True
        if not user:
            return False
        if user in policy.users:
            return True
        for group in sorted(policy.groups):
            members = await self._group_members(client, team, group)
            if members is not None and user in members:
                return True
        if policy.admins:
            return await self._is_admin(client, team, user) is True
        return False

    def refusal(self) -> str:
        """The one ephemeral line a refused user gets (mrkdwn: names render, nobody is
        notified by an ephemeral message)."""
        who: list[str] = []
        if self.policy.admins:
            who.append("this workspace's admins and owners")
        who += [f"<@{u}>" for u in sorted(self.policy.users)]
        who += [f"members of <!subteam^{g}>" for g in sorted(self.policy.groups)]
        names = ", ".join(who[:-1]) + (" and " if len(who) > 1 else "") + who[-1]
        commands = ", ".join(c for c in COMMAND_NAMES if c in CHANGES_CHANNEL)
        return f"Only {names} may change this channel's digest ({commands}); nothing was changed."

    def _fresh(self, entry: tuple[float, Any] | None) -> bool:
        return entry is not None and self.clock() - entry[0] < self.ttl

    async def _is_admin(self, client: AsyncWebClient, team: str, user: str) -> bool | None:
        cached = self._admins.get((team, user))
        if cached is not None and self._fresh(cached):
            return cached[1]
        try:
            answer = await client.users_info(user=user)
        except CALL_ERRORS as exc:
            log.warning("users.info %s failed, refusing the change: %r", user, exc)
            return None
        profile = answer.get("user") or {}
        admin = any(profile.get(flag) is True for flag in _ADMIN_FLAGS)
        self._admins[(team, user)] = (self.clock(), admin)
        return admin

    async def _group_members(
        self, client: AsyncWebClient, team: str, group: str
    ) -> frozenset[str] | None:
        cached = self._members.get((team, group))
        if cached is not None and self._fresh(cached):
            return cached[1]
        try:
            answer = await client.usergroups_users_list(usergroup=group)
        except CALL_ERRORS as exc:
            log.warning("usergroups.users.list %s failed: %r", group, exc)
            return None
        users = answer.get("users") or []
        members = frozenset(u for u in users if isinstance(u, str))
        self._members[(team, group)] = (self.clock(), members)
        return members
