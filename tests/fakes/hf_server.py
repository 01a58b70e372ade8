"""A loopback fake of the Hugging Face papers API, over real HTTP.

A stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` with an ephemeral port, run
in a background thread, so it serves sync tests and async tests (httpx in the
test's event loop) alike.

What it serves
    ``GET /api/daily_papers?date=YYYY-MM-DD&limit=N&p=K`` from ``server.days``
    ({"YYYY-MM-DD": [items]}), paged like the real API: ``limit`` defaults to
    50 and is capped at 100, ``p`` counts from 0, a day without data is ``[]``,
    an invalid ``date``/``limit``/``p`` answers 400 ``{"error": ...}``. Without
    ``date`` it serves the latest day it has.
    ``GET /api/papers/{id}`` from ``server.papers`` ({id: record}, the ``paper``
    object of a daily item: ``paper_record(item)``), else 404 like the real API.
    Anything else is 404 unless added with ``server.route(path, handler)``.

Faults, scripted per request
    ``server.script(Fault.rate_limited(retry_after=7), Fault.server_error(), date="2026-05-12")``
    queues replies; each request takes the first queued fault whose ``date``,
    ``page`` and ``path`` match (None matches any) and is answered with it
    instead of the data.
    ``Fault.server_error(times=3)`` is three faults. Kinds: ``status``,
    ``rate_limited``, ``server_error``, ``hang`` (no answer for a bounded time,
    then the connection is closed), ``disconnect``, ``malformed_json``,
    ``wrong_shape``. ``server.ignore_paging = True`` makes it answer page 0
    whatever ``p`` is.

What it records
    ``server.requests``: ``RecordedRequest(method, path, query, headers)`` for
    every request, in order (headers with lower-case names).

Usage
    with FakeHFServer({"2026-05-12": load_day("2026-05-12")}) as hf:
        HuggingFaceSource(endpoint=hf.url)...

    Or the pytest fixtures ``hf_server`` (running, empty) and ``hf_days`` (all
    real days of ``tests/data/hf_daily_papers``, fresh copies), available where
    this module is a plugin: ``pytest_plugins = ("tests.fakes.hf_server",)``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
HF_DAYS_DIR = DATA_DIR / "hf_daily_papers"
OLDER_SCHEMA_DIR = DATA_DIR / "older_schema"

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
_ISO_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- real data ----------------------------------------------------------------
@cache
def _raw(path: Path) -> bytes:
    return path.read_bytes()


def day_files(directory: Path = HF_DAYS_DIR) -> dict[str, Path]:
    """``{"YYYY-MM-DD": path}`` for every real day file in ``directory``."""
    return {p.stem: p for p in sorted(directory.glob("*.json")) if _ISO_DAY_RE.match(p.stem)}


def load_day(day: str | date, directory: Path = HF_DAYS_DIR) -> list[dict[str, Any]]:
    """The items of one real archived day (a fresh copy each call)."""
    return json.loads(_raw(directory / f"{_key(day)}.json"))


def load_days(directory: Path = HF_DAYS_DIR) -> dict[str, list[dict[str, Any]]]:
    """All real days of ``directory``, as ``{"YYYY-MM-DD": items}`` (fresh copies)."""
    return {day: json.loads(_raw(path)) for day, path in day_files(directory).items()}


def as_day(items: list[dict[str, Any]], day: str | date) -> list[dict[str, Any]]:
    """Copies of ``items`` re-dated to ``day`` (``paper.submittedOnDailyAt``)."""
    out = json.loads(json.dumps(items))
    for item in out:
        item["paper"]["submittedOnDailyAt"] = f"{_key(day)}T00:00:00.000Z"
    return out


def recent_weeks(today: date, weeks: int = 6) -> dict[str, list[dict[str, Any]]]:
    """Every featured weekday of the ``weeks`` before ``today`` (``today`` excluded: it is
    not complete), each serving one real archived day re-dated to it (the real days
    in turn), so a fake clock at ``today`` sees an archive as recent as the real one."""
    real = list(load_days().values())
    served: dict[str, list[dict[str, Any]]] = {}
    for back in range(weeks * 7, 0, -1):
        day = today - timedelta(days=back)
        if day.weekday() < 5:
            served[day.isoformat()] = as_day(real[len(served) % len(real)], day)
    return served


def paper_record(item: dict[str, Any]) -> dict[str, Any]:
    """What ``GET /api/papers/{id}`` answers for a paper: its daily item's ``paper``."""
    return json.loads(json.dumps(item["paper"]))


def _key(day: str | date) -> str:
    return day.isoformat() if isinstance(day, date) else day


