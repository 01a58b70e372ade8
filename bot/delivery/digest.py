"""Digests: one channel's papers for one featured day, and how they are chosen.

A channel's digest for day D holds D's papers that match any of its saved
searches (all of D's papers when it has none), that were never posted to the
channel before, and that have at least its minimum upvotes; ranked by upvotes
and cut to its top N. A digest may carry several featured days (every day
completed since the channel's previous digest): top N of each, at most
MAX_DIGEST_PAPERS in all, each entry saying its day.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from paperpost.bot.catalog.query import parse_query
from paperpost.bot.catalog.query_match import matches, paper_text
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.papers.model import Paper

MAX_DIGEST_PAPERS = 20


def by_upvotes(paper: Paper) -> tuple[int, str]:
    """Digest order: most upvoted first, ties by id so the order is stable."""
    return (-paper.upvotes, paper.id)


@dataclass(frozen=True, slots=True)
class DigestEntry:
    paper: Paper
    matched: tuple[str, ...] = ()  # the saved searches (canonical text) that matched; () = top N
    day: date | None = None  # set when its digest carries several featured days

    @property
    def why(self) -> str:
        if self.day is not None:
            on = f"{self.day:%a %d %b}"
            if not self.matched:
                return f"Top paper of {on}"
            return "Matched " + ", ".join(f"“{q}”" for q in self.matched) + f" ({on})"
        if not self.matched:
            return "Top paper of the day"
        return "Matched " + ", ".join(f"“{q}”" for q in self.matched)


@dataclass(frozen=True, slots=True)
class Digest:
    channel: ChannelKey
    day: date
    entries: tuple[DigestEntry, ...]
    threads: bool = False
    days: tuple[date, ...] = ()  # every featured day carried, oldest first; () means (day,)

    @property
    def carried(self) -> tuple[date, ...]:
        return self.days or (self.day,)

    @property
    def headline(self) -> str:
        if len(self.carried) > 1:
            return f"Top papers of {self.carried[0]:%a %d %b} to {self.day:%a %d %b %Y}"
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


def combine_days(
    channel: ChannelKey, days: Sequence[date], parts: Sequence[Digest], threads: bool
) -> Digest:
    """One digest carrying ``days`` (oldest first) from each available day's own
    digest (``parts``): each entry says its day; past MAX_DIGEST_PAPERS the
    oldest entries go. Its ``day`` is the newest carried, with papers or not."""
    if len(days) == 1:
        return Digest(channel, days[0], parts[0].entries if parts else (), threads)
    entries = [DigestEntry(e.paper, e.matched, part.day) for part in parts for e in part.entries]
    return Digest(channel, days[-1], tuple(entries[-MAX_DIGEST_PAPERS:]), threads, tuple(days))
