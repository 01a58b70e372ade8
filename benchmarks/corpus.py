"""Benchmark corpus: the real archived HF Daily Papers plus deterministic synthetic variants.

Synthetic papers recombine real text: a title spliced from two real titles, an abstract
made of sentences from three real abstracts, authors/keywords/organizations drawn from
the real pools, upvotes from the real distribution, featured days spread over
2021-01 … 2026-08 (weekdays), ids ``YYMM.6NNNN`` that never collide with real ones.
``synthetic_papers`` is a generator: it can be replayed (same seed, same papers)
without holding 100,000 papers in memory.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from bot.paper import Paper, papers_from_hf_day

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "hf_daily_papers"
SNAPSHOT = REPO_ROOT / "bot" / "snapshot"

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
FIRST_DAY = date(2021, 1, 4)
LAST_DAY = date(2026, 8, 21)


def default_data_dir() -> Path:
    return SHARED_DATA if SHARED_DATA.is_dir() else SNAPSHOT


def load_real_papers(data_dir: Path) -> list[Paper]:
    """Every ``YYYY-MM-DD.json`` day file, merged by paper id (featured days united)."""
    papers: dict[str, Paper] = {}
    for path in sorted(data_dir.glob("*.json")):
        try:
            day = date.fromisoformat(path.stem)
        except ValueError:
            continue
        for paper in papers_from_hf_day(json.loads(path.read_text("utf-8")), requested_day=day):
            old = papers.get(paper.id)
            papers[paper.id] = old.merged_with(paper) if old else paper
    return list(papers.values())


def synthetic_papers(real: list[Paper], count: int, seed: int = 20260821) -> Iterator[Paper]:
    """``count`` deterministic synthetic papers recombined from ``real``."""
    rng = random.Random(seed)
    titles = [p.title.split() for p in real]
    sentences = [_SENTENCE_RE.split(p.abstract) for p in real]
    authors = [a for p in real for a in p.authors]
    keywords = [p.ai_keywords for p in real]
    orgs = sorted({(p.organization, p.organization_slug) for p in real if p.organization_slug})
    upvotes = [p.upvotes for p in real]
    span = (LAST_DAY - FIRST_DAY).days
    counters: dict[str, int] = {}
    n_real = len(real)
    for _ in range(count):
        a, b, c = rng.randrange(n_real), rng.randrange(n_real), rng.randrange(n_real)
        ta, tb = titles[a], titles[b]
        cut_a = rng.randint(1, max(1, len(ta) - 1))
        cut_b = rng.randint(0, max(0, len(tb) - 2))
        title = " ".join(ta[:cut_a] + tb[cut_b:])
        sa, sb, sc = sentences[a], sentences[b], sentences[c]
        abstract = " ".join(sa[:2] + sb[2:4] + sc[4:7])
        day = FIRST_DAY + timedelta(days=rng.randrange(span + 1))
        if day.weekday() >= 5:
            day -= timedelta(days=day.weekday() - 4)
        days = (day,)
        if rng.random() < 0.03:
            days = (day, day + timedelta(days=rng.randint(1, 14)))
        yymm = f"{day.year % 100:02d}{day.month:02d}"
        counters[yymm] = counters.get(yymm, 0) + 1
        org = rng.choice(orgs) if orgs and rng.random() < 0.6 else (None, None)
        kw = keywords[a][:4] + keywords[b][:4]
        up = upvotes[rng.randrange(n_real)]
        up = int(up * rng.choice((0.5, 1.0, 1.0, 2.0, 4.0)))
        yield Paper(
            id=f"{yymm}.{60000 + counters[yymm]:05d}",
            title=title,
            abstract=abstract,
            authors=tuple(rng.sample(authors, rng.randint(1, 9))),
            featured_days=days,
            upvotes=up,
            organization=org[0],
            organization_slug=org[1],
            published_on=day,
            ai_keywords=kw,
        )
