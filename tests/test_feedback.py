"""Team feedback and the channel's reading list, through the real core."""

from __future__ import annotations

import json
import multiprocessing
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.grammar import parse_command
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.errors import CommandError, UserError
from paperpost.bot.feedback.votes import FeedbackStore, Kind, Vote
from tests.conftest import FakeClock
from tests.postgres import both_backends
from tests.test_cli import paperpost

SLACK = ChannelKey("slack", "T1", "C1")
OTHER = ChannelKey("slack", "T1", "C2")


def ids(core: Paperpost, n: int = 3) -> list[str]:
    day = core.library.latest_day()
    assert day is not None
    return [p.id for p in core.library.papers_on(day)[:n]]


async def say(core: Paperpost, line: str, user: str = "U1", channel: ChannelKey = SLACK) -> str:
    reply = await core.handle(channel, line, user=user)
    assert not reply.is_error, reply.text
    return reply.text


@both_backends
async def test_pressing_again_takes_the_vote_back(core: Paperpost) -> None:
    a = ids(core)[0]
    assert "1 like(s)" in await say(core, f"like {a}", "U1")
    assert "2 like(s)" in await say(core, f"like {a}", "U2")
    assert "took back" in await say(core, f"like {a}", "U1")
    likes = [v for v in core.feedback.votes(SLACK) if v.kind is Kind.LIKE]
    assert [v.user for v in likes] == ["U2"]


async def test_saved_lists_newest_first_with_who_saved(core: Paperpost, clock: FakeClock) -> None:
    a, b, _ = ids(core)
    await say(core, f"save {a}", "ana")
    clock.now += timedelta(minutes=5)
    await say(core, f"save https://arxiv.org/abs/{b}v2", "bo")
    clock.now += timedelta(minutes=5)
    await say(core, f"save {a}", "cy")  # a saved again later: now the newest
    text = await say(core, "saved")
    assert text.index(a) < text.index(b)
    assert "saved by ana, cy (2)" in text and "saved by bo (1)" in text
    clock.now += timedelta(days=8)
    await say(core, f"save {b}", "dee")
    week = await say(core, "saved week")
    assert b in week and a not in week  # a's saves are over a week old
    assert a in await say(core, "saved all")


@both_backends
async def test_unsave_own_then_everyones_and_forget_me(core: Paperpost) -> None:
    a, b, _ = ids(core)
    for user in ("U1", "U2"):
        await say(core, f"save {a}", user)
        await say(core, f"like {b}", user)
    await say(core, f"save {a}", "U1", channel=OTHER)
    assert "your save" in await say(core, f"unsave {a}", "U1")
    assert "not on your reading list" in await say(core, f"unsave {a}", "U1")
    assert "saved by U2 (1)" in await say(core, "saved")
    assert parse_command(f"unsave {a} all").changes_channel  # /papers-admin, announced
    assert not parse_command(f"unsave {a}").changes_channel
    assert "all 1 save(s)" in await say(core, f"unsave {a} all", "U1")
    assert "Forgot your 1 vote(s)" in await say(core, "forget me", "U1")
    left = core.feedback.votes(SLACK)
    assert {(v.user, v.kind) for v in left} == {("U2", Kind.LIKE)}
    assert len(core.feedback.votes(OTHER)) == 1  # another channel's votes are untouched


async def test_top_team_ranks_by_the_channels_votes(core: Paperpost, clock: FakeClock) -> None:
    a, b, c = ids(core)
    await say(core, f"like {c}", "U1")
    for user in ("U1", "U2"):
        await say(core, f"like {b}", user)
    await say(core, f"save {b}", "U3")
    await say(core, f"like {a}", "U9", channel=OTHER)  # not this channel's
    text = await say(core, "top team week")
    assert text.index(b) < text.index(c) and a not in text
    assert "👍 2 · 🔖 1" in text
    clock.now += timedelta(days=8)
    assert "No 👍 or 🔖" in await say(core, "top team")
    assert b in await say(core, "top team month")


async def test_feedback_commands_are_not_confused_with_others(core: Paperpost) -> None:
    """``search team`` is a search, not the team board; bad periods name the fix."""
    reply = await core.handle(SLACK, "search team", user="U1")
    assert reply.command == "search" and not reply.is_error and "most liked" not in reply.text
    mistakes = [("forget everyone", "forget me"), ("saved year", "week, month or all"),
                ("like", "like which paper"), ("top team year", "week or month")]  # fmt: skip
    for line, hint in mistakes:
        with pytest.raises(CommandError, match=hint):
            parse_command(line)
    unknown = await core.handle(SLACK, "save 2199.99999", user="U1")
    assert unknown.is_error and "no paper" in unknown.text


async def test_unsubscribe_all_and_posting_errors_keep_votes(core: Paperpost) -> None:
    a = ids(core)[0]
    await say(core, "subscribe agents")
    await say(core, f"save {a}")
    await say(core, "unsubscribe all")
    await say(core, "pause")
    assert len(core.feedback.votes(SLACK)) == 1


