"""What the tantivy index stores for a paper: its schema, tokenizer and documents.

Every text value is indexed already normalised, exactly as ``normalize_tokens`` splits
it, through a plain whitespace tokenizer, so index and reference matcher agree token for
token. ``keywords``, ``authors`` and ``org`` hold one value per item (tantivy leaves a
position gap between values, so a phrase never spans two authors). ``pid`` (raw,
stored) is the paper id; ``upvotes``, ``first_day`` and ``last_day`` are fast integer
fields for the filters; ``rank`` is the float field the ranking weighs by (see
``bot.catalog.index``).
"""

from __future__ import annotations

import math
from datetime import date

import tantivy

from paperpost.bot.catalog.concepts import concept_tokens
from paperpost.bot.catalog.query_ast import MAX_UPVOTES, normalize_tokens
from paperpost.bot.catalog.query_match import ITEM_SEPARATOR
from paperpost.bot.catalog.stems import stem_words
from paperpost.bot.papers.model import Paper

UPVOTE_WEIGHT = 0.25
WORDS = "paperpost_words"  # the tokenizer of the text fields
BOOSTS = {"title": 10.0, "keywords": 5.0, "abstract": 1.0, "authors": 1.0, "org": 1.0}
FIELDS = tuple(BOOSTS)
# Stemmed copies (bot.catalog.stems) of the prose fields: words and phrases search these,
# prefixes and quoted single words the fields above (as written).
STEMMED = {"title": "title_s", "keywords": "keywords_s", "abstract": "abstract_s"}
# Acronym concepts of the stemmed fields (bot.catalog.concepts): "llm" searches these.
CONCEPTS = {"title": "title_c", "keywords": "keywords_c", "abstract": "abstract_c"}
# The AI summary, stemmed: searched by the relaxed search only (bot.catalog.relevance),
# never by words a subscription matches (the reference matcher does not read it).
SUMMARY = "summary_s"
_NO_DAY_FIRST = date.max.toordinal()  # a paper without featured days never matches since:/before:
_NO_DAY_LAST = 0
# ASCII text: every non-alphanumeric byte becomes a space and letters are lower-cased,
# which is what normalize_tokens does to ASCII (and 25x faster than its regex).
_ASCII_MAP: dict[int, str | int] = {c: " " for c in range(128) if not chr(c).isalnum()}
_ASCII_MAP.update({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("pid", stored=True, tokenizer_name="raw", index_option="basic")
    for name in (*FIELDS, *STEMMED.values(), *CONCEPTS.values(), SUMMARY):
        sb.add_text_field(name, tokenizer_name=WORDS)
    sb.add_integer_field("upvotes", indexed=True, fast=True)
    sb.add_integer_field("first_day", fast=True)
    sb.add_integer_field("last_day", fast=True)
    sb.add_float_field("rank", fast=True)
    return sb.build()


def analyzer() -> tantivy.TextAnalyzer:
    # Whitespace only: no lower-casing, no long-token removal (the text is pre-normalised).
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def popularity(upvotes: int) -> float:
    return 1.0 + UPVOTE_WEIGHT * math.log1p(max(upvotes, 0))


def _norm(text: str) -> str:
    if text.isascii():
        return text.translate(_ASCII_MAP)
    return " ".join(normalize_tokens(text))


def paper_document(schema: tantivy.Schema, p: Paper) -> tantivy.Document:
    orgs = [x for x in (p.organization, p.organization_slug) if x]
    days = p.featured_days
    # The fast field is an i64: an out-of-range number must never fail a commit.
    upvotes = min(max(p.upvotes, 0), MAX_UPVOTES)
    title, abstract = _norm(p.title), _norm(p.abstract)
    # One value per item: tantivy puts a position gap between values. Empty values
    # are left out (matches() skips them too).
    keywords = [t for t in map(_norm, p.ai_keywords) if t.strip()]
    title_w, abstract_w = stem_words(title), stem_words(abstract)
    keywords_w = [stem_words(k) for k in keywords]
    # All keywords in one concept scan: the separator ends any phrase, as items do.
    keywords_c = concept_tokens([w for k in keywords_w for w in (*k, ITEM_SEPARATOR)])
    fields: dict[str, object] = {
        "pid": p.id,
        "title": title,
        "abstract": abstract,
        "keywords": keywords,
        "title_s": " ".join(title_w),
        "abstract_s": " ".join(abstract_w),
        "keywords_s": [" ".join(k) for k in keywords_w],
        "title_c": concept_tokens(title_w),
        "abstract_c": concept_tokens(abstract_w),
        "keywords_c": keywords_c,
        SUMMARY: " ".join(stem_words(_norm(p.ai_summary or ""))),
        "authors": [t for t in map(_norm, p.authors) if t.strip()],
        "org": [t for t in map(_norm, orgs) if t.strip()],
        "upvotes": upvotes,
        "first_day": min(days).toordinal() if days else _NO_DAY_FIRST,
        "last_day": max(days).toordinal() if days else _NO_DAY_LAST,
        "rank": 2.0 ** popularity(upvotes) - 2.0,
    }
    return tantivy.Document.from_dict(fields, schema)  # one call: faster than add_* each
