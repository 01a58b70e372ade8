"""Configuration from the environment, read here and nowhere else.

Secrets are kept out of ``repr`` (so they cannot reach a log line) and never
stored. A value that does not parse is a ``ConfigError`` naming the variable
and what it expects, never a traceback.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from paperpost.bot.errors import UserError

T = TypeVar("T")

HF_ENDPOINT = "https://huggingface.co"
ARXIV_ENDPOINT = "https://export.arxiv.org"  # its API at /api/query (link-card lookups)
HOST = "127.0.0.1"
PORT = 3000
SLACK_API_URL = "https://slack.com/api/"
SLACK_POSTS_PER_SECOND = 10.0
DISCORD_API_URL = "https://discord.com/api/v10"
BACKFILL_DAYS = 30  # the featured days a running service keeps in the store
MAX_BACKFILL_DAYS = 366

LogFormat = Literal["text", "json"]
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")  # W: Enterprise Grid user ids
_REPLICA = re.compile(r"^[A-Za-z0-9._-]{1,63}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,30}$")


class ConfigError(UserError):
    """An environment variable whose value does not parse; the text names it."""


SLACK_OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET")
DISCORD_SHARD_VARIABLES = ("DISCORD_SHARD_IDS", "DISCORD_SHARD_COUNT")


def default_data_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paperpost"


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ValueError
    return int(text)


def _rate(text: str) -> float:
    rate = float(text)
    if not 0 < rate < float("inf"):  # also refuses nan
        raise ValueError
    return rate


def _snowflake(text: str) -> int:
    if not text.isdigit():
        raise ValueError
    return int(text)


def _backfill_days(text: str) -> int:
    if not text.isdigit() or int(text) > MAX_BACKFILL_DAYS:
        raise ValueError
    return int(text)


def _database_url(text: str) -> str:
    # Only PostgreSQL: the default SQLite store needs no URL (it lives in the data folder).
    if not text.startswith(("postgresql://", "postgres://")):
        raise ValueError
    return text


def _replica(text: str) -> str:
    if not _REPLICA.match(text):
        raise ValueError
    return text


def _log_format(text: str) -> LogFormat:
    value = text.lower()
    if value == "json":
        return "json"
    if value == "text":
        return "text"
    raise ValueError


@dataclass(frozen=True, slots=True)
class SlackChangers:
    """Who may change a Slack channel's digest (``PAPERPOST_SLACK_CHANGERS``):
    everyone (``anyone``), or the workspace's admins and owners (``admins``)
    and/or listed users ``U…`` and members of user groups ``S…``."""

    anyone: bool = True
    admins: bool = False
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()


def _slack_changers(text: str) -> SlackChangers:
    words = [w.strip() for w in text.split(",") if w.strip()]
    if [w.lower() for w in words] == ["anyone"]:
        return SlackChangers()
    admins = False
    users: set[str] = set()
    groups: set[str] = set()
    for word in words:
        if word.lower() == "admins":
            admins = True
        elif _SLACK_USER.match(word):
            users.add(word)
        elif _SLACK_GROUP.match(word):
            groups.add(word)
        else:
            raise ValueError
    if not (admins or users or groups):
        raise ValueError
    return SlackChangers(False, admins, frozenset(users), frozenset(groups))


def _secret_key(text: str) -> str:
    from paperpost.bot.catalog.sealed import Sealer  # cryptography only when it is used

    Sealer(text)  # raises ValueError for a key Fernet cannot use
    return text


def _shard_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise ValueError
    return int(text)


def _shard_ids(text: str) -> tuple[int, ...]:
    words = [w.strip() for w in text.split(",")]
    if not words or not all(w.isdigit() for w in words) or len(set(words)) != len(words):
        raise ValueError
    return tuple(sorted(int(w) for w in words))


def _all_or_none(env: Callable[[str], str | None], names: tuple[str, ...], why: str) -> bool:
    """Whether every one of ``names`` is set; a partial set is a ``ConfigError``."""
    missing = [name for name in names if env(name) is None]
    if missing and len(missing) < len(names):
        raise ConfigError(f"{why} needs {', '.join(names)} together: {', '.join(missing)} unset")
    return not missing


@dataclass(frozen=True, slots=True)
class SlackOAuth:
    """Many Slack workspaces: the OAuth v2 install flow's app credentials."""

    client_id: str
    client_secret: str = field(repr=False)
    state_secret: str = field(repr=False)
    redirect_uri: str | None = None  # SLACK_REDIRECT_URI; else the app's only Redirect URL


