"""Count acronym-like tokens in the recorded papers' titles and abstracts.

    python benchmarks/count_acronyms.py [--top 60]

An acronym here is a word written in capitals (2-6 letters, digits allowed, an
optional plural ``s``) that is not an ordinary capitalised word. Its output chose the
frequent ones added to ``bot/catalog/acronyms.py``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf_daily_papers"
_ACRONYM = re.compile(r"\b([A-Z0-9]*[A-Z][A-Z0-9]+)s?\b")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=60)
    args = ap.parse_args()
    papers: dict[str, str] = {}
    for f in sorted(DATA.glob("*.json")):
        for item in json.loads(f.read_text("utf-8")):
            p = item.get("paper", {})
            papers[p.get("id", "")] = f"{p.get('title', '')} {p.get('summary', '')}"
    counts: Counter[str] = Counter()
    for text in papers.values():
        counts.update({m for m in _ACRONYM.findall(text) if len(m) <= 6})
    print(f"{len(papers)} papers; papers mentioning each acronym:")
    for word, n in counts.most_common(args.top):
        print(f"{word:8} {n}")


if __name__ == "__main__":
    main()