@both_backends
async def test_export_import_round_trips_votes(core: Paperpost, tmp_path: Path) -> None:
    a = ids(core)[0]
    await say(core, "subscribe agents")
    await say(core, f"save {a}", "U1")
    await say(core, f"like {a}", "U2")
    exported = json.loads(json.dumps(core.export_channels()))
    assert len(exported["feedback"]) == 2
    core.feedback.forget_channel(SLACK)
    assert core.feedback.votes(SLACK) == []
    core.import_channels(exported)
    core.import_channels(exported)  # again: still one row per vote
    assert sorted(v.to_json() for v in core.feedback.votes()) == exported["feedback"]
    old = {k: v for k, v in exported.items() if k != "feedback"}  # written before votes
    core.import_channels(old)
    assert len(core.feedback.votes(SLACK)) == 2


async def test_a_bad_vote_refuses_the_whole_import(core: Paperpost) -> None:
    document = core.export_channels()
    document["channels"]["slack:T1:C9"] = document["channels"].get("console:local") or {}
    good = Vote(SLACK, ids(core)[0], Kind.SAVE, "U1", "U1", datetime(2026, 8, 1, tzinfo=UTC))
    for bad in (["slack:T1:C1", "2608.1", "vote", "U1", "n", "2026-08-01T00:00:00+00:00"],
                ["slack:T1:C1", "2608.1", "save", "U1", "n", "2026-08-01T00:00:00"],
                "not a list"):  # fmt: skip
        document["feedback"] = [good.to_json(), bad]
        with pytest.raises(UserError, match="vote 2 in the import is invalid"):
            core.import_channels(document)
        assert core.feedback.votes() == []
        assert ChannelKey.parse("slack:T1:C9") not in dict(core.channel_list())


def _toggle_many(path: str, worker: int, users: int) -> None:
    store = FeedbackStore(Path(path))
    at = datetime(2026, 8, 24, tzinfo=UTC)
    for u in range(users):
        for kind in Kind:
            store.toggle(Vote(SLACK, "2608.19880", kind, f"W{worker}U{u}", "n", at))


async def test_votes_from_many_processes_are_each_counted_once(core: Paperpost) -> None:
    """A read-modify-write of one row per paper would lose votes here."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_toggle_many, args=(str(core.store.path), w, 25))
             for w in range(4)]  # fmt: skip
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(core.feedback.votes(SLACK)) == 4 * 25 * 2


# -- paperpost saved -----------------------------------------------------------------
_ENTRY = re.compile(r"@(\w+)\{([^,\s]+),\s*(.*?)\n\}\n?", re.S)
_FIELD = re.compile(r"\s*(\w+)\s*=\s*")


def parse_bibtex(text: str) -> list[dict[str, str]]:
    """A small BibTeX reader: entries of ``name = {value}`` fields with balanced braces."""
    entries, pos = [], 0
    text = text.strip() + "\n"
    while pos < len(text.rstrip()):
        head = re.compile(r"\s*@(\w+)\{([^,\s{}]+),").match(text, pos)
        assert head, f"no entry at {text[pos : pos + 40]!r}"
        fields, pos = {"ENTRYTYPE": head.group(1), "ID": head.group(2)}, head.end()
        while True:
            field = _FIELD.match(text, pos)
            if not field:
                break
            assert text[field.end()] == "{", "values are braced"
            depth, i = 0, field.end()
            while True:
                ch = text[i]
                if ch == "\\":
                    i += 2
                    continue
                depth += {"{": 1, "}": -1}.get(ch, 0)
                i += 1
                if depth == 0:
                    break
            fields[field.group(1).lower()] = text[field.end() + 1 : i - 1]
            pos = i
            sep = re.compile(r"\s*,").match(text, pos)
            if sep:
                pos = sep.end()
        close = re.compile(r"\s*\}").match(text, pos)
        assert close, f"entry {fields['ID']} is not closed"
        pos = close.end()
        entries.append(fields)
    return entries


def test_saved_cli_bibtex_parses_and_json_lists(tmp_path: Path) -> None:
    data = tmp_path / "data"
    lines = "save 2608.19880\nlike 2608.19880\nsave 2608.19880\nsave 2608.19880\n"
    run = paperpost("console", "--offline", data=data, stdin=lines)
    assert run.returncode == 0, run.stderr
    bib = paperpost("saved", "--channel", "console:local", "--bibtex", data=data)
    assert bib.returncode == 0, bib.stderr
    (entry,) = parse_bibtex(bib.stdout)
    assert entry["ENTRYTYPE"] == "misc" and entry["eprint"] == "2608.19880"
    assert entry["archiveprefix"] == "arXiv" and entry["year"] == "2026"
    assert entry["url"] == "https://arxiv.org/abs/2608.19880"
    assert " and " in entry["author"] and "EnvHarness" in entry["title"]
    listed = json.loads(
        paperpost("saved", "--channel", "console:local", "--json", data=data).stdout
    )
    assert [(p["id"], p["likes"], [s["user"] for s in p["saved_by"]]) for p in listed] == [
        ("2608.19880", 1, ["you"])
    ]
    bad = paperpost("saved", "--channel", "nowhere", data=data)
    assert bad.returncode == 2 and "not a channel key" in bad.stderr


def test_bibtex_escapes_hostile_titles() -> None:
    from paperpost.bot.feedback.bibtex import entry
    from paperpost.bot.papers.model import Paper

    paper = Paper(id="2608.00001", title="50% of {unbalanced} & \\evil} $x_1$ #1 ~ ^",
                  abstract="", authors=("A. B}", "C {D"), featured_days=())  # fmt: skip
    (parsed,) = parse_bibtex(entry(paper))
    assert parsed["eprint"] == "2608.00001" and "year" not in parsed
    assert parsed["author"].count(" and ") == 1
