"""``paperpost saved --channel KEY [--bibtex|--json]``: a channel's reading list."""

from __future__ import annotations

import argparse
import json
from typing import Any

from paperpost.bot.feedback.bibtex import bibliography
from paperpost.bot.feedback.reading_list import Tally
from paperpost.bot.papers.model import Paper


def add_parser(sub: Any, common: argparse.ArgumentParser, channel: Any) -> None:
    saved = sub.add_parser("saved", parents=[common], help="a channel's reading list (🔖)")
    saved.add_argument("--channel", type=channel, required=True, help="the channel key")
    form = saved.add_mutually_exclusive_group()
    form.add_argument("--bibtex", action="store_true", help="BibTeX @misc entries (Zotero)")
    form.add_argument("--json", action="store_true", help="print JSON")


def render(listed: list[tuple[Paper | None, Tally]], args: argparse.Namespace) -> str:
    """The list in the form asked for; a saved paper no longer stored shows its id only."""
    if args.bibtex:
        return bibliography([paper for paper, _ in listed if paper is not None]).rstrip("\n")
    if args.json:
        return json.dumps([_json(paper, t) for paper, t in listed], indent=2, ensure_ascii=False)
    if not listed:
        return f"nothing saved in {args.channel}"
    return "\n".join(
        f"{t.paper_id}  {paper.title if paper else '(not stored)'}  saved by "
        f"{', '.join(t.savers)} ({len(t.saves)})"
        for paper, t in listed
    )


def _json(paper: Paper | None, tally: Tally) -> dict[str, Any]:
    return {
        "id": tally.paper_id,
        "title": paper.title if paper else None,
        "authors": list(paper.authors) if paper else [],
        "url": paper.arxiv_url if paper else None,
        "saved_by": [{"user": v.user, "name": v.name, "at": v.at.isoformat()} for v in tally.saves],
        "likes": len(tally.likes),
    }
