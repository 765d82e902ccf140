"""Faults for real: Redis and PostgreSQL stopped and restarted, SQLite locked.

Every server here is a real gunicorn process. Redis is this test's own
``redis-server`` on a free port and PostgreSQL a throwaway cluster of its own
(``initdb``), so the machine's shared servers are never touched.
Nothing may answer a raw 500, nothing typed may be lost, nothing written twice.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.services import unavailable_service
from tests.site_servers import Browser
from tests.site_servers import flask_cli
from tests.site_servers import free_port
from tests.site_servers import hidden_fields
from tests.site_servers import site_env
from tests.site_servers import start_site
from tests.site_servers import stop
from tests.site_servers import wait_for_port


class OwnRedis:
    """A redis-server of this test's own, without persistence, that can be stopped."""

    def __init__(self, directory: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable_service("redis-server is not installed")
        self.binary = str(binary)
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


class OwnPostgres:
    """A PostgreSQL cluster of this test's own, on a free port, that can crash and restart."""

    def __init__(self) -> None:
        # The newest installed major version (numerically: 16 after 9.6).
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"),
            key=lambda path: [int(n) for n in re.findall(r"\d+", path)],
        )
        initdb = found[-1] if found else shutil.which("initdb")
        if initdb is None:
            unavailable_service("PostgreSQL's initdb is not installed")
        self.bin = os.path.dirname(str(initdb))
        # PostgreSQL refuses to run as root; as root, run it as the postgres user.
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                unavailable_service("there is no postgres user to run PostgreSQL as")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.directory = ""
        self.data = ""

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self.as_owner, *command], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def init(self) -> None:
        # Under /tmp, not pytest's tmp_path: the postgres user must reach it, and
        # the socket path must stay short.
        self.directory = tempfile.mkdtemp(prefix="sa-pg-")
        self.data = os.path.join(self.directory, "data")
        if self.as_owner:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            f"{self.bin}/initdb",
            *("-D", self.data, "-U", "postgres", "-A", "trust"),
            *("--no-sync", "--locale=C", "-E", "UTF8"),
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=off"
        )
        self._run(
            f"{self.bin}/pg_ctl",
            *("-D", self.data, "-l", os.path.join(self.directory, "log")),
            *("-o", options, "-w", "-t", "30", "start"),
        )

    def crash(self) -> None:
        """Stop at once, as a crash would: clients' connections just die."""
        self._run(f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster: its data is throwaway."""
        if not self.directory:
            return
        try:
            subprocess.run(
                [
                    *self.as_owner,
                    f"{self.bin}/pg_ctl",
                    *("-D", self.data, "-m", "immediate", "stop"),
                ],
                capture_output=True,
                timeout=60,
            )
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def assert_retry_later(answer) -> None:
    """A 503 that says when to try again, in the header and in words."""
    assert answer.status == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
    assert "try again in 5 seconds" in answer.text


def create_user_refused(
    browser: Browser, url: str, body: dict[str, str], *, htmx: bool
):
    """Post the new-user form while the database is away: a 503 that loses nothing.

    With htmx only the form's status area comes back, so the form in the browser
    keeps its input; without, the page comes back with what was typed in it.
    """
    answer = browser.post(url + "/users/create", body, htmx=htmx)
    assert_retry_later(answer)
    if htmx:
        assert "users-create-user-status" in answer.text
    else:
        assert f'value="{body["name"]}"' in answer.text
        assert f'value="{body["email"]}"' in answer.text
    return answer


def count(db_file, query: str, *params: object) -> int:
    with sqlite3.connect(db_file) as conn:
        return int(conn.execute(query, params).fetchone()[0])


@pytest.fixture(scope="module")
def redis_servers(tmp_path_factory):
    """Two servers on one SQLite file and one own Redis: limits fail open on A, closed on B."""
    tmp = tmp_path_factory.mktemp("redis-fault")
    redis_server = OwnRedis(str(tmp))
    redis_server.start()
    db_file = tmp / "site.db"
    env = site_env(
        DATABASE_URL=f"sqlite:///{db_file}",
        REDIS_URL=redis_server.url,
        CONTACT_RATE_LIMIT="100/hour",
        SITE_INSTANCE_PATH=str(tmp),
    )
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "seed")
    procs = []
    try:
        fail_open, a = start_site(env | {"RATELIMIT_FAIL": "open"})
        procs.append(fail_open)
        fail_closed, b = start_site(env | {"RATELIMIT_FAIL": "closed"})
        procs.append(fail_closed)
        yield a, b, redis_server, db_file
    finally:
        for proc in procs:
            stop(proc)
        redis_server.stop()


def contact(browser: Browser, url: str, sender: str, *, htmx: bool = True, key=True):
    fields = hidden_fields(browser.get(url + "/contact").text, "/contact/send")
    if not key:
        # As an API client would post: no submission key, so only the limiter runs.
        fields.pop("_sa_key", None)
    message = {
        "name": "Faulty Tester",
        "email": sender,
        "message": "Kept while Redis is away.",
    }
    return browser.post(url + "/contact/send", fields | message, htmx=htmx)


def messages_from(db_file, sender: str) -> int:
    return count(
        db_file, "SELECT count(*) FROM contact_messages WHERE email = ?", sender
    )


def users_named(db_file, email: str) -> int:
    return count(db_file, "SELECT count(*) FROM users WHERE email = ?", email)


def test_redis_going_away_and_coming_back(redis_servers):
    a, b, redis_server, db_file = redis_servers
    browser = Browser()
    assert browser.get(a + "/users").status == 200
    assert contact(browser, a, "before@example.com").status == 200
    fields = hidden_fields(browser.get(a + "/users").text, "/users/create")
    assert "_sa_key" in fields
    typed = {
        "name": "Made Around Redis",
        "email": "around-redis@example.com",
        "role": "user",
    }

    redis_server.stop()
    # Caches fall back to rendering fresh.
    page = browser.get(a + "/users")
    assert page.status == 200
    assert "Ada Lovelace" in page.text
    # A submission key cannot be recorded: 503 with a retry hint, input kept, no write.
    refused = browser.post(a + "/users/create", fields | typed)
    assert_retry_later(refused)
    refused_plain = browser.post(a + "/users/create", fields | typed, htmx=False)
    assert_retry_later(refused_plain)
    assert 'value="around-redis@example.com"' in refused_plain.text
    assert users_named(db_file, "around-redis@example.com") == 0
    # Rate limits fail open on A: a keyless post is sent.
    assert contact(browser, a, "open@example.com", key=False).status == 200
    assert messages_from(db_file, "open@example.com") == 1
    # ... and closed on B: 503 with a retry hint, the input kept, nothing sent.
    closed = contact(browser, b, "closed@example.com", htmx=False, key=False)
    assert_retry_later(closed)
    assert "Kept while Redis is away." in closed.text
    assert 'value="closed@example.com"' in closed.text
    assert messages_from(db_file, "closed@example.com") == 0

    redis_server.start()
    # The site recovers by itself. The refused submission goes through once,
    # whichever server gets it, however often it is sent.
    first = browser.post(b + "/users/create", fields | typed)
    assert first.status == 200, first.text
    again = browser.post(a + "/users/create", fields | typed)
    assert again.status == 200
    assert again.headers.get("X-Submission-Replayed") == "1"
    assert users_named(db_file, "around-redis@example.com") == 1
    assert contact(browser, b, "closed@example.com").status == 200
    assert messages_from(db_file, "closed@example.com") == 1
    assert "Made Around Redis" in browser.get(a + "/users").text


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("db-fault")
    db_file = tmp / "site.db"
    env = site_env(
        DATABASE_URL=f"sqlite:///{db_file}",
        CACHE_BACKEND="filesystem",
        CACHE_DIR=str(tmp / "cache"),
        DATABASE_TIMEOUT="1",
        SITE_INSTANCE_PATH=str(tmp),
    )
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "seed")
    proc, url = start_site(env)
    try:
        yield url, db_file
    finally:
        stop(proc)


def test_a_locked_database_answers_503_and_keeps_the_input(sqlite_server):
    url, db_file = sqlite_server
    browser = Browser()
    # The token and form fields, from a page that never reads the database
    # (/users would put its regions in the cache before the lock).
    token = hidden_fields(browser.get(url + "/contact").text, "/contact/send")
    fields = token | {"_sa_page": "/users", "_sa_form": "users-create-user"}
    typed = {"name": "Patient Person", "email": "patient@example.com", "role": "admin"}

    lock = sqlite3.connect(db_file, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        page = browser.get(url + "/users")
        assert_retry_later(page)

        create_user_refused(browser, url, fields | typed, htmx=True)
        plain = create_user_refused(browser, url, fields | typed, htmx=False)
        resubmit = hidden_fields(plain.text, "/users/create")
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    assert (
        count(
            db_file, "SELECT count(*) FROM users WHERE email = ?", "patient@example.com"
        )
        == 0
    )
    # The "Try again" form posts the same input once the database answers.
    again = browser.post(url + "/users/create", resubmit | typed, htmx=False)
    assert again.status == 200, again.text
    assert "Patient Person" in again.text
    assert (
        count(
            db_file, "SELECT count(*) FROM users WHERE email = ?", "patient@example.com"
        )
        == 1
    )


def test_an_unreachable_database_answers_503_and_keeps_the_input(tmp_path):
    env = site_env(
        # Nothing listens there: connections are refused.
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/site",
        CACHE_BACKEND="filesystem",
        CACHE_DIR=str(tmp_path / "cache"),
        SITE_INSTANCE_PATH=str(tmp_path),
    )
    proc, url = start_site(env)
    try:
        browser = Browser()
        page = browser.get(url + "/users")
        assert_retry_later(page)
        sender = f"unreachable-{uuid.uuid4().hex[:6]}@example.com"
        sent = contact(browser, url, sender, htmx=False)
        assert_retry_later(sent)
        assert f'value="{sender}"' in sent.text
        assert "Kept while Redis is away." in sent.text
    finally:
        stop(proc)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    try:
        server.init()
        server.start()
        with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
            admin.execute('CREATE DATABASE "site"')
        yield server
    finally:
        server.remove()


def users_in(server: OwnPostgres, email: str) -> int:
    with psycopg.connect(server.url("site")) as conn:
        row = conn.execute("SELECT count(*) FROM users WHERE email = %s", (email,))
        return int(row.fetchone()[0])  # type: ignore[index]


def test_postgres_crashing_and_coming_back(own_postgres, tmp_path):
    env = site_env(
        DATABASE_URL=own_postgres.url("site").replace(
            "postgresql://", "postgresql+psycopg://", 1
        ),
        CACHE_BACKEND="filesystem",
        CACHE_DIR=str(tmp_path / "cache"),
        SITE_INSTANCE_PATH=str(tmp_path),
        # Two workers, each with its own pool of connections that the crash kills.
        WEB_CONCURRENCY="2",
    )
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "seed")
    proc, url = start_site(env)
    try:
        browser = Browser()
        # Warm every worker's pool, so the crash leaves dead connections behind.
        for _ in range(4):
            assert browser.get(url + "/posts").status == 200
        # Two forms, as two tabs would show them: each has its own submission key.
        js_form = hidden_fields(browser.get(url + "/users").text, "/users/create")
        plain_form = hidden_fields(browser.get(url + "/users").text, "/users/create")
        with_js = {"name": "Crash Survivor", "email": "with-js@example.com"}
        without_js = {"name": "Plain Survivor", "email": "without-js@example.com"}

        own_postgres.crash()
        # What the cache holds is still shown: the blog's regions are cached.
        assert "Popular posts" in browser.get(url + "/posts").text
        # A page that needs the database: a clear 503 with a retry hint.
        page = browser.get(url + "/products?q=lamp")
        assert_retry_later(page)
        create_user_refused(browser, url, js_form | with_js, htmx=True)
        plain = create_user_refused(browser, url, plain_form | without_js, htmx=False)
        resend = hidden_fields(plain.text, "/users/create")
        # The refused submission released its key, and the form shown again keeps it.
        assert resend["_sa_key"] == plain_form["_sa_key"]

        own_postgres.start()
        assert users_in(own_postgres, "with-js@example.com") == 0
        assert users_in(own_postgres, "without-js@example.com") == 0
        # The site recovers by itself: no restart, the dead pooled connections
        # are replaced. Each submission goes through once, however often it is sent:
        # the refused one released its key, so the form kept in the browser works.
        first = browser.post(url + "/users/create", js_form | with_js)
        assert first.status == 200, first.text
        again = browser.post(url + "/users/create", js_form | with_js)
        assert again.status == 200
        assert again.headers.get("X-Submission-Replayed") == "1"
        # "Try again", then Back and the refused body sent once more.
        for body in (resend, resend, plain_form):
            sent = browser.post(url + "/users/create", body | without_js, htmx=False)
            assert sent.status == 200
        assert users_in(own_postgres, "with-js@example.com") == 1
        assert users_in(own_postgres, "without-js@example.com") == 1
        for _ in range(4):
            listing = browser.get(url + "/users")
            assert listing.status == 200
            assert "Crash Survivor" in listing.text
            assert "Plain Survivor" in listing.text
    finally:
        stop(proc)
