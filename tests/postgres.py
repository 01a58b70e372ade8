"""A throwaway PostgreSQL for the tests: one server per session, a fresh database per test.

The server is the machine's own (``/usr/lib/postgresql/*/bin``: ``initdb``, ``pg_ctl``),
started in a temporary folder on a free loopback port and stopped at the end of the
session. ``initdb`` refuses to run as root, so as root it runs as the ``postgres``
user (``runuser``) in a folder handed to it. ``PAPERPOST_TEST_DATABASE_URL`` (a role
that may CREATE DATABASE) replaces the throwaway server. Without either, the
PostgreSQL tests skip with one line saying why, unless ``PAPERPOST_TEST_REQUIRE_POSTGRES``
is set (``.ci/run``): then they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest

PASSWORD = "pp-test-Secret-42"  # tests check it never reaches a message


@dataclass
class PostgresServer:
    admin_url: str  # a database to run CREATE DATABASE from

    def url(self, dbname: str) -> str:
        return urlunsplit(urlsplit(self.admin_url)._replace(path=f"/{dbname}"))

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def fresh_database(self) -> str:
        name = f"pp_test_{secrets.token_hex(6)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY')
        return name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@contextlib.contextmanager
def _throwaway(bindir: str) -> Iterator[PostgresServer]:
    as_postgres: list[str] = []
    owner = None
    if os.geteuid() == 0:  # initdb will not run as root
        owner = pwd.getpwnam("postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    with tempfile.TemporaryDirectory(prefix="paperpost-pg-") as tmp:
        data, pwfile = os.path.join(tmp, "data"), os.path.join(tmp, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD)
        if owner is not None:
            os.chown(tmp, owner.pw_uid, owner.pw_gid)
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
        subprocess.run(
            [*as_postgres, f"{bindir}/initdb", "-D", data, "-U", "postgres", "--no-sync",
             "--auth-host=scram-sha-256", "--auth-local=trust", f"--pwfile={pwfile}"],
            **quiet,
        )  # fmt: skip
        port = _free_port()
        options = (
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [*as_postgres, f"{bindir}/pg_ctl", "-D", data, "-o", options,
             "-l", os.path.join(tmp, "log"), "-w", "-t", "60", "start"],
            **quiet,
        )  # fmt: skip
        try:
            yield PostgresServer(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres")
        finally:
            subprocess.run(
                [*as_postgres, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
            )  # fmt: skip


@contextlib.contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    """A throwaway server outside pytest (the benchmarks); RuntimeError without binaries."""
    bindir = _binaries()
    if bindir is None:
        raise RuntimeError("no initdb in /usr/lib/postgresql/*/bin or on PATH")
    with _throwaway(bindir) as server:
        yield server


def _unavailable(reason: str) -> None:
    if os.environ.get("PAPERPOST_TEST_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL required (PAPERPOST_TEST_REQUIRE_POSTGRES) but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    given = os.environ.get("PAPERPOST_TEST_DATABASE_URL", "").strip()
    if given:
        yield PostgresServer(given)
        return
    bindir = _binaries()
    if bindir is None:
        _unavailable("no initdb in /usr/lib/postgresql/*/bin or on PATH, and no "
                     "PAPERPOST_TEST_DATABASE_URL")  # fmt: skip
    assert bindir is not None
    try:
        server = _throwaway(bindir)
        started = server.__enter__()
    except (subprocess.CalledProcessError, OSError, KeyError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        _unavailable(f"the throwaway server did not start ({exc}; {detail.decode()[-300:]})")
        raise
    try:
        yield started
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server."""
    name = postgres_server.fresh_database()
    yield postgres_server.url(name)
    with contextlib.suppress(Exception):
        postgres_server.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Each backend in turn: None (SQLite in the data folder) or a fresh PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


# A test that takes the ``core`` fixture runs on both backends with this mark.
both_backends = pytest.mark.usefixtures("database_url")
