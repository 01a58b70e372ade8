"""Configuration is read in one place, and a value that does not parse is one
line naming the variable, never a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from paperpost.bot.config import Config, ConfigError
from paperpost.bot.errors import UserError
from paperpost.logs import JsonFormatter, KeyValueFormatter, configure_logging
from tests.test_cli import paperpost


@pytest.mark.parametrize(
    ("name", "value", "expects"),
    [
        ("PORT", "abc", "port number"),
        ("PORT", "70000", "port number"),
        ("SLACK_POSTS_PER_SECOND", "fast", "posts per second"),
        ("SLACK_POSTS_PER_SECOND", "0", "posts per second"),
        ("SLACK_POSTS_PER_SECOND", "nan", "posts per second"),
        ("DISCORD_GUILD_ID", "x", "server id"),
        ("PAPERPOST_LOG_FORMAT", "xml", "text or json"),
        ("PAPERPOST_REPLICA", "r 1", "a name of letters"),
    ],
)
def test_a_value_that_does_not_parse_names_the_variable(
    name: str, value: str, expects: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^{name}='{value}' is not valid: expected .*{expects}"):
        Config.from_env({"PAPERPOST_DATA_DIR": "/tmp/x", name: value})
    assert issubclass(ConfigError, UserError)


def test_values_that_parse() -> None:
    config = Config.from_env(
        {
            "PAPERPOST_DATA_DIR": "/tmp/x",
            "PORT": " 8080 ",
            "SLACK_POSTS_PER_SECOND": "2.5",
            "DISCORD_GUILD_ID": "123456789012345678",
            "PAPERPOST_LOG_FORMAT": "JSON",
        }
    )
    assert (config.port, config.slack_posts_per_second) == (8080, 2.5)
    assert config.discord_guild_id == 123456789012345678
    assert config.log_format == "json"
    defaults = Config.from_env({"PAPERPOST_DATA_DIR": "/tmp/x", "PORT": ""})
    assert (defaults.port, defaults.log_format, defaults.discord_guild_id) == (3000, "text", None)


def test_the_cli_prints_a_config_error_in_one_line_and_exits_2(tmp_path: Path) -> None:
    result = paperpost("channels", "list", data=tmp_path, env={"PORT": "abc"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "paperpost: PORT='abc' is not valid: expected a port number from 0 to 65535"
    )


@pytest.mark.parametrize(
    ("fmt", "formatter"), [("json", JsonFormatter), ("text", KeyValueFormatter)]
)
def test_the_log_format_comes_from_the_config(
    fmt: str, formatter: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERPOST_LOG_FORMAT", "text" if fmt == "json" else "json")  # ignored
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        configure_logging(verbose=False, log_format=fmt)  # type: ignore[arg-type]
        assert isinstance(root.handlers[-1].formatter, formatter)
    finally:
        root.handlers[:] = saved


def test_json_log_lines_from_the_cli(tmp_path: Path) -> None:
    result = paperpost(
        "sync", "--date", "2026-08-21", "--offline", "-v",
        data=tmp_path, env={"PAPERPOST_LOG_FORMAT": "json"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(entry["message"].startswith("sync: 2026-08-21") for entry in lines), result.stderr


def test_every_log_line_names_the_replica(tmp_path: Path) -> None:
    """Several replicas log to one place: each line says which one wrote it."""
    result = paperpost(
        "sync", "--date", "2026-08-21", "--offline", "-v",
        data=tmp_path, env={"PAPERPOST_LOG_FORMAT": "json", "PAPERPOST_REPLICA": "replica-2"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert lines and all(entry["replica"] == "replica-2" for entry in lines), result.stderr