def _slack_oauth(get: Callable[[str], str | None]) -> tuple[SlackOAuth | None, str | None]:
    """The OAuth settings and ``PAPERPOST_SECRET_KEY`` (both ``None`` without OAuth)."""
    if not _all_or_none(get, SLACK_OAUTH_VARIABLES, "Slack OAuth (installs in many workspaces)"):
        return None, get("PAPERPOST_SECRET_KEY")
    key = get("PAPERPOST_SECRET_KEY")
    if key is None:
        raise ConfigError(
            "Slack OAuth needs PAPERPOST_SECRET_KEY to encrypt the workspaces' tokens; make one "
            "with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    if get("SLACK_BOT_TOKEN") is not None or get("SLACK_APP_TOKEN") is not None:
        raise ConfigError(
            "set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET "
            "and SLACK_STATE_SECRET (OAuth, many workspaces, HTTP mode), not both"
        )
    if get("SLACK_SIGNING_SECRET") is None:
        raise ConfigError("Slack OAuth works in HTTP mode: set SLACK_SIGNING_SECRET too")
    client_id, secret, state = (str(get(name)) for name in SLACK_OAUTH_VARIABLES)
    return SlackOAuth(client_id, secret, state, get("SLACK_REDIRECT_URI")), key


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    hf_endpoint: str = HF_ENDPOINT
    hf_token: str | None = field(default=None, repr=False)
    arxiv_endpoint: str = ARXIV_ENDPOINT
    host: str = HOST
    port: int = PORT
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = SLACK_API_URL
    slack_posts_per_second: float = SLACK_POSTS_PER_SECOND  # the workspace's post allowance
    slack_changers: SlackChangers = SlackChangers()
    discord_bot_token: str | None = field(default=None, repr=False)
    discord_api_url: str = DISCORD_API_URL
    discord_gateway_url: str | None = None
    discord_guild_id: int | None = None
    discord_shard_ids: tuple[int, ...] | None = None  # with the count: this replica's shards
    discord_shard_count: int | None = None
    slack_oauth: SlackOAuth | None = None
    secret_key: str | None = field(default=None, repr=False)  # PAPERPOST_SECRET_KEY (Fernet)
    log_format: LogFormat = "text"
    backfill_days: int = BACKFILL_DAYS
    # None: the SQLite store in data_dir. Carries a password: never in repr or logs.
    database_url: str | None = field(default=None, repr=False)
    replica: str | None = None  # this process's name in logs and /healthz (PAPERPOST_REPLICA)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read every setting; ``ConfigError`` on the first value that does not parse."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def parsed(name: str, parse: Callable[[str], T], default: T, expects: str) -> T:
            text = get(name)
            if text is None:
                return default
            try:
                return parse(text)
            except ValueError:
                raise ConfigError(f"{name}={text!r} is not valid: expected {expects}") from None

        def key(text: str) -> str:
            try:
                return _secret_key(text)
            except ValueError:
                raise ConfigError(
                    "PAPERPOST_SECRET_KEY is not valid: expected a Fernet key (32 url-safe "
                    "base64-encoded bytes), or several separated by commas"
                ) from None

        oauth, secret_key = _slack_oauth(get)
        shards = _all_or_none(get, DISCORD_SHARD_VARIABLES, "splitting Discord shards")
        count = parsed("DISCORD_SHARD_COUNT", _shard_count, None, "a number of shards from 1")
        ids = parsed("DISCORD_SHARD_IDS", _shard_ids, None, "shard ids such as 0,1")
        if shards and ids and count and ids[-1] >= count:
            raise ConfigError(
                f"DISCORD_SHARD_IDS={get('DISCORD_SHARD_IDS')!r} is not valid: "
                f"ids go from 0 to DISCORD_SHARD_COUNT-1 ({count - 1})"
            )
        return cls(
            discord_shard_ids=ids,
            discord_shard_count=count,
            slack_oauth=oauth,
            secret_key=None if secret_key is None else key(secret_key),
            data_dir=Path(get("PAPERPOST_DATA_DIR") or default_data_dir(env)),
            hf_endpoint=(get("HF_ENDPOINT") or HF_ENDPOINT).rstrip("/"),
            hf_token=get("HF_TOKEN"),
            arxiv_endpoint=(get("ARXIV_ENDPOINT") or ARXIV_ENDPOINT).rstrip("/"),
            host=get("PAPERPOST_HOST") or HOST,
            port=parsed("PORT", _port, PORT, "a port number from 0 to 65535"),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_api_url=get("SLACK_API_URL") or SLACK_API_URL,
            slack_posts_per_second=parsed(
                "SLACK_POSTS_PER_SECOND",
                _rate,
                SLACK_POSTS_PER_SECOND,
                "a number of posts per second above 0, e.g. 10",
            ),
            slack_changers=parsed(
                "PAPERPOST_SLACK_CHANGERS",
                _slack_changers,
                SlackChangers(),
                "anyone, admins, or a comma list of user ids U… and user group ids S…",
            ),
            discord_bot_token=get("DISCORD_BOT_TOKEN"),
            discord_api_url=(get("DISCORD_API_URL") or DISCORD_API_URL).rstrip("/"),
            discord_gateway_url=get("DISCORD_GATEWAY_URL"),
            discord_guild_id=parsed(
                "DISCORD_GUILD_ID", _snowflake, None, "a server id (digits only)"
            ),
            log_format=parsed("PAPERPOST_LOG_FORMAT", _log_format, "text", "text or json"),
            backfill_days=parsed(
                "PAPERPOST_BACKFILL_DAYS",
                _backfill_days,
                BACKFILL_DAYS,
                f"a whole number of days from 0 to {MAX_BACKFILL_DAYS}, e.g. 30",
            ),
            database_url=_parsed_secret(
                get("PAPERPOST_DATABASE_URL"),
                _database_url,
                "PAPERPOST_DATABASE_URL",
                "a postgresql://USER:PASSWORD@HOST:PORT/DATABASE URL (unset: SQLite in "
                "PAPERPOST_DATA_DIR)",
            ),
            replica=parsed(
                "PAPERPOST_REPLICA", _replica, None, "a name of letters, digits, '.', '_' or '-'"
            )
            # On a shared database every process is one of several: name it by its host.
            or (socket.gethostname() if get("PAPERPOST_DATABASE_URL") else None),
        )

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None or self.slack_oauth is not None

    @property
    def discord_enabled(self) -> bool:
        return self.discord_bot_token is not None


def _parsed_secret(
    text: str | None, parse: Callable[[str], T], name: str, expects: str
) -> T | None:
    """Like ``parsed`` for a value holding a secret: the error never repeats it."""
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError:
        raise ConfigError(f"{name} is not valid: expected {expects}") from None
