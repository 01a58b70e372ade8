"""A reading list as BibTeX ``@misc`` entries, importable into Zotero as is."""

from __future__ import annotations

import re

from paperpost.bot.papers.model import Paper

# Characters LaTeX treats specially, escaped so titles and names stay literal.
_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&",
    "#": r"\#", "$": r"\$", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
}  # fmt: skip
_SPECIAL_RE = re.compile("|".join(map(re.escape, _SPECIAL)))


def escape(text: str) -> str:
    """Upstream text as a BibTeX value: specials escaped, braces always balanced."""
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], " ".join(text.split()))


def cite_key(paper: Paper) -> str:
    return "arxiv" + re.sub(r"[^0-9A-Za-z]", "_", paper.id)


def entry(paper: Paper) -> str:
    day = paper.published_on or (min(paper.featured_days) if paper.featured_days else None)
    fields = [
        ("title", "{" + escape(paper.title) + "}"),  # inner braces keep its capitals
        ("author", " and ".join(escape(a) for a in paper.authors if a.strip())),
        ("year", str(day.year) if day else ""),
        ("eprint", paper.id),
        ("archivePrefix", "arXiv"),
        ("url", paper.arxiv_url),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{cite_key(paper)},\n{body}\n}}\n"


def bibliography(papers: list[Paper]) -> str:
    return "\n".join(entry(p) for p in papers)
