"""What a new user tripped over (issue 9, item 6): each test names the defect it catches."""

from __future__ import annotations

import asyncio
from datetime import date, time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperpost import cli
from paperpost.adapters.console import render_digest, render_reply
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from paperpost.bot.channels.settings import parse_time
from paperpost.bot.config import Config
from paperpost.bot.errors import CommandError
from paperpost.bot.papers.snapshot import BundledSnapshot

DAY = date(2026, 8, 21)  # a Friday, the bundled snapshot's last day


# -- set time ------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["20:15pm", "13pm", "0am", "99pm", "00:30am", "24:00", "9:5"])
def test_a_time_mixing_both_clocks_is_refused(text: str) -> None:
    # defect: "20:15pm" saved 08:15, "13pm" 13:00, "0am" 00:00
    with pytest.raises(CommandError, match="not a time"):
        parse_time(text)


@given(st.times().map(lambda t: t.replace(second=0, microsecond=0)))
def test_every_time_round_trips_in_both_clocks(t: time) -> None:
    # defect: a 12-hour form mapping to the wrong hour (12am → 12:00)
    assert parse_time(t.strftime("%H:%M")) == t
    assert parse_time(t.strftime("%I:%M%p")) == t
    assert parse_time(t.strftime("%-I:%M %p").lower()) == t


@given(st.text(alphabet="0123456789:apmAPM .", max_size=9))
def test_any_accepted_time_reads_back_as_itself(text: str) -> None:
    # defect: an accepted text whose saved value does not parse back the same
    try:
        parsed = parse_time(text)
    except CommandError:
        return
    assert parse_time(parsed.strftime("%H:%M")) == parsed


# -- replies in the console ------------------------------------------------------------
@pytest.fixture
async def core(tmp_path: Path) -> Paperpost:
    return await Paperpost.open(Config(data_dir=tmp_path / "data"), source=BundledSnapshot())


async def test_weekend_days_are_allowed_with_a_warning(core: Paperpost) -> None:
    # defect: set days sat,sun accepted silently
    reply = await core.handle(CONSOLE_CHANNEL, "set days sat,sun")
    assert not reply.is_error and "Monday to Friday" in reply.text
    assert "Monday to Friday" not in (await core.handle(CONSOLE_CHANNEL, "set days mon-fri")).text
    core.close()


async def test_show_prints_the_full_card(core: Paperpost) -> None:
    # defect: the console printed show as a three-line list entry
    text = render_reply(await core.handle(CONSOLE_CHANNEL, "show 2608.19880"))
    for part in ("Google", "▲163 upvotes", "1 comment ·", "arxiv.org/pdf/2608.19880",
                 "code https://github.com/google-research/envharness", "EnvRigger"):  # fmt: skip
        assert part in text
    assert "1 comments" not in text
    core.close()


async def test_a_threaded_digest_shows_its_thread_parts(core: Paperpost) -> None:
    # defect: with threads on, the console printed the list alone
    await core.handle(CONSOLE_CHANNEL, "set threads on")
    [digest] = core.digests_for_day(DAY, [CONSOLE_CHANNEL])
    text = render_digest(digest)
    n = len(digest.entries)
    assert text.count("in the thread") == n and f"in the thread, {n}/{n}:" in text
    assert text.index("in the thread") > text.index(f"{n:>2}. ")  # under the list
    assert "arxiv.org/pdf/" in text
    core.close()


async def test_plurals_dates_and_an_empty_preview(core: Paperpost) -> None:
    # defects: "1 papers", "search(es)", "Fri 21 Aug" beside "2026-08-21", a bare
    # "It would have carried on Fri 21 Aug:" over nothing
    assert (
        "It would have carried on Fri 21 Aug 2026:"
        in (await core.handle(CONSOLE_CHANNEL, "preview")).text
    )  # no saved search: the day's top papers
    await core.handle(CONSOLE_CHANNEL, "subscribe title:zzzqqqx")
    preview = (await core.handle(CONSOLE_CHANNEL, "preview")).text
    assert "It would have carried nothing on Fri 21 Aug 2026: no paper" in preview
    assert "Fri 21 Aug 2026: 0 matching" in preview
    subscribed = await core.handle(CONSOLE_CHANNEL, "subscribe title:envharness")
    assert "It matched 1 paper over the last 5 featured days" in subscribed.text
    one = await core.handle(CONSOLE_CHANNEL, "search title:envharness")
    assert one.text.startswith("Top 1 match for")
    core.close()


