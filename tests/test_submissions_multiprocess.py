"""One write per submission and rate limits, against real multi-worker gunicorn servers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.services import unavailable_service
from tests.test_cache import REDIS_URL
from tests.test_cache import redis_or_skip
from tests.test_cache_coherence import free_port
from tests.test_cache_coherence import wait_for_port

ROOT = Path(__file__).parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
WORKERS = 4
SIMULTANEOUS = 20


def _drop_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    # Flask-Limiter puts its prefix inside its keys ("LIMITER/<prefix>/...").
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)


@pytest.fixture
def redis_prefix():
    redis_or_skip()
    prefix = f"sa-submissions-{uuid.uuid4().hex}:"
    yield prefix
    _drop_redis_keys(prefix)


@pytest.fixture(params=["memory", "filesystem", "redis"])
def backend_env(request, tmp_path):
    env = {
        "SA_TEST_DB": str(tmp_path / "shop.sqlite"),
        "SA_TEST_LEDGER": str(tmp_path / "ledger.sqlite"),
    }
    if request.param == "memory":
        # Each worker has a cache of its own; the ledger (an SQLite file by
        # default) is still one for the machine, so a form is written once.
        yield env | {"SA_TEST_CACHE": "memory"}
        return
    if request.param == "filesystem":
        yield env | {"SA_TEST_CACHE": "filesystem", "SA_TEST_CACHE_DIR": str(tmp_path)}
        return
    redis_prefix = request.getfixturevalue("redis_prefix")
    yield env | {
        "SA_TEST_CACHE": "redis",
        "SA_TEST_REDIS_URL": REDIS_URL,
        "SA_TEST_PREFIX": redis_prefix,
    }


def start_gunicorn(env_extra: dict[str, str]):
    if not GUNICORN.exists():
        unavailable_service(f"gunicorn is not installed beside {sys.executable}")
    env = os.environ | env_extra
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            str(GUNICORN),
            f"--workers={WORKERS}",
            f"--bind=127.0.0.1:{port}",
            "--timeout=120",
            "tests.submission_app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def server(backend_env):
    proc, url = start_gunicorn(backend_env)
    try:
        yield url
    finally:
        stop(proc)


def browser_session(server: str) -> str:
    """The cookie of a new browser session (submission keys are kept per session)."""
    with urllib.request.urlopen(server + "/", timeout=60) as response:
        return response.headers["Set-Cookie"].split(";", 1)[0]


def post(
    url: str, data: dict[str, str], cookie: str | None = None
) -> tuple[int, dict[str, str], str]:
    headers = {"Accept": "application/json"}
    if cookie is not None:
        headers["Cookie"] = cookie
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(data).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def all_at_once(url: str, data: dict[str, str], count: int, cookie: str | None = None):
    """``count`` requests released together by a barrier; their answers."""
    barrier = threading.Barrier(count)
    answers: list[tuple[int, dict[str, str], str]] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        answer = post(url, data, cookie)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert len(answers) == count, "some requests never came back"
    return answers


def rows(db: str, item: str) -> int:
    with sqlite3.connect(db) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM orders WHERE item = ?", (item,)
        ).fetchone()
    return int(count)


def test_simultaneous_requests_with_one_key_write_once(server, backend_env):
    key = uuid.uuid4().hex
    cookie = browser_session(server)
    answers = all_at_once(
        server + "/actions/order", {"_sa_key": key}, SIMULTANEOUS, cookie
    )
    assert rows(backend_env["SA_TEST_DB"], "book") == 1
    assert [status for status, _, _ in answers] == [200] * SIMULTANEOUS
    bodies = {body for _, _, body in answers}
    assert len(bodies) == 1, "every repeat gets the first result back"
    assert json.loads(bodies.pop())["data"] == {"orders": 1}
    replayed = [h for _, h, _ in answers if h.get("X-Submission-Replayed") == "1"]
    assert len(replayed) == SIMULTANEOUS - 1
    # A new key is a new submission.
    status, _, _ = post(
        server + "/actions/order", {"_sa_key": uuid.uuid4().hex}, cookie
    )
    assert status == 200
    assert rows(backend_env["SA_TEST_DB"], "book") == 2


def test_rate_limit_holds_across_workers_with_redis(tmp_path, redis_prefix):
    env = {
        "SA_TEST_DB": str(tmp_path / "shop.sqlite"),
        "SA_TEST_CACHE": "redis",
        "SA_TEST_REDIS_URL": REDIS_URL,
        "SA_TEST_PREFIX": redis_prefix,
        "SA_TEST_LIMIT_STORAGE": REDIS_URL,
    }
    proc, url = start_gunicorn(env)
    try:
        answers = all_at_once(url + "/actions/limited", {}, 12)
    finally:
        stop(proc)
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200] * 5 + [429] * 7
    assert rows(env["SA_TEST_DB"], "limited") == 5
    refused = next(body for status, _, body in answers if status == 429)
    assert "5/minute" in json.loads(refused)["message"]
