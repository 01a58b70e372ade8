"""The paper record: one arXiv paper as Paperpost knows it.

Built from Hugging Face ``daily_papers`` items (every schema seen since 2024),
stored as plain JSON, merged when a paper is featured again on a later day.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from paperpost.bot.errors import SourceFormatError

HF_PAPERS_URL = "https://huggingface.co/papers/"
ARXIV_ABS_URL = "https://arxiv.org/abs/"
ARXIV_PDF_URL = "https://arxiv.org/pdf/"

# New-style arXiv ids (YYMM.NNNNN); old-style ids (hep-th/9901001) also occur.
ARXIV_ID_RE = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})$")


@dataclass(frozen=True, slots=True)
class Paper:
    """A paper, normalised. Optional upstream fields become ``None`` or empty."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    featured_days: tuple[date, ...]
    upvotes: int = 0
    num_comments: int = 0
    organization: str | None = None  # display name ("Google")
    organization_slug: str | None = None  # hub name ("google")
    published_on: date | None = None  # arXiv publication day
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    thumbnail: str | None = None

    # -- derived links -------------------------------------------------------
    @property
    def arxiv_url(self) -> str:
        return ARXIV_ABS_URL + self.id

    @property
    def pdf_url(self) -> str:
        return ARXIV_PDF_URL + self.id

    @property
    def hf_url(self) -> str:
        return HF_PAPERS_URL + self.id

    @property
    def summary(self) -> str:
        """The short text a digest shows: the AI summary, else the abstract."""
        return self.ai_summary or self.abstract

    # -- merging -------------------------------------------------------------
    def merged_with(self, newer: Paper) -> Paper:
        """Combine with a later snapshot of the same paper.

        The newer snapshot's fields win (upvotes grow over time); featured days
        are the union, so a paper featured again stays one paper.
        """
        if newer.id != self.id:
            raise ValueError(f"cannot merge {self.id} with {newer.id}")
        days = tuple(sorted(set(self.featured_days) | set(newer.featured_days)))
        return dataclasses.replace(newer, featured_days=days)

    # -- JSON ----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "abstract": self.abstract,
            "authors": list(self.authors),
            "featured_days": [d.isoformat() for d in self.featured_days],
            "upvotes": self.upvotes,
            "num_comments": self.num_comments,
            "organization": self.organization,
            "organization_slug": self.organization_slug,
            "published_on": self.published_on.isoformat() if self.published_on else None,
            "ai_summary": self.ai_summary,
            "ai_keywords": list(self.ai_keywords),
            "github_repo": self.github_repo,
            "github_stars": self.github_stars,
            "project_page": self.project_page,
            "thumbnail": self.thumbnail,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Paper:
        published = data.get("published_on")
        return cls(
            id=data["id"],
            title=data["title"],
            abstract=data["abstract"],
            authors=tuple(data["authors"]),
            featured_days=tuple(date.fromisoformat(d) for d in data["featured_days"]),
            upvotes=data.get("upvotes", 0),
            num_comments=data.get("num_comments", 0),
            organization=data.get("organization"),
            organization_slug=data.get("organization_slug"),
            published_on=date.fromisoformat(published) if published else None,
            ai_summary=data.get("ai_summary"),
            ai_keywords=tuple(data.get("ai_keywords") or ()),
            github_repo=data.get("github_repo"),
            github_stars=data.get("github_stars"),
            project_page=data.get("project_page"),
            thumbnail=data.get("thumbnail"),
        )


def _clean(text: str) -> str:
    """Fold the hard line breaks older abstracts carry into single spaces."""
    return " ".join(text.split())


def _iso_day(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _optional_str(value: Any) -> str | None:
    return _clean(value) or None if isinstance(value, str) else None


def paper_from_hf_item(item: Any, *, requested_day: date) -> Paper:
    """Normalise one element of ``GET /api/daily_papers``.

    The featured day is ``paper.submittedOnDailyAt`` (top-level ``publishedAt``
    is not the daily date); items from before that field existed fall back to
    the day that was requested. Raises ``SourceFormatError`` on a shape that is
    not a daily-papers item.
    """
    if not isinstance(item, Mapping) or not isinstance(item.get("paper"), Mapping):
        raise SourceFormatError(f"{requested_day}: item is not a daily-papers record")
    raw = item["paper"]
    paper_id = raw.get("id")
    title = raw.get("title") or item.get("title")
    abstract = raw.get("summary") or item.get("summary") or ""
    if not isinstance(paper_id, str) or not paper_id or not isinstance(title, str):
        raise SourceFormatError(f"{requested_day}: record without an id or a title")
    authors_raw = raw.get("authors") or []
    if not isinstance(authors_raw, list):
        raise SourceFormatError(f"{requested_day}: {paper_id} has malformed authors")
    authors = tuple(
        _clean(a["name"])
        for a in authors_raw
        if isinstance(a, Mapping) and isinstance(a.get("name"), str) and a["name"].strip()
    )
    org = raw.get("organization") or item.get("organization")
    org = org if isinstance(org, Mapping) else {}
    keywords = raw.get("ai_keywords") or []
    stars = raw.get("githubStars")
    upvotes = raw.get("upvotes", 0)
    comments = item.get("numComments", 0)
    return Paper(
        id=paper_id.strip(),
        title=_clean(title),
        abstract=_clean(abstract) if isinstance(abstract, str) else "",
        authors=authors,
        featured_days=(_iso_day(raw.get("submittedOnDailyAt")) or requested_day,),
        upvotes=upvotes if isinstance(upvotes, int) else 0,
        num_comments=comments if isinstance(comments, int) else 0,
        organization=_optional_str(org.get("fullname")) or _optional_str(org.get("name")),
        organization_slug=_optional_str(org.get("name")),
        published_on=_iso_day(raw.get("publishedAt")),
        ai_summary=_optional_str(raw.get("ai_summary")),
        ai_keywords=tuple(k for k in keywords if isinstance(k, str))
        if isinstance(keywords, list)
        else (),
        github_repo=_optional_str(raw.get("githubRepo")),
        github_stars=stars if isinstance(stars, int) else None,
        project_page=_optional_str(raw.get("projectPage")),
        thumbnail=_optional_str(item.get("thumbnail")),
    )


def papers_from_hf_day(items: Any, *, requested_day: date) -> list[Paper]:
    """Normalise a whole day's response; the whole day fails on a bad shape."""
    if not isinstance(items, list):
        raise SourceFormatError(f"{requested_day}: expected a JSON array of papers")
    merged: dict[str, Paper] = {}
    for item in items:
        paper = paper_from_hf_item(item, requested_day=requested_day)
        previous = merged.get(paper.id)
        merged[paper.id] = previous.merged_with(paper) if previous else paper
    return list(merged.values())
