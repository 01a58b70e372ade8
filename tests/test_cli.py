"""The command line as a user runs it: a real process, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.hf_server import FakeHFServer, load_days


def paperpost(
    *args: str, data: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PAPERPOST_DATA_DIR": str(data), **(env or {})}
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        if name not in (env or {}):
            environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "paperpost.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        input=stdin,
        timeout=120,
    )


def test_demo_runs_offline(tmp_path: Path) -> None:
    result = paperpost("demo", data=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Top papers of Fri 21 Aug 2026" in result.stdout
    assert "/papers search" in result.stdout
    assert not (tmp_path / "paperpost.sqlite").exists()  # the demo uses a throw-away folder


def test_sync_pages_and_search_json(tmp_path: Path) -> None:
    with FakeHFServer(load_days()) as hf:
        result = paperpost(
            "sync",
            "--since",
            "2026-05-11",
            "--until",
            "2026-05-13",
            data=tmp_path,
            env={"HF_ENDPOINT": hf.url},
        )
    assert result.returncode == 0, result.stderr
    assert "synced 3 days, 50 papers" in result.stdout  # the 50-item day, and two empty
    assert "3/3" in result.stderr  # the progress bar
    found = paperpost("search", "model", "--json", "--limit", "3", data=tmp_path)
    assert found.returncode == 0
    items = json.loads(found.stdout)
    assert 1 <= len(items) <= 3
    assert {"id", "title", "upvotes", "url"} <= set(items[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "cat:cs.CL", "--offline"), "Unknown field"),
        (("search", "since:2026-13-40", "--offline"), "Bad date"),
        (("show", "9999.99999", "--offline"), "no stored paper"),
        (("search", "agents"), "no papers stored yet"),
    ],
)
def test_user_errors_are_one_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = paperpost(*args, data=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("search", "agents"),  # refused: the store is empty
        ("search", "agents", "--offline"),
        ("show", "9999.99999", "--offline"),  # refused: no such paper
        ("show", "2608.19880", "--offline", "--json"),
        ("search", "cat:cs.CL", "--offline"),  # refused: malformed
        ("sync", "--date", "2026-08-21", "--offline"),
        ("channels", "list"),
        ("channels", "export"),
    ],
)
def test_every_command_closes_the_core_it_opened(
    tmp_path: Path, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperpost import cli
    from paperpost.bot.app import Paperpost

    opened, closed = [], []
    real_open, real_close = Paperpost.open.__func__, Paperpost.close  # type: ignore[attr-defined]

    async def counting_open(cls: type[Paperpost], *a: object, **kw: object) -> Paperpost:
        core = await real_open(cls, *a, **kw)
        opened.append(core)
        return core

    def counting_close(self: Paperpost) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(Paperpost, "open", classmethod(counting_open))
    monkeypatch.setattr(Paperpost, "close", counting_close)
    status = cli.main([*args, "--data-dir", str(tmp_path)])
    assert status in (0, 2)
    assert len(opened) == 1 and closed == opened


def test_console_then_digest_posts_once(tmp_path: Path) -> None:
    script = "/papers subscribe agents\n/papers set top 3\n/papers list\n"
    run = paperpost("console", "--offline", data=tmp_path, stdin=script)
    assert run.returncode == 0, run.stderr
    assert "1. agents" in run.stdout
    first = paperpost(
        "digest", "--channel", "console:local", "--date", "2026-08-21", "--offline", data=tmp_path
    )
    assert first.returncode == 0, first.stderr
    # The day's three most upvoted papers about agents, in order, and nothing else.
    assert first.stdout.count("Matched “agents”") == 3
    ranked = [line.split("]")[0].rsplit("▲", 1)[1] for line in first.stdout.splitlines()
              if "[▲" in line]  # fmt: skip
    assert ranked == ["163", "54", "32"]
    assert "(3 papers)" in first.stdout
    second = paperpost(
        "digest", "--channel", "console:local", "--date", "2026-08-21", "--offline", data=tmp_path
    )
    assert second.returncode == 0
    assert second.stdout == "" and "already sent" in second.stderr


def test_channels_export_import_round_trip(tmp_path: Path) -> None:
    paperpost(
        "console",
        "--offline",
        data=tmp_path / "a",
        stdin="subscribe diffusion\nset tz Asia/Tokyo\n",
    )
    exported = paperpost("channels", "export", data=tmp_path / "a")
    assert exported.returncode == 0
    imported = paperpost("channels", "import", "-", data=tmp_path / "b", stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    again = paperpost("channels", "export", data=tmp_path / "b")
    assert json.loads(again.stdout) == json.loads(exported.stdout)
    assert "Asia/Tokyo" in paperpost("channels", "list", data=tmp_path / "b").stdout


def test_discord_invite_url_asks_discord_for_the_application(tmp_path: Path) -> None:
    import asyncio
    import threading

    from tests.fakes.discord_fake import APP_ID, FakeDiscord

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    fake = asyncio.run_coroutine_threadsafe(FakeDiscord().start(), loop).result(timeout=30)
    try:
        env = {"DISCORD_BOT_TOKEN": "bot-token", "DISCORD_API_URL": fake.api_url}
        result = paperpost("discord", "invite-url", data=tmp_path, env=env)
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
    assert result.returncode == 0, result.stderr
    assert f"client_id={APP_ID}" in result.stdout
    assert "scope=bot+applications.commands" in result.stdout
    missing = paperpost("discord", "invite-url", data=tmp_path)
    assert missing.returncode == 2 and "DISCORD_BOT_TOKEN" in missing.stderr


def test_channels_import_refuses_a_bad_record_and_imports_nothing(tmp_path: Path) -> None:
    # Every field's refusals are in tests/test_channels_import.py; here, the CLI's answer.
    full = {
        "post_time": "09:00", "timezone": "UTC", "days": [0, 1, 2, 3, 4], "top_n": 5,
        "min_upvotes": 0, "threads": False, "paused": False, "paused_reason": None,
        "subscriptions": [],
    }  # fmt: skip
    document = {
        "version": 1,
        "channels": {"slack:T1:OK": full, "slack:T1:BAD": {**full, "days": [7]}},
    }
    result = paperpost("channels", "import", "-", data=tmp_path, stdin=json.dumps(document))
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and "slack:T1:BAD" in line and "'days'" in line, line
    assert "slack:T1" not in paperpost("channels", "list", data=tmp_path).stdout


def test_a_store_from_a_newer_paperpost_is_refused_in_one_line(tmp_path: Path) -> None:
    import sqlite3

    assert paperpost("channels", "list", data=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "paperpost.sqlite") as conn:
        conn.execute("PRAGMA user_version = 999")
    result = paperpost("channels", "list", data=tmp_path)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line and "version 999" in line and "upgrade Paperpost" in line, line


def test_run_without_a_platform_token_exits_2_naming_the_variables(tmp_path: Path) -> None:
    # Before: the console on stdin, which ends at once with stdin closed (a container
    # without tokens restarted in a silent loop, exit 0).
    result = paperpost("run", data=tmp_path / "data", stdin="")
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line, line
    assert "SLACK_BOT_TOKEN" in line and "DISCORD_BOT_TOKEN" in line and "paperpost console" in line
    assert not (tmp_path / "data").exists()  # refused before the store is opened


def test_the_console_command_answers_stdin_offline(tmp_path: Path) -> None:
    result = paperpost("console", "--offline", data=tmp_path, stdin="/papers top\n")
    assert result.returncode == 0, result.stderr
    assert "Most upvoted papers of" in result.stdout and "EnvHarness" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--offline", "search", "agents", "--limit", "1"),
        ("search", "agents", "--limit", "1", "--offline"),
        ("-v", "--offline", "search", "agents", "--limit", "1"),
        ("--offline", "show", "2608.19880"),
    ],
)
def test_global_options_go_before_or_after_the_command(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    # --data-dir before the command too: PAPERPOST_DATA_DIR points elsewhere.
    result = paperpost("--data-dir", str(tmp_path / "here"), *args, data=tmp_path / "elsewhere")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "here" / "paperpost.sqlite").exists()
    assert not (tmp_path / "elsewhere").exists()
    assert "huggingface.co/papers/" in result.stdout  # offline: the bundled snapshot


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PORT", "abc"), ("SLACK_POSTS_PER_SECOND", "fast"), ("DISCORD_GUILD_ID", "my-server")],
)
def test_run_with_a_value_that_does_not_parse_is_one_line_exit_2(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-unused", "DISCORD_BOT_TOKEN": "unused", variable: value}
    result = paperpost("run", data=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == result.stderr.strip().splitlines()[0]
    assert f"{variable}={value!r} is not valid" in result.stderr


def test_an_unexpected_error_is_one_line_and_v_shows_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from paperpost import cli

    def broken(*_args: object) -> int:
        raise RuntimeError("the disk\nsaid no")

    monkeypatch.setitem(cli.COMMANDS, "doctor", broken)
    assert cli.main(["doctor", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "paperpost: unexpected error: the disk said no; run with -v for details\n"
    assert cli.main(["-v", "doctor", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: the disk" in err


def test_doctor_reports_the_index_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fine = paperpost("doctor", "--offline", data=tmp_path)
    assert fine.returncode == 0, fine.stderr
    assert fine.stdout.startswith("search index consistent: 110 papers stored, 110 indexed;")
    assert len(fine.stdout.strip().splitlines()) == 1

    from paperpost import cli
    from paperpost.bot.app import Paperpost
    from paperpost.bot.catalog.library import IndexReport

    unrepaired = IndexReport(
        stored=110, indexed=109, missing=1, extra=0, duplicated=0,
        pending_days=0, writer=False, repaired=False,
    )  # fmt: skip
    monkeypatch.setattr(Paperpost, "check_index", lambda self: unrepaired)
    assert cli.main(["doctor", "--data-dir", str(tmp_path)]) == 1
