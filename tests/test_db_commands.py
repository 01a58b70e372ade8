"""``paperpost db upgrade`` and ``paperpost db copy``, as an operator runs them: a SQLite
deployment moved to PostgreSQL and back loses nothing, a non-empty target is refused
without --force, and no output shows the password."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from paperpost.bot.catalog import db_copy
from paperpost.bot.catalog.pg_database import masked
from paperpost.bot.catalog.store import STORE_FILENAME, TABLES, Store
from paperpost.bot.config import Config, ConfigError
from tests.postgres import PASSWORD
from tests.test_cli import paperpost

TABLES_COPIED = (*TABLES, *db_copy.SQL_TABLES)


def rows(store_file: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(store_file)) as conn:
        return {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall())
            for name in TABLES_COPIED
        }


def test_a_deployment_moves_to_postgresql_and_back_unchanged(tmp_path: Path, pg_url: str) -> None:
    old = tmp_path / "old"
    lines = "subscribe agents\nset tz Europe/Berlin\nsave 2608.19880\npause\nresume\n"
    assert paperpost("console", "--offline", data=old, stdin=lines).returncode == 0
    posted = paperpost("digest", "--offline", "--channel", "console:local", "--date", "2026-08-21",
                       data=old)  # fmt: skip
    assert posted.returncode == 0, posted.stderr
    before = rows(old / STORE_FILENAME)
    before["meta"] = [r for r in before["meta"] if r[0] != "index_consistent"]
    assert before["channels"] and before["feedback"] and before["claims"] and before["ledger"]

    there = paperpost("db", "copy", "--from", f"sqlite:{old}", "--to", pg_url, data=tmp_path)
    assert there.returncode == 0, there.stderr
    assert PASSWORD not in there.stdout + there.stderr and ":***@" in there.stdout
    assert f"  papers: {len(before['papers'])} row(s)" in there.stdout

    again = paperpost("db", "copy", "--from", f"sqlite:{old}", "--to", pg_url, data=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr and PASSWORD not in again.stderr
    forced = paperpost("db", "copy", "--from", f"sqlite:{old}", "--to", pg_url, "--force",
                       data=tmp_path)  # fmt: skip
    assert forced.returncode == 0, forced.stderr

    back = tmp_path / "back" / STORE_FILENAME
    home = paperpost("db", "copy", "--from", pg_url, "--to", f"sqlite:{back}", data=tmp_path)
    assert home.returncode == 0, home.stderr
    assert rows(back) == before  # every row, byte for byte (the index flag aside)

    # The copy on PostgreSQL serves as the old folder did: the channel and its saves.
    listed = paperpost("console", stdin="list\nsaved\n", data=tmp_path / "replica",
                       env={"PAPERPOST_DATABASE_URL": pg_url})  # fmt: skip
    assert "agents" in listed.stdout and "2608.19880" in listed.stdout, listed.stderr


def test_db_upgrade_creates_the_schema_once_and_says_so(tmp_path: Path, pg_url: str) -> None:
    env = {"PAPERPOST_DATABASE_URL": pg_url}
    first = paperpost("db", "upgrade", data=tmp_path, env=env)
    assert first.returncode == 0 and "created" in first.stdout, first.stderr
    second = paperpost("db", "upgrade", data=tmp_path, env=env)
    assert second.returncode == 0 and "was version 1" in second.stdout
    assert PASSWORD not in first.stdout + second.stdout
    with Store(tmp_path / "any", pg_url) as store:
        assert store.schema_found == 1
    local = paperpost("db", "upgrade", data=tmp_path / "sqlite")
    assert local.returncode == 0 and str(tmp_path / "sqlite" / STORE_FILENAME) in local.stdout


def test_a_wrong_password_is_one_line_naming_the_host(tmp_path: Path, pg_url: str) -> None:
    bad = pg_url.replace(PASSWORD, "Not-The-Pw-9")
    result = paperpost("db", "upgrade", data=tmp_path, env={"PAPERPOST_DATABASE_URL": bad})
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "127.0.0.1" in result.stderr and "password authentication failed" in result.stderr
    assert "Not-The-Pw-9" not in result.stderr


def test_the_database_url_is_read_checked_and_never_shown() -> None:
    url = "postgresql://pp:S3cret-Pw@db.example.org:5432/paperpost"
    config = Config.from_env({"PAPERPOST_DATABASE_URL": url})
    assert config.database_url == url and "S3cret-Pw" not in repr(config)
    assert Config.from_env({}).database_url is None  # SQLite in the data folder
    with pytest.raises(ConfigError, match=r"^PAPERPOST_DATABASE_URL is not valid") as caught:
        Config.from_env({"PAPERPOST_DATABASE_URL": "mysql://pp:S3cret-Pw@db/paperpost"})
    assert "S3cret-Pw" not in str(caught.value)
    assert masked(url) == "postgresql://pp:***@db.example.org:5432/paperpost"
    assert "S3cret" not in masked("postgresql://db/paperpost?user=pp&password=S3cret-Pw")
