"""One paper as mrkdwn: the building brick of digests and search replies.

Every piece is escaped and clipped to its own budget, so a card's text stays
under a section's 3,000 characters whatever the paper holds.
"""

from __future__ import annotations

from paperpost.adapters.slack.escape import escape_clip, link
from paperpost.bot.channels.plain_text import MAX_AUTHORS_SHOWN
from paperpost.bot.papers.model import Paper

SECTION_LIMIT = 2_900  # Slack allows 3,000; keep a margin for how it counts characters
TITLE_LIMIT = 300
AUTHORS_LIMIT = 300
ORG_LIMIT = 100
LINKS_LIMIT = 1_500
WHY_LIMIT = 500


def one_line(text: str) -> str:
    """Fold newlines and runs of spaces: a newline inside ``<url|label>`` breaks the link."""
    return " ".join(text.split())


def authors_text(paper: Paper) -> str:
    shown = [one_line(a) for a in paper.authors[:MAX_AUTHORS_SHOWN]]
    return ", ".join(shown) + (" et al." if len(paper.authors) > MAX_AUTHORS_SHOWN else "")


def title_link(paper: Paper, *, limit: int = TITLE_LIMIT) -> str:
    title = one_line(paper.title) or one_line(paper.id) or "Untitled paper"
    return link(paper.hf_url, title, limit=limit)


def meta_line(paper: Paper) -> str:
    parts = []
    authors = authors_text(paper)
    if authors:
        parts.append(escape_clip(authors, AUTHORS_LIMIT))
    if paper.organization and one_line(paper.organization):
        parts.append(escape_clip(one_line(paper.organization), ORG_LIMIT))
    parts.append(f"▲ {paper.upvotes:,}")
    return " · ".join(parts)


def links_line(paper: Paper) -> str:
    """arXiv, PDF, Hugging Face, code (with stars), project page; links that
    would overflow the budget are left out rather than cut mid-URL."""
    candidates = [
        (paper.arxiv_url, "arXiv"),
        (paper.pdf_url, "PDF"),
        (paper.hf_url, "Hugging Face"),
    ]
    if paper.github_repo:
        stars = f" ★{paper.github_stars:,}" if paper.github_stars is not None else ""
        candidates.append((paper.github_repo, f"code{stars}"))
    if paper.project_page:
        candidates.append((paper.project_page, "project page"))
    shown: list[str] = []
    used = 0
    for url, label in candidates:
        piece = link(url, label)
        if not piece.startswith("<"):
            continue  # the URL was unusable; a bare label helps nobody
        if used + len(piece) + 3 > LINKS_LIMIT:
            continue
        shown.append(piece)
        used += len(piece) + 3
    return " · ".join(shown)


def paper_card(paper: Paper, *, summary_limit: int, rank: int | None = None) -> str:
    """Linked title, authors · organisation · upvotes, links, then the summary
    cut at a word boundary to what is left of the section's budget."""
    head = f"*{rank}.* " if rank is not None else ""
    lines = [f"{head}*{title_link(paper)}*", meta_line(paper)]
    links = links_line(paper)
    if links:
        lines.append(links)
    text = "\n".join(lines)
    room = min(summary_limit, SECTION_LIMIT - len(text) - 1)
    summary = escape_clip(one_line(paper.summary), room)
    return f"{text}\n{summary}" if summary else text


def compact_line(paper: Paper, *, rank: int) -> str:
    """A one-line entry for a threaded digest's list: the details go in the thread."""
    return f"*{rank}.* *{title_link(paper)}*  ▲ {paper.upvotes:,}"


def why_text(why: str) -> str:
    return escape_clip(one_line(why), WHY_LIMIT) or " "
