"""Relevance on the real recorded papers, each figure beside the keyword-only baseline.

    python benchmarks/relevance.py [--data DIR] [--sample N]

* inflected known-item: up to 6 title words with one word swapped for its other
  number (plural <-> singular); recall@3. Baseline: the same query on the keyword-only
  FTS5 engine (``benchmarks/fts5_index.py``: no forms, no acronyms, bm25).
* acronym: a title's words with its acronym written out, or its written-out phrase as
  the acronym (``bot.catalog.acronyms``); recall@3, same baseline.
* misspelled: the same title words with one seeded edit in the longest word; share
  whose did-you-mean correction restores the word (baseline: no correction, 0 %).
* summary: up to 8 words of ``ai_summary`` that are not in the title (nor stop
  words); recall@10 of search-then-relaxed (which also reads the indexed AI summary),
  beside a plain bm25 OR of the words over the default fields (the baseline) and the
  relaxed search alone, without the strict search first (``--share`` and
  ``--summary-boost`` tune; ``--summary-boost 0`` leaves the summary out).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import default_data_dir, load_real_papers
from fts5_index import SearchIndex

from paperpost.bot.catalog import index_query, relevance
from paperpost.bot.catalog.acronyms import ACRONYMS
from paperpost.bot.catalog.index import TantivyIndex
from paperpost.bot.catalog.query import Or, Query, Term, normalize_tokens, parse_query
from paperpost.bot.catalog.relevance import Relevance
from paperpost.bot.catalog.stems import stem

_STOP_WORDS = (
    "a an the of and or in on for to with by from as at is are be this that these those we "
    "our it its into via using based new can which their than more while also such both "
    "not has have been how what when where who without"
)
STOP = frozenset(_STOP_WORDS.split())


def words(text: str) -> list[str]:
    return [w for w in normalize_tokens(text) if w not in STOP and w.isalpha() and len(w) > 2]


def recall(found: list[list[str]], targets: list[str]) -> float:
    return 100.0 * sum(t in f for f, t in zip(found, targets, strict=True)) / max(len(targets), 1)


def other_form(word: str) -> str | None:
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
        return word[:-1]
    if word.isalpha() and len(word) > 4 and not word.endswith(("s", "ing", "ed")):
        return word + "s"
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--sample", type=int, default=600)
    ap.add_argument("--share", type=float, help="tune: RELAXED_SHARE (default the product's)")
    ap.add_argument("--summary-boost", type=float, help="tune: SUMMARY_BOOST")
    args = ap.parse_args()
    if args.share is not None:
        relevance.RELAXED_SHARE = args.share
    if args.summary_boost is not None:
        index_query.SUMMARY_BOOST = args.summary_boost
    papers = load_real_papers(args.data)
    rng = random.Random(20261201)
    index, base = TantivyIndex(), SearchIndex()
    index.upsert(papers)
    base.upsert(papers)
    by_id = {p.id: p for p in papers}
    rel = Relevance(lambda: index, by_id.get)
    sample = rng.sample(papers, min(args.sample, len(papers)))
    print(f"{len(papers)} real papers; {len(sample)} sampled")

    def top(engine: TantivyIndex | SearchIndex, q: str, k: int) -> list[str]:
        try:
            return [h.paper_id for h in engine.search(parse_query(q), limit=k)]
        except Exception:
            return []

    # inflected known-item
    qs, targets = [], []
    for p in sample:
        ws = words(p.title)[:6]
        swaps = [(i, other_form(w)) for i, w in enumerate(ws) if other_form(w)]
        if len(ws) >= 2 and swaps:
            i, form = rng.choice(swaps)
            qs.append(" ".join([*ws[:i], str(form), *ws[i + 1 :]]))
            targets.append(p.id)
    ours = recall([top(index, q, 3) for q in qs], targets)
    kw = recall([top(base, q, 3) for q in qs], targets)
    print(
        f"inflected known-item recall@3 ({len(qs)} queries): {ours:.1f} % (keyword-only {kw:.1f} %)"
    )

    # acronyms, both ways
    qs, targets = [], []
    phrases = {" ".join(x): a for a, xs in ACRONYMS.items() for x in xs}
    for p in papers:
        title = " ".join(normalize_tokens(p.title))
        rest = words(p.title)
        for acronym in ACRONYMS:
            for token in (acronym, acronym + "s"):
                if re.search(rf"\b{token}\b", title):
                    expanded = " ".join(ACRONYMS[acronym][0])
                    others = [w for w in rest if w != token][:4]
                    qs.append(" ".join([*others, expanded]))
                    targets.append(p.id)
        for phrase, acronym in phrases.items():
            if re.search(rf"\b{phrase}s?\b", title):
                others = [
                    w
                    for w in rest
                    if w not in phrase.split() and stem(w) not in {stem(x) for x in phrase.split()}
                ][:4]
                qs.append(" ".join([*others, acronym]))
                targets.append(p.id)
    ours = recall([top(index, q, 3) for q in qs], targets)
    kw = recall([top(base, q, 3) for q in qs], targets)
    print(f"acronym recall@3 ({len(qs)} queries): {ours:.1f} % (keyword-only {kw:.1f} %)")

    # misspellings
    fixed = total = 0
    for p in sample:
        ws = words(p.title)[:4]
        if not ws:
            continue
        longest = max(ws, key=len)
        if len(longest) < 5:
            continue
        i = rng.randrange(1, len(longest) - 1)
        edit = rng.choice("dst")
        letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
        wrong = {
            "d": longest[:i] + longest[i + 1 :],
            "s": longest[:i] + letter + longest[i + 1 :],
            "t": longest[: i - 1] + longest[i] + longest[i - 1] + longest[i + 1 :],
        }[edit]
        if wrong == longest or wrong in rel.vocabulary():
            continue  # the edit made another real word: not a misspelling
        total += 1
        fix = rel.suggest(parse_query(wrong))
        fixed += fix is not None and fix.query == longest
    print(
        f"misspelling corrected ({total} queries): {100.0 * fixed / max(total, 1):.1f} % "
        "(keyword-only 0.0 %: no correction)"
    )

    # summary queries: strict then relaxed, vs a plain bm25 OR of the words
    found, base_found, base_summary, targets = [], [], [], []
    strict_other = 0
    started = time.perf_counter()
    for p in sample:
        if not p.ai_summary:
            continue
        title = {stem(w) for w in words(p.title)}
        ws = list(dict.fromkeys(w for w in words(p.ai_summary) if stem(w) not in title))[:8]
        if len(ws) < 3:
            continue
        q = parse_query(" ".join(ws))
        strict = [h.paper_id for h in index.search(q, limit=10)]
        relaxed = [x.id for x in rel.relaxed(q, limit=10)] if not strict else []
        strict_other += bool(strict) and p.id not in strict
        found.append(strict or relaxed)
        any_word = Query(Or(tuple(Term((w,)) for w in ws)))
        base_found.append([h.paper_id for h in index.search(any_word, limit=10)])
        # the relaxed search alone (any one word, most words first): what the strict
        # search in front of it costs
        terms = [Term((w,)) for w in ws]
        base_summary.append([h.paper_id for h in index.search_relaxed(terms, [], 1, limit=10)])
        targets.append(p.id)
    per_query = 1000 * (time.perf_counter() - started) / max(len(targets), 1)
    print(
        f"summary recall@10 ({len(targets)} queries): relaxed {recall(found, targets):.1f} % "
        f"(plain bm25 OR {recall(base_found, targets):.1f} %; the relaxed search alone "
        f"{recall(base_summary, targets):.1f} %); share "
        f"{relevance.RELAXED_SHARE}, summary boost {index_query.SUMMARY_BOOST}; "
        f"{strict_other} answered by the strict search without the paper; "
        f"{per_query:.1f} ms/query (all three searches)"
    )


if __name__ == "__main__":
    main()
