"""Run the real site under gunicorn (``gunicorn.conf.py``, ``wsgi:app``) for tests.

Used by the two-server and fault tests: the processes are real, configured only
through the environment variables an operator would set.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from html import unescape as html_unescape
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} on port {port} exited with {proc.returncode}.")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"{what} did not listen on port {port} within 20 s.")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def site_env(**overrides: str) -> dict[str, str]:
    """A production environment: real secret, no Secure cookies (tests speak HTTP)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CACHE_BACKEND", "SECRET_KEY"}
    }
    env |= {
        "SITE_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "SESSION_COOKIE_SECURE": "false",
        "WEB_CONCURRENCY": "1",
        # The test client plays the one proxy in front (X-Forwarded-For).
        "TRUSTED_PROXIES": "1",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "warning",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    return env | overrides


def flask_cli(env: dict[str, str], *args: str) -> None:
    """``flask --app wsgi <args>`` as an operator would run it."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def start_site(
    env: dict[str, str], port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the site under gunicorn; its log goes to the test's stderr on failure."""
    port = port or free_port()
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env | {"BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=None,
    )
    wait_for_port(port, proc, "gunicorn")
    return proc, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def sites_on_redis(
    count: int, **overrides: str
) -> Iterator[tuple[list[subprocess.Popen[bytes]], list[str]]]:
    """``count`` servers of one site sharing one Redis (keys of their own, removed
    afterwards), its database migrated and seeded: their processes and URLs."""
    import redis

    redis_url = "redis://127.0.0.1:6379/0"
    prefix = f"sa-sites-{uuid.uuid4().hex}:"
    env = site_env(REDIS_URL=redis_url, CACHE_PREFIX=prefix, **overrides)
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "seed")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        urls = []
        for _ in range(count):
            proc, url = start_site(env)
            procs.append(proc)
            urls.append(url)
        yield procs, urls
    finally:
        for proc in procs:
            stop(proc)
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]


@dataclass
class Browser:
    """One visitor: a cookie jar that every server of the site sees."""

    #: Sent as ``X-Forwarded-For``, as the trusted proxy in front would.
    address: str = "10.0.0.1"
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def _open(self, request: urllib.request.Request) -> Answer:
        request.add_header("X-Forwarded-For", self.address)
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar)
        )
        try:
            with opener.open(request, timeout=15) as response:
                return Answer(
                    response.status, response.read().decode(), dict(response.headers)
                )
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(), dict(error.headers))

    def get(self, url: str) -> Answer:
        return self._open(urllib.request.Request(url))

    def post(self, url: str, data: dict[str, str], *, htmx: bool = True) -> Answer:
        headers = {"HX-Request": "true"} if htmx else {}
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(url, data=body, headers=headers))


def csrf_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def hidden_fields(html: str, form_action: str) -> dict[str, str]:
    """The hidden inputs of the form that posts to ``form_action``, in any attribute order."""
    start = html.index(f'action="{form_action}"')
    form = html[start : html.index("</form>", start)]
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input\b[^>]*>", form):
        if 'type="hidden"' not in tag:
            continue
        name = re.search(r'\bname="([^"]*)"', tag)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = html_unescape(value.group(1)) if value else ""
    return fields
