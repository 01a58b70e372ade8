"""``paperpost demo``: the whole loop, offline, on the bundled snapshot."""

from __future__ import annotations

import asyncio
import tempfile

from bot.library import PaperLibrary
from bot.plain_text import paper_list
from bot.snapshot import BundledSnapshot
from bot.store import Store
from bot.sync import sync_days

EXAMPLE_QUERY = "agent OR agents upvotes:>=10"


def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="paperpost-demo-") as data_dir:
        library = PaperLibrary(Store(data_dir))
        snapshot = BundledSnapshot()
        asyncio.run(sync_days(snapshot, library, snapshot.days()))
        latest = library.latest_day()
        assert latest is not None, "the bundled snapshot is empty"
        print(f"Paperpost demo: {library.paper_count()} real papers from the bundled snapshot "
              f"({snapshot.days()[0]} to {latest}), no network used.\n")
        print(f"== Top papers of {latest:%A %Y-%m-%d} ==")
        print(paper_list(library.papers_on(latest)[:5]))
        print(f"\n== /papers search {EXAMPLE_QUERY} ==")
        print(paper_list(library.search(EXAMPLE_QUERY, limit=5)))
        library.close()
    return 0
