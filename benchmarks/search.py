"""Search benchmark: both engines (SQLite FTS5, tantivy) and the naive scan, side by side.

    python benchmarks/search.py [--papers 100000] [--data DIR] [--naive-queries N]
    python benchmarks/search.py --engine fts5|tantivy|naive   # one part only

Each engine builds an on-disk index (temporary directory) of the same ``--papers``
papers: the real archived records plus deterministic synthetic variants
(benchmarks/corpus.py), then times the same fixed set of >= 200 queries covering every
piece of the query syntax, then its alternatives. Every part runs in its own child
process, so each reports its own peak RSS (``ru_maxrss``); the parent prints a summary
with the goals beside.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fts5_index as search_index
from corpus import build_queries, default_data_dir, load_real_papers, synthetic_papers
from fts5_index import SearchIndex

from paperpost.bot.catalog.query import Query, parse_query
from paperpost.bot.catalog.query_match import matches, paper_text
from paperpost.bot.papers.model import Paper

GOAL_P99_MS = 10.0
GOAL_SPEEDUP = 100.0
GOAL_BUILD_RATE = 5000.0
GOAL_RSS_MB = 150.0

ENGINES = ("fts5", "tantivy")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def time_queries(fn: Callable[[Query], object], parsed: list[Query]) -> list[float]:
    times = []
    for q in parsed:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def fmt(times: list[float]) -> str:
    return (
        f"p50 {percentile(times, 50):6.2f} ms  p90 {percentile(times, 90):6.2f} ms  "
        f"p99 {percentile(times, 99):7.2f} ms  max {max(times):7.2f} ms  "
        f"mean {statistics.fmean(times):6.2f} ms"
    )


def ok(good: bool) -> str:
    return "OK" if good else "MISS"


def overlap(a: list[str], b: list[str]) -> float | None:
    return len(set(a) & set(b)) / min(10, len(b)) if b else None


@dataclass
class Bench:
    real: list[Paper]
    n_synth: int
    seed: int
    queries: list[str]
    parsed: list[Query]

    def corpus(self) -> Iterator[Paper]:
        yield from self.real
        yield from synthetic_papers(self.real, self.n_synth, self.seed)

    def generation_s(self) -> float:
        t0 = time.perf_counter()
        for _ in self.corpus():  # generating the synthetic papers is not indexing
            pass
        return time.perf_counter() - t0

    def timed(self, search: Callable[[Query], object]) -> list[float]:
        time_queries(search, self.parsed)  # warm the page cache once
        # parse included: what a user's /papers search costs
        return time_queries(lambda q: search(parse_query(str(q))), self.parsed)

    def report(
        self, name: str, n: int, build_s: float, gen_s: float, size_mb: float, times: list[float]
    ) -> dict[str, object]:
        rate = n / build_s
        print(
            f"build: {n} papers in {build_s:.1f} s = {rate:,.0f} papers/s"
            f" (corpus generation, {gen_s:.1f} s, subtracted)"
            f"  (goal >= {GOAL_BUILD_RATE:,.0f})  {ok(rate >= GOAL_BUILD_RATE)}; {size_mb:.0f} MB"
        )
        print(f"{name}, top 10, parse included:")
        print(
            f"  {fmt(times)}   goal p99 <= {GOAL_P99_MS} ms"
            f"  {ok(percentile(times, 99) <= GOAL_P99_MS)}"
        )
        slow = sorted(zip(times, self.queries, strict=True), reverse=True)[:5]
        print("  slowest: " + "; ".join(f"{q!r} {t:.1f} ms" for t, q in slow))
        return {"n": n, "build_rate": rate, "size_mb": size_mb, "times": times}


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


# -- FTS5 --------------------------------------------------------------------------------


def plain_bm25(index: SearchIndex, query: Query, limit: int = 10) -> list[str]:
    """The alternative: rank every match with bm25 (FTS5 ORDER BY rank) — no rowid window."""
    plan = index._plan(query)
    if plan.empty:
        return []
    sql, params = index._base(plan, "search_fts.rowid")
    sql += f" ORDER BY {search_index._BM25} LIMIT {limit}"
    with index._lock:
        rowids = [r[0] for r in index._conn.execute(sql, params)]
        return [h.paper_id for h in index._hits([(0.0, r) for r in rowids])]


def run_fts5(b: Bench, tmp: Path) -> dict[str, object]:
    gen_s = b.generation_s()
    index = SearchIndex(tmp / "search.sqlite")
    t0 = time.perf_counter()
    index.upsert(b.corpus())  # one bulk load: batches, one segment per batch, optimize
    build_s = time.perf_counter() - t0 - gen_s
    times = b.timed(lambda q: index.search(q, limit=10))
    name = f"FTS5 rowid-window + bm25 (M={search_index.RANK_WINDOW})"
    result = b.report(name, index.count(), build_s, gen_s, dir_mb(tmp), times)
    print("alternatives (same index, same queries):")
    for window in (100, 1000):
        search_index.RANK_WINDOW = window
        alt = time_queries(lambda q: index.search(q, limit=10), b.parsed)
        print(f"  rowid-window M={window:<5}     {fmt(alt)}")
    search_index.RANK_WINDOW = 300
    plain = time_queries(lambda q: plain_bm25(index, q), b.parsed)
    print(f"  plain bm25 ORDER BY rank {fmt(plain)}")
    laps = [overlap([h.paper_id for h in index.search(q)], plain_bm25(index, q)) for q in b.parsed]
    scores = [x for x in laps if x is not None]
    print(
        f"    top-10 overlap with plain bm25 (which ignores upvotes): "
        f"{statistics.fmean(scores):.0%}"
    )
    index.close()
    return result


# -- tantivy -------------------------------------------------------------------------------


def run_tantivy(b: Bench, tmp: Path) -> dict[str, object]:
    from paperpost.bot.catalog.index import TantivyIndex, compile_query

    gen_s = b.generation_s()
    index = TantivyIndex(tmp / "search-index")
    t0 = time.perf_counter()
    index.upsert(b.corpus())  # one writer, one commit; segments flushed every 50 MB
    build_s = time.perf_counter() - t0 - gen_s
    searcher = index._current()
    print(f"tantivy: {searcher.num_segments} segments, writer heap 50 MB, 1 indexing thread")
    times = b.timed(lambda q: index.search(q, limit=10))
    name = "tantivy exact bm25 x upvotes (weight_by_field)"
    result = b.report(name, index.count(), build_s, gen_s, dir_mb(tmp), times)

    def pids(hits: list[tuple[object, object]]) -> list[str]:
        return [searcher.doc(a)["pid"][0] for _, a in hits]

    def plain(q: Query) -> list[str]:  # bm25 only (block-max WAND), upvotes ignored
        return pids(searcher.search(compile_query(index._schema, searcher, q), 10).hits)

    def window(q: Query, k: int = 100) -> list[str]:  # top k by bm25, re-ranked by upvotes
        if not q.has_text:
            return [h.paper_id for h in index.search(q)]
        hits = searcher.search(compile_query(index._schema, searcher, q), k, count=False).hits
        ups = searcher.fast_field_values("upvotes", [a for _, a in hits])
        ranked = sorted(
            zip(hits, ups, strict=True), key=lambda x: -x[0][0] * (1 + 0.25 * math.log1p(x[1]))
        )
        return pids([h for h, _ in ranked[:10]])

    print("alternatives (same index, same queries):")
    print(f"  top-100 bm25 window, re-ranked  {fmt(time_queries(window, b.parsed))}")
    print(f"  plain bm25 (WAND)               {fmt(time_queries(plain, b.parsed))}")
    exact = [[h.paper_id for h in index.search(q)] for q in b.parsed]
    for label, fn in (("window", window), ("plain bm25", plain)):
        laps = [overlap(fn(q), e) for q, e in zip(b.parsed, exact, strict=True)]
        scores = [x for x in laps if x is not None]
        print(f"    top-10 overlap of {label} with exact: {statistics.fmean(scores):.0%}")
    index.close()
    return result


# -- naive scan ---------------------------------------------------------------------------


def run_naive(b: Bench, sample: list[int]) -> dict[str, object]:
    gc.collect()
    t0 = time.perf_counter()
    records = [paper_text(p) for p in b.corpus()]
    load_s = time.perf_counter() - t0

    def naive(q: Query) -> list[str]:
        hits = [r for r in records if matches(q, r)]
        hits.sort(key=lambda r: -r.upvotes)
        return [r.paper_id for r in hits[:10]]

    times = time_queries(naive, [b.parsed[i] for i in sample])
    print(
        f"naive linear scan (pure-Python query_match.matches over {len(records)} pre-normalised"
        f" records, loaded in {load_s:.1f} s), {len(sample)} queries:\n  {fmt(times)}"
    )
    return {"times": times}


# -- driver ---------------------------------------------------------------------------------


def summary(results: dict[str, dict], sample: list[int]) -> None:
    naive = results["naive"]["times"]
    print("\n== summary (same papers, same queries; each part in its own process) ==")
    print(
        f"{'':10}{'build/s':>9}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}{'mean':>8}"
        f"{'RSS MB':>8}{'speed-up':>10}  goals"
    )
    for name in ENGINES:
        r = results[name]
        t = r["times"]
        speedup = statistics.fmean(naive) / statistics.fmean([t[i] for i in sample])
        verdicts = [
            ok(r["build_rate"] >= GOAL_BUILD_RATE),
            ok(percentile(t, 99) <= GOAL_P99_MS),
            ok(r["rss_mb"] <= GOAL_RSS_MB),
            ok(speedup >= GOAL_SPEEDUP),
        ]
        print(
            f"{name:10}{r['build_rate']:9,.0f}{percentile(t, 50):8.2f}{percentile(t, 90):8.2f}"
            f"{percentile(t, 99):8.2f}{max(t):8.2f}{statistics.fmean(t):8.2f}{r['rss_mb']:8.0f}"
            f"{speedup:9,.0f}x  build/p99/RSS/speed-up: {' '.join(verdicts)}"
        )
    print(
        f"{'naive':10}{'':9}{percentile(naive, 50):8.1f}{percentile(naive, 90):8.1f}"
        f"{percentile(naive, 99):8.1f}{max(naive):8.1f}{statistics.fmean(naive):8.1f}"
        f"{results['naive']['rss_mb']:8.0f}"
    )
    print(
        f"goals: build >= {GOAL_BUILD_RATE:,.0f}/s, p99 <= {GOAL_P99_MS} ms,"
        f" RSS <= {GOAL_RSS_MB:.0f} MB, speed-up (mean, {len(sample)} queries)"
        f" >= {GOAL_SPEEDUP:.0f}x"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--papers", type=int, default=100_000)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument(
        "--naive-queries", type=int, default=40, help="evenly spaced sample; 0 = all queries"
    )
    ap.add_argument("--seed", type=int, default=20260821)
    ap.add_argument("--engine", choices=(*ENGINES, "naive"), help="run one part only")
    ap.add_argument("--result", type=Path, help="write that part's results as JSON")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    data_dir = args.data or default_data_dir()
    real = load_real_papers(data_dir)
    queries = build_queries(real)
    b = Bench(
        real, max(0, args.papers - len(real)), args.seed, queries, [parse_query(q) for q in queries]
    )
    k = args.naive_queries or len(queries)
    sample = list(range(0, len(queries), max(1, len(queries) // k)))[:k]

    if args.engine:
        with tempfile.TemporaryDirectory() as tmp:
            if args.engine == "naive":
                result = run_naive(b, sample)
            else:
                result = (run_fts5 if args.engine == "fts5" else run_tantivy)(b, Path(tmp))
        result["rss_mb"] = rss_mb()
        print(f"peak RSS of this process: {result['rss_mb']:.0f} MB  (goal <= {GOAL_RSS_MB:.0f})")
        if args.result:
            args.result.write_text(json.dumps(result))
        return 0

    print(f"data: {data_dir} ({len(real)} real papers) + {b.n_synth} synthetic (seed {args.seed})")
    print(f"queries: {len(queries)} fixed queries, the same for every engine")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for part in (*ENGINES, "naive"):
            print(f"\n== {part} ==", flush=True)
            out = Path(tmp) / f"{part}.json"
            cmd = [
                sys.executable,
                __file__,
                "--engine",
                part,
                "--result",
                str(out),
                "--papers",
                str(args.papers),
                "--seed",
                str(args.seed),
                "--naive-queries",
                str(args.naive_queries),
            ]
            if args.data:
                cmd += ["--data", str(args.data)]
            subprocess.run(cmd, check=True)
            results[part] = json.loads(out.read_text())
    summary(results, sample)
    print(f"total run {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
