"""``paperpost db upgrade`` and ``paperpost db copy``, as an operator runs them: a SQLite
deployment moved to PostgreSQL and back loses nothing, a non-empty target is refused
without --force, and no output shows the password."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.catalog import db_copy
from paperpost.bot.catalog.pg_database import masked
from paperpost.bot.catalog.store import STORE_FILENAME, TABLES, Store
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config, ConfigError
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.cli import main
from tests.conftest import FakeClock, RecordingPlatform, no_sleep
from tests.postgres import PASSWORD
from tests.test_cli import paperpost

TABLES_COPIED = (*TABLES, *db_copy.SQL_TABLES)
CHANNEL = ChannelKey("slack", "T1", "C1")
DAY = date(2026, 8, 21)


def rows(store_file: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(store_file)) as conn:
        return {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall())
            for name in TABLES_COPIED
        }


def db(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``paperpost db …`` in this process (as the CLI runs it): status, stdout, stderr."""
    code = main(["db", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_a_deployment_moves_to_postgresql_and_back_unchanged(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    core = await Paperpost.open(
        Config(data_dir=old), source=BundledSnapshot(), clock=FakeClock(), outbox_sleep=no_sleep
    )
    core.register_platform(RecordingPlatform(name="slack"))
    for line in ("subscribe agents", "set tz Europe/Berlin", "save 2608.19880", "pause", "resume"):
        assert not (await core.handle(CHANNEL, line, user="U1")).is_error
    await core.post_digests(day=DAY, channel=CHANNEL)
    core.close()
    before = rows(old / STORE_FILENAME)
    before["meta"] = [r for r in before["meta"] if r[0] != "index_consistent"]
    assert before["channels"] and before["feedback"] and before["claims"] and before["ledger"]

    code, out, err = db(capsys, "copy", "--from", f"sqlite:{old}", "--to", pg_url)
    assert code == 0, err
    assert PASSWORD not in out + err and ":***@" in out
    assert f"  papers: {len(before['papers'])} row(s)" in out
    assert f"  meta: {len(before['meta'])} row(s)" in out  # counts what the target holds

    code, out, err = db(capsys, "copy", "--from", f"sqlite:{old}", "--to", pg_url)
    assert code == 2 and "--force" in err and PASSWORD not in out + err
    code, out, err = db(capsys, "copy", "--from", f"sqlite:{old}", "--to", pg_url, "--force")
    assert code == 0, err

    back = tmp_path / "back" / STORE_FILENAME
    code, out, err = db(capsys, "copy", "--from", pg_url, "--to", f"sqlite:{back}")
    assert code == 0, err
    assert rows(back) == before  # every row, byte for byte (the index flag aside)

    # The copy on PostgreSQL serves as the old folder did: the channel and its saves.
    replica = await Paperpost.open(
        Config(data_dir=tmp_path / "replica", database_url=pg_url), source=BundledSnapshot()
    )
    assert "agents" in (await replica.handle(CHANNEL, "list")).text
    assert "2608.19880" in (await replica.handle(CHANNEL, "saved")).text
    replica.close()


def test_db_upgrade_creates_the_schema_once_and_says_so(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERPOST_DATABASE_URL", pg_url)
    first = db(capsys, "upgrade")
    assert first[0] == 0 and "created" in first[1], first[2]
    second = db(capsys, "upgrade")
    assert second[0] == 0 and "was version 1" in second[1]
    assert PASSWORD not in first[1] + second[1]
    with Store(tmp_path / "any", pg_url) as store:
        assert store.schema_found == 1
    monkeypatch.delenv("PAPERPOST_DATABASE_URL")
    local = db(capsys, "upgrade", "--data-dir", str(tmp_path / "sqlite"))
    assert local[0] == 0 and str(tmp_path / "sqlite" / STORE_FILENAME) in local[1]


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
