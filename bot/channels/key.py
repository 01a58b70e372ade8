"""Channels: where digests go, identified as ``platform:workspace:channel``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paperpost.bot.errors import CommandError

PLATFORMS = ("slack", "discord", "console")
_PART = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True, slots=True, order=True)
class ChannelKey:
    """``slack:TEAM:CHANNEL``, ``discord:GUILD:CHANNEL`` or ``console:local``."""

    platform: str
    workspace: str
    channel: str

    def __str__(self) -> str:
        if self.platform == "console":
            return f"console:{self.channel}"
        return f"{self.platform}:{self.workspace}:{self.channel}"

    @classmethod
    def parse(cls, text: str) -> ChannelKey:
        parts = text.strip().split(":")
        if len(parts) == 2 and parts[0] == "console" and _PART.match(parts[1]):
            return cls("console", "", parts[1])
        if len(parts) == 3 and parts[0] in PLATFORMS[:2] and all(map(_PART.match, parts[1:])):
            return cls(parts[0], parts[1], parts[2])
        raise CommandError(
            f"'{text}' is not a channel key: use slack:TEAM:CHANNEL, "
            "discord:GUILD:CHANNEL or console:local"
        )


CONSOLE_CHANNEL = ChannelKey("console", "", "local")
