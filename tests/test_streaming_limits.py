"""Streams are limited per caller, per process and in time (``streaming.py``)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import uuid

import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from flask import stream_template_string
from werkzeug.serving import make_server

from flask_server_actions import ServerActions
from flask_server_actions.streaming import ENVIRON_KEY
from flask_server_actions.streaming import TooManyStreams
from flask_server_actions.streaming import check_stream_limits
from flask_server_actions.streaming import stream_closed
from flask_server_actions.streaming import stream_response
from tests.test_cache import REDIS_URL
from tests.test_cache import redis_or_skip

PAGE = (
    "<ol>{% for n in numbers %}<li>{{ n }}</li>{% endfor %}</ol>"
    "{% if numbers.timed_out %}<p>cut short</p>{% endif %}"
)


def counting_blueprint() -> Blueprint:
    bp = Blueprint("counting", __name__)

    def numbers(upto, pause):
        for n in range(1, upto + 1):
            if pause:
                time.sleep(pause)
            yield n

    @bp.get("/count/<int:upto>")
    def count(upto):
        pause = request.args.get("pause", 0.0, type=float)
        limit = request.args.get("limit", None, type=float)
        try:
            return stream_response(
                numbers(upto, pause),
                html=lambda chunks: stream_template_string(PAGE, numbers=chunks),
                sse=lambda n: f"<p>{n}</p>",
                ndjson=lambda n: {"n": n},
                stopped=(lambda: "stopped") if "stopped" in request.args else None,
                time_limit=limit,
                owner=request.args.get("owner"),
            )
        except TooManyStreams as refused:
            return {"scope": refused.scope, "message": refused.description}, 429

    @bp.get("/check")
    def check():
        check_stream_limits(owner=request.args.get("owner"))
        return "free"

    @bp.get("/slot")
    def slot():
        response = stream_response(
            iter([1]), html=lambda c: map(str, c), sse=str, ndjson=lambda n: n
        )
        assert request.environ[ENVIRON_KEY] is not None
        return response

    return bp


def make_app(**config) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="test secret", **config)
    app.register_blueprint(counting_blueprint())
    ServerActions(app)
    return app


class Server:
    """The app on a real threaded server: each stream has its own thread, as under gthread."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def get(self, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def hold(self, path: str = "/count/100000?pause=0.05") -> socket.socket:
        """A stream that has started and is left open, as a slow reader leaves it."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200"), head
        return sock

    def wait_until_free(self, path: str = "/count/1") -> None:
        """A closed stream's thread notices at its next write; then its slot is free."""
        deadline = time.monotonic() + 10
        while self.get(path)[0] == 429:
            assert time.monotonic() < deadline, "the slot was never given back"
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)


@pytest.fixture
def serve():
    servers: list[Server] = []
    held: list[socket.socket] = []

    def start(app: Flask) -> Server:
        server = Server(app)
        original = server.hold

        def hold(*args: str) -> socket.socket:
            sock = original(*args)
            held.append(sock)
            return sock

        server.hold = hold  # type: ignore[method-assign]
        servers.append(server)
        return server

    yield start
    for sock in held:
        sock.close()
    for server in servers:
        server.stop()


@pytest.fixture
def app():
    return make_app(SERVER_ACTIONS_STREAMS_PER_USER=2)


def test_a_caller_over_the_limit_is_refused_with_429(app, serve):
    server = serve(app)
    server.hold(), server.hold()
    status, body = server.get("/count/5")
    assert status == 429
    assert json.loads(body) == {
        "scope": "user",
        "message": "You already have 2 streams open, the most at once. Wait for"
        " one to finish (or close its page), then try again.",
    }
    # Another caller still gets one.
    assert server.get("/count/1?owner=someone-else")[0] == 200


def test_a_stream_whose_client_left_gives_its_place_back(app, serve):
    server = serve(app)
    first = server.hold()
    server.hold()
    assert server.get("/count/5")[0] == 429
    first.close()
    server.wait_until_free()


def test_a_finished_stream_gives_its_place_back(app):
    client = app.test_client()
    for _ in range(5):
        assert client.get("/count/3").text == "<ol><li>1</li><li>2</li><li>3</li></ol>"


def test_a_stream_that_never_started_gives_its_place_back(app):
    """Closed before its first chunk (the client left at once)."""
    client = app.test_client()
    for _ in range(4):
        client.get("/count/5", buffered=False).close()
    assert client.get("/count/2").text == "<ol><li>1</li><li>2</li></ol>"


def test_the_refusal_is_a_too_many_requests_with_retry_after():
    refused = TooManyStreams("user", 1, retry_after=7)
    response = refused.get_response()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert refused.description == (
        "You already have a stream open, the most at once. Wait for one to finish"
        " (or close its page), then try again."
    )
    busy = TooManyStreams("process", 4, retry_after=5)
    assert busy.description == (
        "The server is busy with other streams right now. Please try again in 5"
        " seconds."
    )


