"""Paper links in chat text: arxiv.org and huggingface.co/papers URLs.

Abstract, PDF and HTML pages, versioned or not, with or without ``.pdf``, a query
or a fragment: ``https://arxiv.org/pdf/2608.19880v2`` names paper ``2608.19880``.
Pure functions; the text is untrusted and may be long, so at most ``MAX_LINKS``
links are taken from it.
"""

from __future__ import annotations

import re

from paperpost.bot.papers.model import ARXIV_ID_RE

MAX_LINKS = 10  # per message: more is a list to read, not a link to show

_PAPER_URL_RE = re.compile(
    r"(?<![\w@.])(?:https?://)?(?:www\.|export\.)?"
    r"(?:arxiv\.org/(?:abs|pdf|html)/|(?:huggingface\.co|hf\.co)/papers/)"
    r"(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Za-z]{2})?/\d{7})(?![\d/])(?:v\d{1,3})?(?:\.pdf)?"
    r"(?:[?#][^\s<>|\"']*)?",
    re.IGNORECASE,
)


def paper_id_in(url: str) -> str | None:
    """The arXiv id a link names (``None`` when it names no paper)."""
    match = _PAPER_URL_RE.search(url[:2_000])
    if match is None or not ARXIV_ID_RE.match(match.group(1)):
        return None
    return match.group(1)


def paper_urls(text: str) -> list[str]:
    """The paper links in ``text``, in order, each once, at most ``MAX_LINKS``."""
    found: list[str] = []
    for match in _PAPER_URL_RE.finditer(text[:20_000]):
        url = match.group(0)
        if ARXIV_ID_RE.match(match.group(1)) and url not in found:
            found.append(url)
            if len(found) == MAX_LINKS:
                break
    return found
