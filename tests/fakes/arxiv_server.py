"""A loopback fake of arXiv's export API (``GET /api/query?id_list=ID``), over real HTTP.

It answers with real recorded Atom feeds (``tests/data/arxiv``, from the arxiv.py
test suite, see /work/shared/data/samples/SOURCES.md): the one-entry feed of
``2104.12255v1``; for ids added with ``fake.add(id, title=…, summary=…, authors=…)``
that feed with the entry's fields replaced; the real zero-entry feed for any
other well-formed id; the real HTTP 400 error feed for a malformed one.
``fake.requests`` records each request's ``id_list``.

    async with FakeArxiv() as arxiv:
        Config(..., arxiv_endpoint=arxiv.url)
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web

DATA = Path(__file__).resolve().parent.parent / "data" / "arxiv"
ONE_ENTRY = (DATA / "id_2104.12255v1.xml").read_text("utf-8")
NO_ENTRY = (DATA / "id_0000.0000.xml").read_text("utf-8")
BAD_ID = (DATA / "id_abc.400.xml").read_text("utf-8")
_ID_RE = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")


def feed_for(paper_id: str, *, title: str, summary: str, authors: list[str]) -> str:
    """The real one-entry feed, carrying another paper."""
    feed = ONE_ENTRY.replace("2104.12255v1", f"{paper_id}v2")
    entry_title = re.compile(r"(<entry>.*?<title>)(.*?)(</title>)", re.S)
    feed = entry_title.sub(lambda m: m[1] + escape(title) + m[3], feed, count=1)
    feed = re.sub(r"<summary>.*?</summary>", lambda _m: f"<summary>{escape(summary)}</summary>",
                  feed, count=1, flags=re.S)  # fmt: skip
    names = "".join(f"<author><name>{escape(a)}</name></author>" for a in authors)
    return re.sub(r"<author>.*</author>", lambda _m: names, feed, count=1, flags=re.S)


class FakeArxiv:
    def __init__(self) -> None:
        self.feeds: dict[str, str] = {"2104.12255": ONE_ENTRY}
        self.requests: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add(self, paper_id: str, *, title: str, summary: str, authors: list[str]) -> None:
        self.feeds[paper_id] = feed_for(paper_id, title=title, summary=summary, authors=authors)

    async def start(self) -> FakeArxiv:
        app = web.Application()
        app.router.add_get("/api/query", self._query)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeArxiv:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _query(self, request: web.Request) -> web.Response:
        wanted = request.query.get("id_list", "")
        self.requests.append(wanted)
        atom = "application/atom+xml; charset=UTF-8"
        match = _ID_RE.match(wanted)
        if match is None:
            return web.Response(status=400, text=BAD_ID, content_type="application/atom+xml")
        body = self.feeds.get(match.group(1), NO_ENTRY)
        return web.Response(body=body.encode(), headers={"Content-Type": atom})