# -- scripted faults ------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    """One scripted reply. Build with the class methods."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    hang: float | None = None  # seconds without an answer, then close
    disconnect: bool = False  # close without answering
    date: str | None = None  # only requests for this date (None: any)
    page: int | None = None  # only requests for this page ``p`` (None: any)
    path: str | None = "/api/daily_papers"  # only this path (None: any)

    @classmethod
    def reply(
        cls,
        status: int,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> list[Fault]:
        """``status`` with ``body`` (bytes as is, anything else as JSON)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return [cls(status=status, body=raw, headers=hdrs)] * times

    @classmethod
    def rate_limited(
        cls,
        retry_after: str | float | None = 1,
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> list[Fault]:
        """429, with ``Retry-After`` (seconds or an HTTP date) unless None."""
        hdrs = dict(headers or {})
        if retry_after is not None:
            hdrs["Retry-After"] = str(retry_after)
        return cls.reply(429, {"error": "Too Many Requests"}, headers=hdrs, times=times)

    @classmethod
    def server_error(cls, status: int = 500, *, times: int = 1) -> list[Fault]:
        return cls.reply(status, {"error": "Internal Error"}, times=times)

    @classmethod
    def hang_for(cls, seconds: float = 2.0, *, times: int = 1) -> list[Fault]:
        """No answer for ``seconds`` (ended early when the server stops), then close."""
        return [cls(hang=seconds)] * times

    @classmethod
    def disconnected(cls, *, times: int = 1) -> list[Fault]:
        return [cls(disconnect=True)] * times

    @classmethod
    def malformed_json(cls, *, times: int = 1) -> list[Fault]:
        return cls.reply(200, b'[{"paper": {"id": "2605.0', times=times)

    @classmethod
    def wrong_shape(cls, *, times: int = 1) -> list[Fault]:
        """A JSON object where an array is expected."""
        return cls.reply(200, {"papers": [], "error": None}, times=times)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]  # first value of each parameter
    headers: dict[str, str]  # lower-case names

    @property
    def page(self) -> int | None:
        value = self.query.get("p")
        return int(value) if value and value.isdigit() else None


Handler = Callable[[RecordedRequest], tuple[int, Any]]


# -- the server -------------------------------------------------------------------
class FakeHFServer:
    """See the module docstring. ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, days: Mapping[str | date, list[Any]] | None = None) -> None:
        self.days: dict[str, list[Any]] = {_key(k): v for k, v in (days or {}).items()}
        self.requests: list[RecordedRequest] = []
        self.papers: dict[str, Any] = {}  # GET /api/papers/{id}
        self.ignore_paging = False
        self._faults: list[Fault] = []
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # configuration
    def set_day(self, day: str | date, items: list[Any]) -> None:
        self.days[_key(day)] = items

    def script(
        self, *faults: Fault | list[Fault], date: str | date | None = None, page: int | None = None
    ) -> None:
        """Queue faults (lists are flattened), optionally only for ``date`` and/or page ``p``."""
        with self._lock:
            for entry in faults:
                for fault in entry if isinstance(entry, list) else [entry]:
                    if date is not None:
                        fault = dataclasses.replace(fault, date=_key(date))
                    if page is not None:
                        fault = dataclasses.replace(fault, page=page)
                    self._faults.append(fault)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def route(self, path: str, handler: Handler) -> None:
        """Serve ``path`` with ``handler(request) -> (status, json_body)``."""
        self._routes[path] = handler

    def requests_for(self, day: str | date) -> list[RecordedRequest]:
        return [r for r in self.requests if r.query.get("date") == _key(day)]

    # lifecycle
    def start(self) -> FakeHFServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-hf",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHFServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # request handling (called on server threads)
    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.path not in (None, request.path):
                    continue
                if fault.date not in (None, request.query.get("date")):
                    continue
                if fault.page not in (None, request.page if request.page is not None else 0):
                    continue
                return self._faults.pop(i)
        return None

    def _daily_papers(self, request: RecordedRequest) -> tuple[int, Any]:
        query = request.query
        day = query.get("date")
        if day is None:
            day = max(self.days, default=date.today().isoformat())
        try:
            if not _ISO_DAY_RE.match(day):
                raise ValueError(day)
            date.fromisoformat(day)
        except ValueError:
            return 400, {"error": f"Invalid date: {day}"}
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
            page = 0 if self.ignore_paging else int(query.get("p", 0))
        except ValueError:
            return 400, {"error": "limit and p must be integers"}
        if limit < 1 or page < 0:
            return 400, {"error": "limit must be >= 1 and p >= 0"}
        limit = min(limit, MAX_LIMIT)
        items = self.days.get(day, [])
        return 200, items[page * limit : (page + 1) * limit]


def _make_handler(server: FakeHFServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10  # idle keep-alive connections end eventually

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without this, Nagle plus
            # delayed ACKs add ~40 ms to every keep-alive response.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            request = RecordedRequest(
                method="GET",
                path=parts.path,
                query={k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
            )
            with server._lock:
                server.requests.append(request)
            fault = server._take_fault(request)
            if fault is not None:
                if fault.hang is not None:
                    server._stopping.wait(fault.hang)
                    self.close_connection = True
                    return
                if fault.disconnect:
                    self.close_connection = True
                    return
                self._send(fault.status, fault.body, fault.headers)
                return
            if request.path in server._routes:
                status, body = server._routes[request.path](request)
            elif request.path == "/api/daily_papers":
                status, body = server._daily_papers(request)
            elif request.path.startswith("/api/papers/"):
                paper_id = request.path.removeprefix("/api/papers/")
                found = server.papers.get(paper_id)
                status, body = (200, found) if found is not None else (404, {"error": "Not Found"})
            else:
                status, body = 404, {"error": "Not Found"}
            self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

        def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return _Handler


# -- pytest fixtures ----------------------------------------------------------------
@pytest.fixture
def hf_server() -> Iterator[FakeHFServer]:
    """A running fake with no days; add them with ``set_day`` or ``days[...] = ...``."""
    with FakeHFServer() as server:
        yield server


@pytest.fixture
def hf_days() -> dict[str, list[dict[str, Any]]]:
    """Every real day in ``tests/data/hf_daily_papers`` (fresh copies per test)."""
    return load_days()


__all__ = [
    "HF_DAYS_DIR",
    "OLDER_SCHEMA_DIR",
    "FakeHFServer",
    "Fault",
    "RecordedRequest",
    "as_day",
    "day_files",
    "hf_days",
    "hf_server",
    "load_day",
    "load_days",
    "paper_record",
    "recent_weeks",
]
