"""The paper record: one arXiv paper as Paperpost knows it.

Built from Hugging Face ``daily_papers`` items (every schema seen since 2024),
stored as plain JSON, merged when a paper is featured again on a later day.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from paperpost.bot.errors import SourceFormatError

log = logging.getLogger(__name__)

HF_PAPERS_URL = "https://huggingface.co/papers/"
ARXIV_ABS_URL = "https://arxiv.org/abs/"
ARXIV_PDF_URL = "https://arxiv.org/pdf/"

# New-style arXiv ids (YYMM.NNNNN); old-style ids (hep-th/9901001) also occur.
ARXIV_ID_RE = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})$")
_VERSION_SUFFIX_RE = re.compile(r"v\d{1,3}$")

# Upstream data is untrusted: numbers are clamped and text is capped to these, so no
# record can overflow the index's integer fields or flood a reply.
MAX_COUNT = 10**9  # upvotes, comments, stars
MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_NAME = 300  # an author's or organisation's name
MAX_AUTHORS = 1_000  # real papers have up to ~600
MAX_KEYWORDS = 100
MAX_TEXT = 5_000  # the AI summary
MAX_URL = 2_000


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
        """Read a stored record. Stores written before upstream data was validated may
        hold absurd numbers (upvotes 10**30): they are clamped, never trusted."""
        published = data.get("published_on")
        return cls(
            id=data["id"],
            title=data["title"],
            abstract=data["abstract"],
            authors=tuple(data["authors"]),
            featured_days=tuple(date.fromisoformat(d) for d in data["featured_days"]),
            upvotes=_count(data.get("upvotes")) or 0,
            num_comments=_count(data.get("num_comments")) or 0,
            organization=data.get("organization"),
            organization_slug=data.get("organization_slug"),
            published_on=date.fromisoformat(published) if published else None,
            ai_summary=data.get("ai_summary"),
            ai_keywords=tuple(data.get("ai_keywords") or ()),
            github_repo=data.get("github_repo"),
            github_stars=_count(data.get("github_stars")),
            project_page=data.get("project_page"),
            thumbnail=data.get("thumbnail"),
        )


class _BadItem(ValueError):
    """Why one daily-papers item cannot be used."""


def _count(value: Any) -> int | None:
    """A whole number clamped to 0..MAX_COUNT; None when not an int (``True`` is not one)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return min(max(value, 0), MAX_COUNT)


def _clean(text: str, limit: int) -> str:
    """Fold the hard line breaks older abstracts carry into single spaces; cap the length."""
    return " ".join(text[: limit * 2].split())[:limit].strip()


def _iso_day(value: Any) -> date | None:
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _optional_str(value: Any, limit: int = MAX_NAME) -> str | None:
    return _clean(value, limit) or None if isinstance(value, str) else None


def _url(value: Any) -> str | None:
    text = _optional_str(value, MAX_URL)
    return text if text and text.startswith(("https://", "http://")) else None


def _paper_id(value: Any) -> str:
    if not isinstance(value, str):
        raise _BadItem(f"paper id is {type(value).__name__}, not text")
    text = _VERSION_SUFFIX_RE.sub("", value.strip()[:60])
    if not ARXIV_ID_RE.match(text):
        raise _BadItem(f"paper id {value[:60]!r} is not an arXiv id")
    return text


def _upvotes(value: Any) -> int:
    if value is None:
        return 0
    count = _count(value)
    if count is None:
        raise _BadItem(f"upvotes is {type(value).__name__} {str(value)[:20]!r}, not a whole number")
    return count


