"""Plain-text rendering of papers, for the terminal and the console adapter."""

from __future__ import annotations

import textwrap
from datetime import date

from paperpost.bot.papers.model import Paper

MAX_AUTHORS_SHOWN = 3
DAY_FORMAT = "%a %d %b %Y"  # "Fri 21 Aug 2026": the one way a day reads in replies


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 paper``, ``2 papers``; ``many`` for irregular words (``saved searches``)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def day_text(day: date) -> str:
    return f"{day:{DAY_FORMAT}}"


def authors_line(paper: Paper, *, most: int = MAX_AUTHORS_SHOWN) -> str:
    shown = ", ".join(paper.authors[:most])
    return shown + (" et al." if len(paper.authors) > most else "")


def shorten(text: str, width: int) -> str:
    """Cut at a word boundary, marking the cut with an ellipsis."""
    return textwrap.shorten(text, width=width, placeholder=" …") if len(text) > width else text


def echo(text: str, most: int = 60) -> str:
    """User text quoted back in a reply: one line, lower-cased, clipped, in quotes.

    Lower-cased so an echo can never pass for a reference id (``PP-1A2B…``).
    """
    line = " ".join(text.lower().split())
    return "'" + (line if len(line) <= most else line[: most - 1] + "…") + "'"


def paper_line(rank: int, paper: Paper) -> str:
    org = f" · {paper.organization}" if paper.organization else ""
    return (
        f"{rank:>2}. {paper.title}  [▲{paper.upvotes}]\n"
        f"    {authors_line(paper)}{org}\n"
        f"    {paper.hf_url}"
    )


def paper_list(papers: list[Paper], *, start: int = 1) -> str:
    return "\n".join(paper_line(i, p) for i, p in enumerate(papers, start))


def paper_detail(paper: Paper) -> str:
    links = [f"arXiv {paper.arxiv_url}", f"PDF {paper.pdf_url}", f"HF {paper.hf_url}"]
    if paper.github_repo:
        stars = f" (★{paper.github_stars})" if paper.github_stars is not None else ""
        links.append(f"code {paper.github_repo}{stars}")
    if paper.project_page:
        links.append(f"project {paper.project_page}")
    # A paper stored from a pasted link may never have been on Daily Papers.
    days = ", ".join(day_text(d) for d in paper.featured_days) or "never on Daily Papers"
    lines = [
        paper.title,
        f"{authors_line(paper, most=8)}"
        + (f" · {paper.organization}" if paper.organization else ""),
        f"▲{plural(paper.upvotes, 'upvote')} · {plural(paper.num_comments, 'comment')}"
        f" · featured {days}",
        *links,
        "",
        textwrap.fill(paper.summary, width=88),
    ]
    if paper.ai_keywords:
        lines.append("keywords: " + ", ".join(paper.ai_keywords))
    return "\n".join(lines)
