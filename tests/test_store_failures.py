"""Store failures end at once, with one line naming the file and the errno.

Every store call here runs in a helper thread with a deadline, so a call that
would wait for ever (sqlitedict's dead worker) fails the test instead of
hanging the suite.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from paperpost.bot.catalog.store import STORE_FILENAME, Store
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.errors import StoreClosedError, StoreError, StoreReadOnlyError

DEADLINE = 10.0  # seconds; the failures themselves take milliseconds
CHANNEL = ChannelKey.parse("slack:T1:C1")


def within_deadline(call: Callable[[], Any]) -> BaseException | None:
    """Run ``call`` in a thread; the exception it raised, None if it returned."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), "the store call is still waiting: it should have failed at once"
    return outcome[0]


def one_line_naming(exc: BaseException | None, path: Path, *words: str) -> str:
    assert isinstance(exc, StoreError), repr(exc)
    message = str(exc)
    assert "\n" not in message and str(path) in message, message
    for word in words:
        assert word in message, message
    return message


# -- a file system that fails writes ------------------------------------------------
class FailingConnection:
    """A sqlite3 connection whose commits (or writes) fail as SQLite reports it."""

    fail_commit: sqlite3.Error | None = None
    fail_writes: sqlite3.Error | None = None

    def __init__(self, real: sqlite3.Connection) -> None:
        object.__setattr__(self, "_real", real)

    def commit(self) -> None:
        if FailingConnection.fail_commit is not None:
            raise FailingConnection.fail_commit
        self._real.commit()

    def execute(self, sql: str, *args: Any) -> Any:
        if FailingConnection.fail_writes is not None and sql.lstrip().upper().startswith(
            ("INSERT", "REPLACE", "UPDATE", "DELETE")
        ):
            raise FailingConnection.fail_writes
        return self._real.execute(sql, *args)

    def cursor(self) -> Any:
        return self  # sqlitedict's worker executes through a cursor

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._real, name, value)


def sqlite_error(message: str, code: int, name: str) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]  # set as SQLite would
    exc.sqlite_errorname = name  # type: ignore[attr-defined]
    return exc


@pytest.fixture
def failing_sqlite(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FailingConnection]]:
    real_connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda *a, **k: FailingConnection(real_connect(*a, **k))
    )
    yield FailingConnection
    FailingConnection.fail_commit = FailingConnection.fail_writes = None


def test_a_failed_commit_is_one_line_at_once_naming_the_errno(
    tmp_path: Path, failing_sqlite: type[FailingConnection]
) -> None:
    store = Store(tmp_path)
    registry = ChannelRegistry(store)
    failing_sqlite.fail_commit = sqlite_error("database or disk is full", 13, "SQLITE_FULL")
    caught = within_deadline(lambda: registry.save(CHANNEL, ChannelSettings(top_n=3)))
    one_line_naming(caught, store.path, "ENOSPC", "SQLITE_FULL", "disk is full")
    failing_sqlite.fail_commit = None
    # the failed write was rolled back, not left half-applied; the store still works
    assert within_deadline(lambda: registry.save(CHANNEL, ChannelSettings(top_n=4))) is None
    assert registry.get(CHANNEL).top_n == 4
    assert within_deadline(store.close) is None


def test_a_read_only_file_is_reported_as_read_only(
    tmp_path: Path, failing_sqlite: type[FailingConnection]
) -> None:
    store = Store(tmp_path)
    failing_sqlite.fail_writes = sqlite_error(
        "attempt to write a readonly database", 8, "SQLITE_READONLY"
    )
    caught = within_deadline(lambda: ChannelRegistry(store).save(CHANNEL, ChannelSettings()))
    message = one_line_naming(caught, store.path, "read-only", "EROFS")
    assert isinstance(caught, StoreReadOnlyError)
    assert "unreadable" not in message and "mv " not in message
    store.close()


@contextlib.contextmanager
def mounted(*commands: list[str]) -> Iterator[None]:
    """Run mount commands (root only); skip the test where mounting is not allowed."""
    done: list[str] = []
    try:
        for command in commands:
            if subprocess.run(command, capture_output=True).returncode != 0:
                pytest.skip(f"cannot {' '.join(command)} here")
            done.append(command[-1])
        yield
    finally:
        for target in dict.fromkeys(reversed(done)):
            subprocess.run(["umount", "-l", target], capture_output=True)


def test_a_full_disk_fails_at_once_naming_the_file(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)]):
        store = Store(disk)
        meta = store.table("meta")

        def fill() -> None:
            for n in range(100):
                meta[f"blob-{n}"] = "x" * 100_000
                store.commit("meta")

        caught = within_deadline(fill)
        one_line_naming(caught, store.path, "ENOSPC")
        assert within_deadline(store.close) is None


def test_a_read_only_folder_is_reported_as_read_only(tmp_path: Path) -> None:
    source, view = tmp_path / "data", tmp_path / "read-only"
    view.mkdir()
    with Store(source) as store:
        ChannelRegistry(store).save(CHANNEL, ChannelSettings(top_n=7))
    with mounted(
        ["mount", "--bind", str(source), str(view)],
        ["mount", "-o", "remount,ro,bind", str(view)],
    ):
        caught = within_deadline(lambda: Store(view).close())
        message = one_line_naming(caught, view / STORE_FILENAME, "read-only")
        assert isinstance(caught, StoreReadOnlyError)
        assert "unreadable" not in message and "mv " not in message
    with Store(source) as store:  # nothing was lost
        assert ChannelRegistry(store).get(CHANNEL).top_n == 7


def test_nothing_waits_on_a_closed_store(tmp_path: Path) -> None:
    store = Store(tmp_path)
    registry = ChannelRegistry(store)
    registry.save(CHANNEL, ChannelSettings(top_n=2))
    store.close()
    for call in (
        lambda: registry.get(CHANNEL),
        lambda: registry.save(CHANNEL, ChannelSettings()),
        lambda: store.commit("channels"),
        lambda: store.table("channels"),
        lambda: list(store.scan("channels")),
    ):
        assert isinstance(within_deadline(call), StoreClosedError)
    store.close()  # twice is fine


def test_a_reader_busy_while_the_store_closes_ends_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    registry = ChannelRegistry(store)
    registry.save(CHANNEL, ChannelSettings())
    started = threading.Event()

    def read_until_closed() -> None:
        while True:
            registry.get(CHANNEL)
            started.set()

    caught: list[BaseException | None] = []
    reader = threading.Thread(target=lambda: caught.append(within_deadline(read_until_closed)))
    reader.start()
    assert started.wait(DEADLINE)
    store.close()
    reader.join(DEADLINE + 1)
    assert not reader.is_alive()
    assert isinstance(caught[0], StoreClosedError)


def test_digest_on_a_full_disk_exits_1_with_one_line(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)]):
        env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
        result = subprocess.run(
            [sys.executable, "-m", "paperpost.cli", "digest", "--offline", "--date", "2026-08-21"],
            env={**env, "PAPERPOST_DATA_DIR": str(disk)},
            capture_output=True,
            text=True,
            timeout=60,  # a hang (sqlitedict's dead worker) fails here
        )
    assert result.returncode == 1
    # The user-facing answer is one line (the index's own retry may log around it).
    [line] = [x for x in result.stderr.splitlines() if x.startswith("paperpost: ")]
    assert str(disk / STORE_FILENAME) in line and "ENOSPC" in line, result.stderr