def _names(value: Any, limit: int) -> tuple[str, ...]:
    """Names from a list of ``{"name": ...}`` objects (authors) or of strings (keywords)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _BadItem(f"expected a list, got {type(value).__name__}")
    names = []
    for entry in value[:limit]:
        name = entry.get("name") if isinstance(entry, Mapping) else entry
        if isinstance(name, str) and (text := _clean(name, MAX_NAME)):
            names.append(text)
    return tuple(names)


def paper_from_hf_item(item: Any, *, requested_day: date) -> Paper:
    """Validate and normalise one element of ``GET /api/daily_papers``.

    The featured day is ``paper.submittedOnDailyAt`` (top-level ``publishedAt`` is
    not the daily date); items from before that field existed fall back to the day
    that was requested. The id, title, upvotes and authors must be usable, or the item
    is refused (``SourceFormatError`` saying why); numbers are clamped, text capped,
    and an optional field of the wrong type is left out.
    """
    try:
        return _paper(item, requested_day)
    except _BadItem as exc:
        raise SourceFormatError(f"{requested_day}: {exc}") from None


def paper_from_hf_paper(raw: Any) -> Paper:
    """Validate one paper record met outside a featured day: ``GET /api/papers/{id}``
    (the ``paper`` object of a daily item), or an arXiv entry in that shape. Its
    featured day is ``submittedOnDailyAt`` when present, else none."""
    try:
        return _paper({"paper": raw}, None)
    except _BadItem as exc:
        raise SourceFormatError(f"paper record: {exc}") from None


def _paper(item: Any, requested_day: date | None) -> Paper:
    if not isinstance(item, Mapping) or not isinstance(item.get("paper"), Mapping):
        raise _BadItem("item is not a daily-papers record")
    raw = item["paper"]
    paper_id = _paper_id(raw.get("id"))
    title = raw.get("title") or item.get("title")
    if not isinstance(title, str) or not (title := _clean(title, MAX_TITLE)):
        raise _BadItem(f"{paper_id} has no title")
    abstract = raw.get("summary") or item.get("summary")
    try:
        authors = _names(raw.get("authors"), MAX_AUTHORS)
    except _BadItem as exc:
        raise _BadItem(f"{paper_id} has malformed authors: {exc}") from None
    try:
        keywords = _names(raw.get("ai_keywords"), MAX_KEYWORDS)
    except _BadItem:
        keywords = ()  # optional decoration: left out, the paper kept
    org = raw.get("organization") or item.get("organization")
    org = org if isinstance(org, Mapping) else {}
    day = _iso_day(raw.get("submittedOnDailyAt")) or requested_day
    return Paper(
        id=paper_id,
        title=title,
        abstract=_clean(abstract, MAX_ABSTRACT) if isinstance(abstract, str) else "",
        authors=authors,
        featured_days=(day,) if day else (),
        upvotes=_upvotes(raw.get("upvotes")),
        num_comments=_count(item.get("numComments")) or 0,
        organization=_optional_str(org.get("fullname")) or _optional_str(org.get("name")),
        organization_slug=_optional_str(org.get("name")),
        published_on=_iso_day(raw.get("publishedAt")),
        ai_summary=_optional_str(raw.get("ai_summary"), MAX_TEXT),
        ai_keywords=keywords,
        github_repo=_url(raw.get("githubRepo")),
        github_stars=_count(raw.get("githubStars")),
        project_page=_url(raw.get("projectPage")),
        thumbnail=_url(item.get("thumbnail")),
    )


def papers_from_hf_day(items: Any, *, requested_day: date) -> list[Paper]:
    """Normalise a day's response item by item.

    A bad item is logged (one WARNING naming the day and why) and skipped; the rest of
    the day is kept. The day fails (``SourceFormatError``) only when the response is
    not a list, or when it has items and none is usable (the API changed shape: better
    to retry than to store the day as empty).
    """
    if not isinstance(items, list):
        raise SourceFormatError(f"{requested_day}: expected a JSON array of papers")
    merged: dict[str, Paper] = {}
    skipped = 0
    for position, item in enumerate(items):
        try:
            paper = _paper(item, requested_day)
        except _BadItem as exc:
            skipped += 1
            log.warning("daily papers %s: skipped item %d: %s", requested_day, position, exc)
            continue
        previous = merged.get(paper.id)
        merged[paper.id] = previous.merged_with(paper) if previous else paper
    if items and not merged:
        raise SourceFormatError(f"{requested_day}: none of the {skipped} items is a usable paper")
    return list(merged.values())
