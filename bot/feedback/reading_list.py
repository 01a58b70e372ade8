"""What a channel's votes add up to: its reading list and its most liked papers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from paperpost.bot.feedback.votes import Kind, Vote


@dataclass(frozen=True, slots=True)
class Tally:
    """One paper's votes of one channel."""

    paper_id: str
    likes: tuple[Vote, ...]
    saves: tuple[Vote, ...]

    @property
    def latest_save(self) -> datetime:
        return max(v.at for v in self.saves)

    @property
    def savers(self) -> tuple[str, ...]:
        """Display names of who saved it, earliest first."""
        return tuple(v.name for v in sorted(self.saves, key=lambda v: v.at))

    @property
    def score(self) -> int:
        return len(self.likes) + len(self.saves)


def tallies(votes: Iterable[Vote], *, since: datetime | None = None) -> list[Tally]:
    """Votes grouped by paper; with ``since``, only votes cast at or after it."""
    grouped: dict[str, dict[Kind, list[Vote]]] = defaultdict(lambda: defaultdict(list))
    for vote in votes:
        if since is None or vote.at >= since:
            grouped[vote.paper_id][vote.kind].append(vote)
    return [
        Tally(paper, tuple(kinds[Kind.LIKE]), tuple(kinds[Kind.SAVE]))
        for paper, kinds in grouped.items()
    ]


def reading_list(votes: Iterable[Vote], *, since: datetime | None = None) -> list[Tally]:
    """The saved papers, the most recently saved first (ties: by paper id)."""
    saved = [t for t in tallies(votes, since=since) if t.saves]
    return sorted(saved, key=lambda t: (-t.latest_save.timestamp(), t.paper_id))


def team_top(votes: Iterable[Vote], *, since: datetime, limit: int) -> list[Tally]:
    """The papers with the most likes and saves since ``since``, best first."""
    ranked = sorted(
        tallies(votes, since=since),
        key=lambda t: (-t.score, -len(t.saves), t.paper_id),
    )
    return ranked[:limit]