# -- the command line ------------------------------------------------------------------
def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_search_words_may_start_with_a_minus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # defect: argparse took -survey for an option (exit 2, "unrecognized arguments")
    data = ("--data-dir", str(tmp_path), "--offline")
    status, with_minus, err = run_cli(capsys, "search", "agents", "-survey", *data, "--json")
    assert status == 0, err
    status, plain, _ = run_cli(capsys, "search", "agents", "--limit", "50", *data, "--json")
    assert with_minus != plain and '"id"' in with_minus
    assert (run_cli(capsys, "search", "--limit=1", "-survey", "agents", *data)[0]) == 0


def test_cli_argument_rewriting_keeps_options_and_order() -> None:
    rewrite = cli.search_words_as_query
    assert rewrite(["search", "a", "-b", "--limit", "3", "c", "--json"]) == [
        "search", "--limit", "3", "--json", "--", "a", "-b", "c",
    ]  # fmt: skip
    assert rewrite(["search", "x", "--", "--json"]) == ["search", "--", "x", "--json"]
    assert rewrite(["show", "search"]) == ["show", "search"]  # no words after it
    assert rewrite(["--data-dir", "search", "show", "x"]) == ["--data-dir", "search", "show", "x"]


async def _subscribed_console(data: Path) -> None:
    core = await Paperpost.open(Config(data_dir=data), source=BundledSnapshot())
    await core.handle(CONSOLE_CHANNEL, "subscribe agents")
    await core.handle(CONSOLE_CHANNEL, "set top 2")
    core.close()


def test_digest_dry_run_prints_what_it_would_send(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # defect: --dry-run printed one status line and none of the digest
    asyncio.run(_subscribed_console(tmp_path))
    args = ("digest", "--dry-run", "--date", "2026-08-21", "--offline", "--data-dir", str(tmp_path))
    status, out, err = run_cli(capsys, *args)
    assert status == 0, err
    assert "would send to console:local" in out and "Top papers of Fri 21 Aug 2026" in out
    assert out.count("Matched “agents”") == 2
    assert "console:local 2026-08-21: would send 2 papers (dry run)" in err
    status, out, _ = run_cli(capsys, *args)  # nothing was posted: it would send again
    assert "would send to console:local" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--channel", "console:locl"),
            "no channel console:locl: known channels are console:local",
        ),
        (("--date", "2026-08-22"), "2026-08-22 is a Saturday: Hugging Face features papers Monday"),
        (("--date", "2099-03-02"), "2099-03-02 has not happened yet"),
    ],
)
def test_digest_refuses_what_can_never_be_posted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    # defects: an unknown channel was posted anyway; a Saturday or a future day was
    # exit 1 "waiting"
    if "--channel" in args:  # the dates are refused before any store is opened
        asyncio.run(_subscribed_console(tmp_path))
    status, out, err = run_cli(capsys, "digest", *args, "--offline", "--data-dir", str(tmp_path))
    assert (status, out) == (2, "")
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args", [("search", "agents"), ("show", "2608.19880"), ("channels", "list"),
             ("channels", "export")],
)  # fmt: skip
def test_read_only_commands_never_create_the_data_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    # defect: a mistyped --data-dir made an empty folder and a store there
    missing = tmp_path / "typo" / "data"
    status, _, err = run_cli(capsys, *args, "--data-dir", str(missing))
    assert status == 2 and f"no Paperpost data at {missing}" in err
    assert not (tmp_path / "typo").exists()


def test_invite_url_from_an_application_id_needs_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # defect: invite-url refused to run without DISCORD_BOT_TOKEN
    monkeypatch.delenv("DISCORD_BOT_TOKEN", raising=False)
    monkeypatch.setenv("DISCORD_API_URL", "http://127.0.0.1:9")  # nothing listens: no network
    status, out, err = run_cli(
        capsys,
        "discord",
        "invite-url",
        "--application-id",
        "1234567890",
        "--data-dir",
        str(tmp_path),
    )
    assert status == 0, err
    assert out.strip().startswith("https://discord.com/oauth2/authorize?client_id=1234567890&")
    with pytest.raises(SystemExit) as refused:  # argparse's own exit, one usage line
        cli.main(["discord", "invite-url", "--application-id", "12ab"])
    assert refused.value.code == 2


@pytest.mark.parametrize("line", ["set top ³", "set top ٣", "set min-upvotes ²"])
async def test_unicode_digits_are_a_clear_error_not_an_apology(core: Paperpost, line: str) -> None:
    reply = await core.handle(CONSOLE_CHANNEL, line)
    assert reply.is_error and "something went wrong" not in reply.text, reply.text


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory"])
async def test_a_zone_that_follows_the_host_is_refused(core: Paperpost, zone: str) -> None:
    reply = await core.handle(CONSOLE_CHANNEL, f"set tz {zone}")
    assert reply.is_error and "not a time zone" in reply.text, reply.text
