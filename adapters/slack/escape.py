"""mrkdwn escaping: text from outside (paper titles, user input) must never
become markup, or a title containing ``<!channel>`` pings a whole channel."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

ELLIPSIS = " …"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Characters that would end or split a ``<url|label>`` link, or break the URL.
_URL_UNSAFE = {"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20", '"': "%22", "`": "%60"}
MAX_LINK_URL = 1_000  # a longer URL is surely junk; it would eat the section's 3,000 chars


_ENTITY_TABLE = str.maketrans(_ENTITIES)  # str.translate: C speed on long abstracts
_URL_TABLE = str.maketrans(_URL_UNSAFE)
_URL_SAFE = "".join(chr(i) for i in range(33, 127))


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack asks; everything else stays readable."""
    return text.translate(_ENTITY_TABLE)


def _escaped_len(c: str) -> int:
    return len(_ENTITIES.get(c, c))


def escape_clip(text: str, limit: int) -> str:
    """Escape ``text`` and cut it, at a word boundary when one is near, so the
    escaped result is at most ``limit`` characters. Cuts never split an entity
    because they happen on the raw text."""
    if limit <= 0:
        return ""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(ELLIPSIS)
    if budget <= 0:
        return "…"[:limit]
    if len(escape(text[:budget])) == budget:
        cut = budget  # nothing to escape in the part kept (the usual case): no scan
    else:
        used = cut = 0
        for i, c in enumerate(text):
            used += _escaped_len(c)
            if used > budget:
                break
            cut = i + 1
    head = text[:cut]
    space = head.rfind(" ")
    if space > cut * 0.6:  # back off to a word boundary unless it costs too much
        head = head[:space]
    return escape(head.rstrip()) + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """A URL fit for ``<url|label>``: http(s) only, no character that ends the
    link, ``&`` escaped. ``None`` when the URL cannot be made safe."""
    if not url:
        return None
    url = url.strip()
    if not url.isprintable():
        url = "".join(c for c in url if c.isprintable())
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    url = url.translate(_URL_TABLE)
    # Anything non-ASCII gets percent-encoded too, so the URL cannot smuggle markup.
    url = quote(url, safe=_URL_SAFE)
    url = url.replace("&", "&amp;")
    return url if len(url) <= MAX_LINK_URL else None


def link(url: str | None, label: str, *, limit: int = 300) -> str:
    """``<url|label>`` with both parts safe, or just the escaped label."""
    safe = safe_url(url)
    text = escape_clip(label, limit)
    return f"<{safe}|{text}>" if safe else text
