"""The real site under gunicorn while streams and slow clients hold its threads.

Issue 13: with sync workers, two report streams of one member made ``GET /``
wait seconds for everyone, and a client sending its body a byte at a time held
a worker. Each server here is a real gunicorn (``gunicorn.conf.py``).
"""

from __future__ import annotations

import http.client
import re
import select
import socket
import threading
import time
from html import unescape
from urllib.parse import urlencode

import pytest

from tests.site_servers import Browser
from tests.site_servers import csrf_token
from tests.site_servers import hidden_fields
from tests.site_servers import site_env
from tests.site_servers import start_site
from tests.site_servers import stop

REPORT = "/reports/run?year=2026&region=all"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One worker with 6 threads (3 streams at most); SQLite, zero setup."""
    instance = tmp_path_factory.mktemp("slow-clients")
    env = site_env(
        SITE_INSTANCE_PATH=str(instance),
        GUNICORN_THREADS="6",
        BODY_TIMEOUT="1",
        CREATE_SCHEMA="true",
        SIGN_IN_RATE_LIMIT="1000/minute",
        # The tests speak to gunicorn directly: nobody in front sets the address.
        TRUSTED_PROXIES="0",
    )
    proc, url = start_site(env)
    try:
        yield int(url.rsplit(":", 1)[1])
    finally:
        stop(proc)


def get(port: int, path: str, cookie: str = "") -> tuple[int, str, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read().decode(), time.monotonic() - started
    finally:
        conn.close()


def signed_in(port: int, email: str, password: str) -> str:
    browser = Browser()
    base = f"http://127.0.0.1:{port}"
    token = csrf_token(browser.get(base + "/sign-in").text)
    answer = browser.post(
        base + "/sign-in",
        {"csrf_token": token, "email": email, "password": password, "next": "/"},
        htmx=False,
    )
    assert answer.status == 200, answer.text
    [cookie] = [c for c in browser.jar if c.name == "session"]
    return f"session={cookie.value}"


def open_report(port: int, cookie: str) -> socket.socket:
    """A report stream, read up to its first month and left open."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(
        f"GET {REPORT} HTTP/1.1\r\nHost: localhost\r\n"
        f"Accept: application/x-ndjson\r\nCookie: {cookie}\r\n\r\n".encode()
    )
    received = b""
    while b'"section":1,' not in received:
        chunk = conn.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received
    return conn


class SlowBody:
    """Sends the headers of a form post, then its body one byte every 50 ms."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.body = b"name=" + b"x" * 995
        self.sock.sendall(
            b"POST /users/create HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(self.body)
        )
        self.answer = b""
        self.took = 0.0
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._dribble, daemon=True)
        self._started = time.monotonic()
        self._thread.start()

    def _dribble(self) -> None:
        # poll(), not select(): by now the test process may hold more than
        # FD_SETSIZE (1024) descriptors, which select() refuses.
        answered = select.poll()
        answered.register(self.sock, select.POLLIN)
        try:
            for byte in self.body:
                if answered.poll(0):
                    break
                self.sock.sendall(bytes([byte]))
                time.sleep(0.05)
            self.answer = self.sock.recv(4096)
        except (OSError, ValueError) as exc:  # reset, or closed by wait()
            self.failure = exc
        self.took = time.monotonic() - self._started

    def wait(self) -> None:
        self._thread.join(30)
        if self._thread.is_alive():
            self.failure = TimeoutError("no answer within 30 s")
            # Ends the dribble: its next send or select fails.
            self.sock.shutdown(socket.SHUT_RDWR)
            self._thread.join(5)
        self.sock.close()

    def __repr__(self) -> str:
        return f"<SlowBody answer={self.answer[:80]!r} took={self.took:.2f}s failure={self.failure!r}>"


def test_a_body_that_arrives_too_slowly_is_cut_off_with_408(site):
    slow = SlowBody(site)
    slow.wait()
    assert slow.answer.startswith(b"HTTP/1.1 408 Request Timeout"), slow
    assert b"Your request took too long to arrive" in slow.answer
    # BODY_TIMEOUT=1, plus a moment for the answer (more on a busy machine):
    # not the 50 s the whole body would take.
    assert 0.9 < slow.took < 10, slow


def test_pages_are_served_while_streams_and_slow_bodies_hold_threads(site):
    """Two streams and a slow body take 3 of the worker's 6 threads; pages still come."""
    cookie = signed_in(site, "grace@example.com", "compiler-1952")
    streams = [open_report(site, cookie) for _ in range(2)]
    slow = SlowBody(site)
    try:
        for _ in range(10):
            status, _, took = get(site, "/")
            assert status == 200
            assert took < 1.0, f"GET / took {took:.2f} s while streams ran"
    finally:
        for conn in streams:
            conn.close()
        slow.wait()


def test_a_third_stream_of_one_member_is_refused(site):
    cookie = signed_in(site, "ada@example.com", "analytical-engine")
    streams = [open_report(site, cookie) for _ in range(2)]
    try:
        status, text, _ = get(site, REPORT, cookie)
        assert status == 429
        assert "You already have 2 streams open" in unescape(text)
    finally:
        for conn in streams:
            conn.close()


def test_a_chunked_form_post_is_read_whole(site):
    """The body is read before the app (as a buffering proxy would), whatever its framing."""
    browser = Browser()
    base = f"http://127.0.0.1:{site}"
    page = browser.get(base + "/users").text
    fields = hidden_fields(page, "/users/create")
    name = "Chunked " + "y" * 80
    body = urlencode(fields | {"name": name, "email": "chunked@example.com"})
    [cookie] = [c for c in browser.jar if c.name == "session"]
    conn = http.client.HTTPConnection("127.0.0.1", site, timeout=30)
    try:
        conn.putrequest("POST", "/users/create")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("Cookie", f"session={cookie.value}")
        conn.putheader("HX-Request", "true")
        conn.endheaders()
        data = body.encode()
        for start in range(0, len(data), 50):
            piece = data[start : start + 50]
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        text = response.read().decode()
    finally:
        conn.close()
    assert response.status == 200, text
    assert f"{name} was created." in unescape(text)
    users = get(site, "/users")[1]
    assert re.search(re.escape(name), unescape(users))
