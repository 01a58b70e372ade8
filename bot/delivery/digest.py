"""Digests: one channel's papers for one featured day, and how they are chosen.

A channel's digest for day D holds D's papers that match any of its saved
searches (all of D's papers when it has none), that were never posted to the
channel before, and that have at least its minimum upvotes; ranked by upvotes
and cut to its top N.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from paperpost.bot.catalog.query import parse_query
from paperpost.bot.catalog.query_match import matches, paper_text
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.papers.model import Paper


def by_upvotes(paper: Paper) -> tuple[int, str]:
    """Digest order: most upvoted first, ties by id so the order is stable."""
    return (-paper.upvotes, paper.id)


@dataclass(frozen=True, slots=True)
class DigestEntry:
    paper: Paper
    matched: tuple[str, ...] = ()  # the saved searches (canonical text) that matched; () = top N

    @property
    def why(self) -> str:
        if not self.matched:
            return "Top paper of the day"
        return "Matched " + ", ".join(f"“{q}”" for q in self.matched)


@dataclass(frozen=True, slots=True)
class Digest:
    channel: ChannelKey
    day: date
    entries: tuple[DigestEntry, ...]
    threads: bool = False

    @property
    def headline(self) -> str:
        return f"Top papers of {self.day:%a %d %b %Y}"

    @property
    def marker(self) -> str:
        """Identifies this digest's messages on the platform, to find them after a crash."""
        return f"paperpost-digest:{self.channel}:{self.day.isoformat()}"

    @property
    def papers(self) -> tuple[Paper, ...]:
        return tuple(e.paper for e in self.entries)


def select_entries(
    day_papers: Sequence[Paper],
    matches: Mapping[str, Collection[str]] | None,
    *,
    posted: Collection[str],
    min_upvotes: int,
    top_n: int,
) -> tuple[DigestEntry, ...]:
    """Pick a channel's entries from candidate papers, given most upvoted first.

    ``matches`` maps each saved search (canonical text) to the ids of the
    papers it matches (``day_papers`` then holds only matching papers);
    ``None`` means the channel has no saved searches.
    """
    entries = []
    for paper in day_papers:
        if paper.id in posted or paper.upvotes < min_upvotes:
            continue
        hit = () if matches is None else tuple(q for q, ids in matches.items() if paper.id in ids)
        entries.append(DigestEntry(paper, hit))
        if len(entries) == top_n:
            break
    return tuple(entries)


class DayMatcher:
    """Runs saved searches over one featured day's papers, each distinct query once.

    It uses the query language's reference matcher, which the search index is
    tested to agree with, so a subscription matches exactly what searching for
    it finds; for a day's few dozen papers that beats building an index.
    """

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.papers = sorted(papers, key=by_upvotes)
        self._texts = [paper_text(p) for p in self.papers]
        self._position = {p.id: i for i, p in enumerate(self.papers)}
        self._cache: dict[str, tuple[frozenset[str], tuple[Paper, ...]]] = {}

    def _run(self, query: str) -> tuple[frozenset[str], tuple[Paper, ...]]:
        if query not in self._cache:
            parsed = parse_query(query)
            ranked = tuple(
                p for p, text in zip(self.papers, self._texts, strict=True) if matches(parsed, text)
            )
            self._cache[query] = (frozenset(p.id for p in ranked), ranked)
        return self._cache[query]

    def ids_matching(self, query: str) -> frozenset[str]:
        return self._run(query)[0]

    def matching_any(self, queries: Sequence[str]) -> Sequence[Paper]:
        """The papers matching any of ``queries``, in digest order."""
        if len(queries) == 1:
            return self._run(queries[0])[1]
        found = {p.id: p for q in queries for p in self._run(q)[1]}
        return [found[i] for i in sorted(found, key=self._position.__getitem__)]


def build_digest(
    channel: ChannelKey,
    day: date,
    matcher: DayMatcher,
    *,
    subscriptions: Sequence[str],
    posted: Collection[str],
    min_upvotes: int,
    top_n: int,
    threads: bool = False,
) -> Digest:
    if subscriptions:
        matches = {q: matcher.ids_matching(q) for q in subscriptions}
        candidates = matcher.matching_any(subscriptions)
    else:
        matches, candidates = None, matcher.papers
    entries = select_entries(
        candidates, matches, posted=posted, min_upvotes=min_upvotes, top_n=top_n
    )
    return Digest(channel, day, entries, threads)
