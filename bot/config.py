"""Configuration from the environment. Secrets are read here and nowhere else,
kept out of ``repr`` (so they cannot reach a log line), and never stored."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def default_data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paperpost"


HF_ENDPOINT = "https://huggingface.co"
HOST = "127.0.0.1"
PORT = 3000
SLACK_API_URL = "https://slack.com/api/"
DISCORD_API_URL = "https://discord.com/api/v10"


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    hf_endpoint: str = HF_ENDPOINT
    hf_token: str | None = field(default=None, repr=False)
    host: str = HOST
    port: int = PORT
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = SLACK_API_URL
    slack_posts_per_second: float = 10.0  # this workspace's chat.postMessage allowance
    discord_bot_token: str | None = field(default=None, repr=False)
    discord_api_url: str = DISCORD_API_URL
    discord_gateway_url: str | None = None
    discord_guild_id: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        guild = get("DISCORD_GUILD_ID")
        return cls(
            data_dir=Path(get("PAPERPOST_DATA_DIR") or default_data_dir(env)),
            hf_endpoint=(get("HF_ENDPOINT") or HF_ENDPOINT).rstrip("/"),
            hf_token=get("HF_TOKEN"),
            host=get("PAPERPOST_HOST") or HOST,
            port=int(get("PORT") or PORT),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_api_url=get("SLACK_API_URL") or SLACK_API_URL,
            slack_posts_per_second=float(get("SLACK_POSTS_PER_SECOND") or 10.0),
            discord_bot_token=get("DISCORD_BOT_TOKEN"),
            discord_api_url=(get("DISCORD_API_URL") or DISCORD_API_URL).rstrip("/"),
            discord_gateway_url=get("DISCORD_GATEWAY_URL"),
            discord_guild_id=int(guild) if guild and guild.isdigit() else None,
        )

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @property
    def discord_enabled(self) -> bool:
        return self.discord_bot_token is not None
