"""Pausing channels when Paperpost can no longer post there: one channel after a
permanent posting error, or every channel of a workspace that uninstalled the
app or revoked its token. The reason shows in ``settings``; ``resume`` undoes it
(and installing the app again resumes what its uninstall paused)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.delivery.claims import Claims
from paperpost.bot.delivery.featured_day import digest_day_for

log = logging.getLogger(__name__)


class ChannelPauser:
    def __init__(
        self,
        channels: ChannelRegistry,
        claims: Claims,
        clock: Callable[[], datetime],
        unschedule: Callable[[ChannelKey], None],
    ) -> None:
        self.channels = channels
        self.claims = claims
        self.clock = clock
        self.unschedule = unschedule

    def pause(self, channel: ChannelKey, reason: str) -> None:
        """Pause one channel, saying why (the outbox's ``on_permanent``)."""
        settings = self.channels.get(channel)
        paused = replace(
            settings, paused=True, paused_reason=f"paused by Paperpost: {reason}; "
            "fix it, then /papers resume",
        )  # fmt: skip
        self.channels.save(channel, paused)
        self.claims.note_paused(channel, paused=True, latest_complete=digest_day_for(self.clock()))
        self.unschedule(channel)

    def pause_workspace(self, platform: str, workspace: str, reason: str) -> list[ChannelKey]:
        """Pause every unpaused channel of one workspace (a Slack team); their keys."""
        keys = [
            key
            for key, settings in self.channels.all()
            if key.platform == platform and key.workspace == workspace and not settings.paused
        ]
        for key in keys:
            self.pause(key, reason)
        log.warning(
            "%s workspace %s: %s; paused %d channel(s)", platform, workspace, reason, len(keys)
        )
        return keys

    def paused_for(self, platform: str, workspace: str, reason: str) -> list[ChannelKey]:
        """The workspace's channels Paperpost paused for ``reason`` (never one a
        person paused: those have no reason)."""
        return [
            key
            for key, settings in self.channels.all()
            if key.platform == platform
            and key.workspace == workspace
            and settings.paused
            and reason in (settings.paused_reason or "")
        ]
