"""arXiv's export API answers in Atom XML; this reads its entries as paper records.

Each entry becomes a dict in the shape of Hugging Face's paper record (``id``,
``title``, ``summary``, ``authors``, ``publishedAt``), so it is validated by the
same code as every other upstream paper (``model.paper_from_hf_paper``). Error
feeds (an entry whose id is ``…/api/errors#…``) and malformed XML give no records.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from typing import Any

log = logging.getLogger(__name__)

MAX_BYTES = 1_000_000  # one entry is a few kB; refuse anything absurd unparsed
_ATOM = "{http://www.w3.org/2005/Atom}"
# The entry id is the abstract page's URL, versioned: http://arxiv.org/abs/2104.12255v1
_ABS_ID_RE = re.compile(r"^https?://arxiv\.org/abs/(.+?)(?:v\d+)?$")


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(_ATOM + tag)
    return found.text if found is not None and found.text else None


def arxiv_records(body: bytes) -> list[dict[str, Any]]:
    """The entries of an Atom feed, as paper records ([] when there are none)."""
    if len(body) > MAX_BYTES:
        log.warning("arXiv answer of %d bytes ignored", len(body))
        return []
    try:
        # expat (>= 2.4) refuses entity expansion bombs; external entities are never fetched.
        feed = ET.fromstring(body)
    except ET.ParseError as exc:
        log.warning("arXiv sent malformed XML: %s", exc)
        return []
    records = []
    for entry in feed.iter(_ATOM + "entry"):
        match = _ABS_ID_RE.match((_text(entry, "id") or "").strip())
        if match is None:
            continue  # an error entry, or not an arXiv paper
        authors = [
            {"name": name.text}
            for name in entry.iterfind(f"{_ATOM}author/{_ATOM}name")
            if name.text
        ]
        records.append({
            "id": match.group(1),
            "title": _text(entry, "title"),
            "summary": _text(entry, "summary"),
            "authors": authors,
            "publishedAt": _text(entry, "published"),
        })  # fmt: skip
    return records
