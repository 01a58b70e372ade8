"""``paperpost db upgrade`` and ``paperpost db copy --from … --to … [--force]``."""

from __future__ import annotations

import argparse
from typing import Any

from paperpost.bot.config import Config

# db_copy and pg_database import psycopg (about 0.2 s): only `paperpost db` pays for it.


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    db = sub.add_parser("db", help="create, migrate or copy the store's database")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser(
        "upgrade",
        parents=[common],
        help="create or migrate the schema of the store ($PAPERPOST_DATABASE_URL, else the "
        "SQLite store in the data folder); safe to run again",
    )
    copying = actions.add_parser(
        "copy", parents=[common], help="copy every table from one store to another"
    )
    copying.add_argument("--from", dest="source", required=True, metavar="STORE",
                         help="sqlite:PATH (a data folder) or postgresql://…")  # fmt: skip
    copying.add_argument("--to", dest="target", required=True, metavar="STORE",
                         help="sqlite:PATH or postgresql://… (must be empty)")  # fmt: skip
    copying.add_argument("--force", action="store_true", help="replace a non-empty target")


def cmd_db(args: argparse.Namespace, config: Config) -> int:
    from paperpost.bot.catalog import db_copy

    if args.db_command == "upgrade":
        here = db_copy.Location(
            None if config.database_url else config.data_dir, config.database_url
        )
        where, found = db_copy.upgrade(here)
        state = "created" if found == 0 else f"was version {found}"
        print(f"{where}: schema up to date ({state})")
        return 0
    source, target = db_copy.Location.parse(args.source), db_copy.Location.parse(args.target)
    copied = db_copy.copy(source, target, force=args.force)
    print(f"copied {_shown(args.source)} -> {_shown(args.target)}")
    for name, rows in copied.items():
        print(f"  {name}: {rows} row(s)")
    return 0


def _shown(text: str) -> str:
    from paperpost.bot.catalog.pg_database import masked

    return text if text.startswith("sqlite:") else masked(text)
