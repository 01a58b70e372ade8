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

from paperpost.bot.catalog.query import normalize_tokens
from paperpost.bot.papers.model import Paper, papers_from_hf_day

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


# -- the benchmark's fixed query set --------------------------------------------------

FIXED_QUERIES = [
    # broad single words and common combinations
    "model",
    "learning",
    "agent",
    "language",
    "data",
    "reasoning",
    "training",
    "video",
    "large language model",
    "model learning",
    "agent benchmark",
    "diffusion model",
    '"large language model"',
    '"reinforcement learning"',
    '"world model"',
    '"in context"',
    # OR / groups / exclusions
    "diffusion OR autoregressive",
    "video OR audio generation",
    "(speech OR audio) model",
    "agent memory OR retrieval",
    "(reasoning OR thinking) (math OR code)",
    "model -agent",
    "agent -survey -benchmark",
    '"large language model" -agent',
    "reinforcement learning -(robot OR robotics)",
    "diffusion -video -image",
    "llm OR vlm OR mllm",
    "benchmark (vision OR visual) -video",
    # prefix
    "diffu*",
    "reason*",
    "agen*",
    "tr*",
    "mu*",
    "vision-lang*",
    '"large lang"*',
    "title:trans*",
    "author:zh*",
    "multimod* -video",
    # fields
    'author:"zifeng wang"',
    "author:wang",
    "author:zhang",
    "author:huang agent",
    'author:"huang zifeng"',
    "org:google",
    "org:deepmind",
    "org:qwen",
    "org:meta",
    "org:nvidia video",
    'org:"google deepmind"',
    "title:agent",
    'title:"world model"',
    "title:diffusion -video",
    "title:benchmark reasoning",
    # filters
    "upvotes:>=100",
    "upvotes:>50 agent",
    "upvotes:<=2 model",
    "upvotes:=0 diffusion",
    "upvotes:200",
    "model upvotes:>=30",
    "-upvotes:<5 agent",
    "upvotes:<3 -model",
    "since:2026-08-01",
    "since:2026-08-15 agent",
    "model since:2026-06-01",
    "learning before:2021-06-01",
    "before:2022-01-01 diffusion",
    "since:2024-03-15 before:2024-04-01",
    "agent since:2026-01-01 before:2026-02-01",
    "-since:2022-01-01 model",
    "-before:2026-08-01 agent",
    "model since:2026-08-20 upvotes:>=20",
    "upvotes:>=10 since:2025-01-01 -agent",
    # ids and URLs
    "2608.19880",
    "2608.19880v2",
    "arXiv:2608.19880",
    "https://arxiv.org/abs/2608.19880",
    "arxiv.org/pdf/2608.19880v1.pdf",
    "https://www.arxiv.org/pdf/2608.19880",
    "https://huggingface.co/papers/2608.19880",
    "huggingface.co/papers/2608.19880",
    "2608.19880 OR 2604.07429",
    # no match
    "zzqxjv",
    "quantum banana smoothie",
    'author:"nobody nowhere"',
    "org:nonexistentorg",
    "title:xylophonist",
    "2999.99999",
    "upvotes:>=100000",
    "since:2030-01-01",
    "before:1999-01-01",
    '"model model model model"',
]


def build_queries(real: list[Paper], seed: int = 7) -> list[str]:
    """FIXED_QUERIES plus queries drawn (deterministically) from the real records."""
    rng = random.Random(seed)
    queries = list(FIXED_QUERIES)
    pool = sorted(real, key=lambda p: p.id)

    def words(p: Paper) -> list[str]:
        return [w for w in normalize_tokens(p.title) if len(w) >= 4] or ["model"]

    for _ in range(25):
        p = rng.choice(pool)
        w = words(p)
        queries.append(" ".join(rng.sample(w, min(2, len(w)))))
    for _ in range(15):
        toks = normalize_tokens(rng.choice(pool).title)
        i = rng.randrange(max(1, len(toks) - 1))
        queries.append('"' + " ".join(toks[i : i + 2]) + '"')
    for _ in range(15):
        p = rng.choice(pool)
        queries.append(f'author:"{rng.choice(p.authors)}"')
    for _ in range(8):
        p = rng.choice([p for p in pool if p.organization_slug])
        queries.append(f"org:{p.organization_slug}")
    for _ in range(12):
        queries.append(f"title:{rng.choice(words(rng.choice(pool)))}")
    for _ in range(12):
        w = rng.choice(words(rng.choice(pool)))
        queries.append(w[: rng.randint(3, 5)] + "*")
    for _ in range(12):
        a, b = rng.choice(words(rng.choice(pool))), rng.choice(words(rng.choice(pool)))
        queries.append(f"{a} OR {b}")
    for _ in range(12):
        a, b = rng.choice(words(rng.choice(pool))), rng.choice(words(rng.choice(pool)))
        queries.append(f"{a} -{b}")
    forms = (
        "{}",
        "{}v2",
        "arXiv:{}",
        "https://arxiv.org/abs/{}",
        "arxiv.org/pdf/{}.pdf",
        "https://huggingface.co/papers/{}",
        "www.arxiv.org/abs/{}v3",
    )
    for i in range(14):
        queries.append(forms[i % len(forms)].format(rng.choice(pool).id))
    for _ in range(8):
        queries.append(f"{rng.choice(words(rng.choice(pool)))} upvotes:>={rng.choice((5, 20, 50))}")
    for _ in range(8):
        p = rng.choice(pool)
        queries.append(f"{rng.choice(words(p))} since:{p.featured_days[0].isoformat()}")
    return queries
