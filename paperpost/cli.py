"""The ``paperpost`` command line.

User errors (a bad query, an unknown paper, a bad date) end with a one-line
message and exit status 2; an unreadable store or a failed sync with exit
status 1; never with a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from paperpost import db_command, saved_command
from paperpost.bot.app import Paperpost
from paperpost.bot.catalog.library import IndexReport
from paperpost.bot.channels.key import CONSOLE_CHANNEL, ChannelKey
from paperpost.bot.channels.plain_text import paper_detail, paper_list, plural
from paperpost.bot.channels.replies import Reply
from paperpost.bot.config import Config
from paperpost.bot.errors import PaperpostError, UserError
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.snapshot import BundledSnapshot
from paperpost.bot.papers.sync import days_in_range
from paperpost.logs import configure_logging

T = TypeVar("T")
EXIT_USER_ERROR = 2
EXIT_FAILURE = 1
DATA_DIR_OPTION = "--data-dir"
# ``search``'s own options; any other word starting with "-" is a query word (-survey).
# (option: takes a value)
SEARCH_OPTIONS = {
    "--limit": True, "--json": False, "--offline": False, "-v": False,
    "--verbose": False, "-h": False, "--help": False, DATA_DIR_OPTION: True,
}  # fmt: skip


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-08-21") from None


def _channel(text: str) -> ChannelKey:
    try:
        return ChannelKey.parse(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return int(text)


def _application_id(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not an application id (digits only)")
    return int(text)


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """``--data-dir``, ``--offline``, ``-v``: on the main parser (with defaults) and on
    every subcommand (without: an option given before the subcommand is kept)."""

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        DATA_DIR_OPTION,
        type=Path,
        default=default(None),
        help="state folder (default: $PAPERPOST_DATA_DIR)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=default(False),
        help="use the bundled snapshot of real papers instead of Hugging Face",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="log more"
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, defaults=False)

    parser = argparse.ArgumentParser(
        prog="paperpost",
        description="Hugging Face Daily Papers for Slack and Discord channels.",
    )
    _add_global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sync = sub.add_parser("sync", parents=[common], help="fetch featured days into the store")
    when = sync.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", type=_day, help="one featured day, YYYY-MM-DD")
    when.add_argument("--since", type=_day, help="first day of a range, YYYY-MM-DD")
    sync.add_argument("--until", type=_day, help="last day of the range (default: today, UTC)")

    search = sub.add_parser("search", parents=[common], help="search the local index")
    search.add_argument("query", nargs="+", help='query, e.g. agents "tool use" upvotes:>=10')
    search.add_argument("--limit", type=_positive, default=10, help="results to show (10)")
    search.add_argument("--json", action="store_true", help="print a JSON array")

    show = sub.add_parser("show", parents=[common], help="show one paper by arXiv id or URL")
    show.add_argument("paper", help="arXiv id, arxiv.org or huggingface.co/papers URL")
    show.add_argument("--json", action="store_true", help="print JSON")

    similar = sub.add_parser("similar", parents=[common], help="the papers most like one paper")
    similar.add_argument("paper", help="arXiv id, arxiv.org or huggingface.co/papers URL")
    similar.add_argument("--json", action="store_true", help="print a JSON array")

    sub.add_parser("demo", parents=[common], help="offline tour on the bundled snapshot")

    sub.add_parser(
        "run", parents=[common],
        help="serve Slack and/or Discord (needs SLACK_BOT_TOKEN or DISCORD_BOT_TOKEN)",
    )  # fmt: skip
    sub.add_parser(
        "console", parents=[common],
        help="the console channel on stdin, one command per line, until end of input",
    )  # fmt: skip
    sub.add_parser(
        "doctor", parents=[common], help="compare the search index with the store and repair it"
    )

    digest = sub.add_parser("digest", parents=[common], help="post digests now (cron mode)")
    digest.add_argument("--date", type=_day, help="post this featured day to every channel")
    digest.add_argument("--channel", type=_channel, help="only this channel key")
    digest.add_argument("--dry-run", action="store_true", help="build digests, post nothing")

    discord = sub.add_parser("discord", help="Discord set-up helpers")
    discord_sub = discord.add_subparsers(dest="discord_command", required=True, metavar="ACTION")
    invite = discord_sub.add_parser(
        "invite-url",
        parents=[common],
        help="print the bot's invite link (from --application-id, or asks Discord with "
        "DISCORD_BOT_TOKEN)",
    )
    invite.add_argument(
        "--application-id",
        type=_application_id,
        help="the application id (Developer Portal → General Information): no token or network",
    )

    saved_command.add_parser(sub, common, _channel)
    db_command.add_parser(sub, common)
    channels = sub.add_parser("channels", help="list, export or import channels")
    channels_sub = channels.add_subparsers(dest="channels_command", required=True, metavar="ACTION")
    listing = channels_sub.add_parser("list", parents=[common], help="every channel's settings")
    listing.add_argument("--json", action="store_true", help="print JSON")
    channels_sub.add_parser("export", parents=[common], help="print every channel as JSON")
    importing = channels_sub.add_parser("import", parents=[common], help="add channels from JSON")
    importing.add_argument(
        "file", type=Path, help="a file written by 'channels export' (- for stdin)"
    )
    return parser


def paper_summary_json(paper: Paper) -> dict[str, Any]:
    return {
        "id": paper.id,
        "title": paper.title,
        "upvotes": paper.upvotes,
        "url": paper.hf_url,
        "arxiv_url": paper.arxiv_url,
        "pdf_url": paper.pdf_url,
        "authors": list(paper.authors),
        "organization": paper.organization,
        "featured_days": [d.isoformat() for d in paper.featured_days],
    }


def _config(args: argparse.Namespace) -> Config:
    config = Config.from_env()
    return replace(config, data_dir=args.data_dir) if args.data_dir else config


@asynccontextmanager
async def opened(
    args: argparse.Namespace, config: Config, *, fill_empty: bool = True
) -> AsyncIterator[Paperpost]:
    """The core on ``config.data_dir``, always closed after; ``--offline`` makes the
    bundled snapshot its paper source."""
    source = BundledSnapshot() if args.offline else None
    core = await Paperpost.open(config, source=source, fill_empty=fill_empty)
    try:
        yield core
    finally:
        await core.aclose()


def existing_data_dir(config: Config, *, offline: bool = False) -> None:
    """Read-only commands never create the data folder: a mistyped path or a missing
    volume is exit 2 naming where they looked (``--offline`` may fill a new one)."""
    if offline or config.database_url or config.data_dir.is_dir():  # or in PostgreSQL
        return
    raise UserError(
        f"no Paperpost data at {config.data_dir} (from --data-dir, else $PAPERPOST_DATA_DIR, "
        "else ~/.local/share/paperpost): point there, or add --offline for the bundled snapshot"
    )


@asynccontextmanager
async def opened_with_papers(args: argparse.Namespace, config: Config) -> AsyncIterator[Paperpost]:
    """For read-only commands: an empty store is an error unless ``--offline``
    (which fills it from the bundled snapshot)."""
    existing_data_dir(config, offline=args.offline)
    async with opened(args, config, fill_empty=args.offline) as core:
        if core.health().papers == 0:
            raise UserError(
                "no papers stored yet: run 'paperpost sync --since YYYY-MM-DD', "
                "or add --offline to use the bundled snapshot"
            )
        yield core


def cmd_sync(args: argparse.Namespace, config: Config) -> int:
    if args.date:
        days = [args.date]
    else:
        try:
            days = days_in_range(args.since, args.until or datetime.now(UTC).date())
        except ValueError as exc:
            raise UserError(str(exc)) from None

    async def run() -> Any:
        async with opened(args, config, fill_empty=False) as core:
            with tqdm(total=len(days), unit="day", disable=len(days) < 2) as bar:

                def advance(day: date, papers: int) -> None:
                    bar.set_postfix_str(f"{day.isoformat()} {papers:>3} papers", refresh=False)
                    bar.update()

                return await core.sync(days, on_day=advance)

    report = asyncio.run(run())
    print(f"synced {plural(len(report.synced), 'day')}, {plural(report.papers, 'paper')}")
    for day, reason in report.failed:
        print(f"failed {day}: {reason}", file=sys.stderr)
    return EXIT_FAILURE if report.failed else 0


def cmd_search(args: argparse.Namespace, config: Config) -> int:
    async def run() -> list[Paper]:
        async with opened_with_papers(args, config) as core:
            return core.search(" ".join(args.query), limit=args.limit)

    papers = asyncio.run(run())
    if args.json:
        print(json.dumps([paper_summary_json(p) for p in papers], indent=2, ensure_ascii=False))
    elif papers:
        print(paper_list(papers))
    else:
        print("No papers match. Try fewer words, or a prefix like transform*.")
    return 0


def cmd_similar(args: argparse.Namespace, config: Config) -> int:
    async def run() -> Reply:
        async with opened_with_papers(args, config) as core:
            return await core.handle(CONSOLE_CHANNEL, f"similar {args.paper}")

    reply = asyncio.run(run())
    if reply.is_error:
        raise UserError(reply.text)
    if args.json:
        print(
            json.dumps([paper_summary_json(p) for p in reply.papers], indent=2, ensure_ascii=False)
        )
    else:
        print(paper_list(list(reply.papers)) if reply.papers else reply.text)
    return 0


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    async def run() -> Paper | None:
        async with opened_with_papers(args, config) as core:
            return core.paper(args.paper)

    paper = asyncio.run(run())
    if paper is None:
        raise UserError(f"no stored paper matches '{args.paper}': give an arXiv id or paper URL")
    if args.json:
        data = paper.to_json() | paper_summary_json(paper)
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(paper_detail(paper))
    return 0


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from paperpost.demo import run_demo

    return run_demo()


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from paperpost.service import run_service

    # A service says what it does: Paperpost's own INFO lines (ready, digests posted).
    logging.getLogger("paperpost").setLevel(logging.INFO)
    return asyncio.run(run_service(config, offline=args.offline))


def cmd_console(args: argparse.Namespace, config: Config) -> int:
    from paperpost.service import run_console

    return asyncio.run(run_console(config, offline=args.offline))


def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    async def run() -> IndexReport:
        async with opened(args, config, fill_empty=args.offline) as core:
            return await asyncio.to_thread(core.check_index)

    report = asyncio.run(run())
    print(report)
    return 0 if report.ok or report.repaired else EXIT_FAILURE


def cmd_digest(args: argparse.Namespace, config: Config) -> int:
    from paperpost.bot.delivery.outbox import Outcome
    from paperpost.service import post_digests_now

    if args.date is not None:
        featured_day_or_error(args.date, today=datetime.now(UTC).date())
    deliveries = asyncio.run(
        post_digests_now(
            config,
            offline=args.offline,
            day=args.date,
            channel=args.channel,
            dry_run=args.dry_run,
        )
    )
    if not deliveries:
        print("no channel is due (see 'paperpost channels list')", file=sys.stderr)
    failed = {Outcome.FAILED, Outcome.PAUSED, Outcome.NO_PLATFORM, Outcome.WAITING}
    return EXIT_FAILURE if any(d.outcome in failed for d in deliveries) else 0


def featured_day_or_error(day: date, *, today: date) -> None:
    """``digest --date``: a day Hugging Face can never feature is a user error, not a wait."""
    if day > today:
        raise UserError(f"{day} has not happened yet (today is {today}, UTC): pick a past weekday")
    if day.weekday() >= 5:
        raise UserError(
            f"{day} is a {day:%A}: Hugging Face features papers Monday to Friday, "
            "so no digest exists for it; pick a weekday"
        )


def cmd_channels(args: argparse.Namespace, config: Config) -> int:
    if args.channels_command == "import":
        text = sys.stdin.read() if str(args.file) == "-" else _read(args.file)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{args.file} is not JSON: {exc}") from None
        keys = asyncio.run(_with_channels(args, config, lambda core: core.import_channels(data)))
        print(f"imported {plural(len(keys), 'channel')}")
        return 0
    existing_data_dir(config)
    if args.channels_command == "export" or args.json:
        exported = asyncio.run(_with_channels(args, config, Paperpost.export_channels))
        print(json.dumps(exported, indent=2, ensure_ascii=False))
        return 0
    for key, s in asyncio.run(_with_channels(args, config, Paperpost.channel_list)):
        state = "paused" if s.paused else "active"
        print(
            f"{key}  {state}  {s.post_time:%H:%M} {s.timezone} {s.days_text()}  "
            f"top {s.top_n}  {plural(len(s.subscriptions), 'saved search', 'saved searches')}"
            f"  weekly {s.weekly or 'off'}"
        )
    return 0


async def _with_channels(
    args: argparse.Namespace, config: Config, work: Callable[[Paperpost], T]
) -> T:
    async with opened(args, config, fill_empty=False) as core:
        return work(core)


def cmd_saved(args: argparse.Namespace, config: Config) -> int:
    listed = asyncio.run(_with_channels(args, config, lambda core: core.saved_papers(args.channel)))
    print(saved_command.render(listed, args))
    return 0


def cmd_discord(args: argparse.Namespace, config: Config) -> int:
    from paperpost.adapters.discord import fetch_application_id, invite_url

    if args.application_id is not None:
        print(invite_url(args.application_id))
        return 0
    if not config.discord_bot_token:
        raise UserError(
            "set DISCORD_BOT_TOKEN (the bot token from the Developer Portal), or pass "
            "--application-id ID"
        )
    application_id = asyncio.run(
        fetch_application_id(config.discord_bot_token, config.discord_api_url)
    )
    print(invite_url(application_id))
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


COMMANDS = {
    "sync": cmd_sync, "search": cmd_search, "show": cmd_show, "demo": cmd_demo,
    "run": cmd_run, "console": cmd_console, "doctor": cmd_doctor, "similar": cmd_similar,
    "discord": cmd_discord, "digest": cmd_digest, "channels": cmd_channels,
    "saved": cmd_saved, "db": db_command.cmd_db,
}  # fmt: skip


def search_words_as_query(argv: Sequence[str]) -> list[str]:
    """``search agents -survey``: words after ``search`` that are not its options go
    after a ``--``, so argparse reads ``-survey`` as a query word, in order."""
    argv = list(argv)
    if "search" not in argv:
        return argv
    at = argv.index("search")
    if at > 0 and argv[at - 1] == DATA_DIR_OPTION:
        return argv
    options: list[str] = []
    words: list[str] = []
    rest = iter(argv[at + 1 :])
    for token in rest:
        if token == "--":
            words.extend(rest)
            break
        name = token.split("=", 1)[0]
        if name in SEARCH_OPTIONS:
            options.append(token)
            if SEARCH_OPTIONS[name] and "=" not in token:
                options.append(next(rest, ""))
        else:
            words.append(token)
    return [*argv[: at + 1], *options, "--", *words] if words else argv


def main(argv: Sequence[str] | None = None) -> int:
    argv = search_words_as_query(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        config = _config(args)
        configure_logging(
            verbose=args.verbose, log_format=config.log_format, replica=config.replica
        )
        return COMMANDS[args.command](args, config)
    except UserError as exc:
        print(f"paperpost: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except PaperpostError as exc:
        print(f"paperpost: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head & co.: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug, or a failure nobody foresaw: one line, no traceback
        if args.verbose:
            traceback.print_exc()
        what = " ".join(str(exc).split())[:300] or type(exc).__name__
        print(f"paperpost: unexpected error: {what}; run with -v for details", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