def test_check_stream_limits_counts_the_callers_open_streams(app, serve):
    server = serve(app)
    assert server.get("/check") == (200, "free")
    server.hold(), server.hold()
    assert server.get("/check")[0] == 429
    assert server.get("/check?owner=someone-else") == (200, "free")


def test_the_process_limit_counts_every_caller(serve):
    server = serve(make_app(SERVER_ACTIONS_STREAMS_PER_PROCESS=2))
    first = server.hold("/count/100000?pause=0.05&owner=u1")
    server.hold("/count/100000?pause=0.05&owner=u2")
    status, body = server.get("/count/5?owner=u3")
    assert status == 429
    assert json.loads(body)["scope"] == "process"
    first.close()
    server.wait_until_free("/count/1?owner=u3")


def test_zero_turns_the_limits_off(serve):
    server = serve(
        make_app(
            SERVER_ACTIONS_STREAMS_PER_USER=0, SERVER_ACTIONS_STREAMS_PER_PROCESS=0
        )
    )
    for _ in range(12):
        server.hold()
    assert server.get("/count/1")[0] == 200


def test_the_slot_lives_on_the_request(app):
    assert app.test_client().get("/slot").status_code == 200


def test_threads_never_open_more_than_the_process_limit(serve):
    """Threads open streams at once: the count is taken under a lock."""
    server = serve(
        make_app(
            SERVER_ACTIONS_STREAMS_PER_USER=0, SERVER_ACTIONS_STREAMS_PER_PROCESS=3
        )
    )
    start = threading.Barrier(16)
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait()
        status = server.get("/count/10?pause=0.1")[0]
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(statuses) == [200] * 3 + [429] * 13


@pytest.mark.parametrize("backend", ["filesystem", "redis"])
def test_the_per_user_limit_holds_across_workers_sharing_a_cache(
    tmp_path, serve, backend
):
    """Two apps (two workers) on one shared cache count one caller's streams together."""
    config = {"SERVER_ACTIONS_STREAMS_PER_USER": 2, "SERVER_ACTIONS_CACHE": backend}
    if backend == "redis":
        redis_or_skip()
        config |= {
            "SERVER_ACTIONS_REDIS_URL": REDIS_URL,
            "SERVER_ACTIONS_CACHE_PREFIX": f"sa-streams-{uuid.uuid4().hex}:",
        }
    else:
        config["SERVER_ACTIONS_CACHE_DIR"] = str(tmp_path / "cache")
    one, two = serve(make_app(**config)), serve(make_app(**config))
    first = one.hold()
    two.hold()
    assert one.get("/count/5")[0] == 429
    assert two.get("/count/5")[0] == 429
    first.close()
    two.wait_until_free()


@pytest.mark.parametrize(
    ("accept", "ending"),
    [
        ("text/html", r"<li>\d+</li></ol><p>cut short</p>"),
        ("text/event-stream", r"data: <p>\d+</p>\n\nevent: done\ndata: done\n\n"),
        ("application/x-ndjson", r'\{"n":\d+\}\n'),
    ],
)
def test_the_time_limit_ends_the_stream_normally(app, accept, ending):
    seen = []

    def record(sender, **extra):
        seen.append(extra)

    with stream_closed.connected_to(record, app):
        started = time.monotonic()
        text = (
            app.test_client()
            .get("/count/100?pause=0.1&limit=0.3", headers={"Accept": accept})
            .text
        )
        took = time.monotonic() - started
    assert re.search(ending + r"\Z", text), text
    assert took < 3
    [closed] = seen
    assert closed["complete"] is False
    assert 1 <= closed["produced"] < 20


@pytest.mark.parametrize(
    ("accept", "last"),
    [
        ("text/html", "<li>stopped</li></ol><p>cut short</p>"),
        ("text/event-stream", "data: <p>stopped</p>\n\nevent: done\ndata: done\n\n"),
        ("application/x-ndjson", '{"n":"stopped"}\n'),
    ],
)
def test_stopped_makes_one_last_chunk_in_every_encoding(app, accept, last):
    response = app.test_client().get(
        "/count/100?pause=0.1&limit=0.3&stopped=1", headers={"Accept": accept}
    )
    assert response.text.endswith(last)
    assert response.text.count("stopped") == 1


def test_the_time_limit_comes_from_the_config():
    app = make_app(SERVER_ACTIONS_STREAM_TIME_LIMIT=1)
    started = time.monotonic()
    text = (
        app.test_client()
        .get("/count/100?pause=0.2", headers={"Accept": "application/x-ndjson"})
        .text
    )
    assert 0.9 < time.monotonic() - started < 5
    assert 1 <= len(text.splitlines()) < 10
