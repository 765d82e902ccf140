"""Two real gunicorn processes share one cache: a revalidation in one is seen by the other."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.services import unavailable_service
from tests.test_cache import REDIS_URL
from tests.test_cache import redis_or_skip

ROOT = Path(__file__).parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
_COUNT = re.compile(r"count=(\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn on port {port} exited with {proc.returncode}.")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not listen on port {port} within 10 s.")


@pytest.fixture(params=["filesystem", "redis"])
def backend_env(request, tmp_path):
    env = {
        "SA_TEST_COUNTER": str(tmp_path / "counter.txt"),
        "SA_TEST_LEDGER": str(tmp_path / "ledger.sqlite"),
    }
    if request.param == "filesystem":
        env |= {"SA_TEST_CACHE": "filesystem", "SA_TEST_CACHE_DIR": str(tmp_path)}
        yield env
        return
    redis_or_skip()
    import redis

    prefix = f"sa-coherence-{uuid.uuid4().hex}:"
    yield env | {
        "SA_TEST_CACHE": "redis",
        "SA_TEST_REDIS_URL": REDIS_URL,
        "SA_TEST_PREFIX": prefix,
    }
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


@pytest.fixture
def servers(backend_env):
    if not GUNICORN.exists():
        unavailable_service(f"gunicorn is not installed beside {sys.executable}")
    env = os.environ | backend_env
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
    )
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(2):
            port = free_port()
            proc = subprocess.Popen(
                [
                    str(GUNICORN),
                    "--workers=1",
                    f"--bind=127.0.0.1:{port}",
                    "tests.coherence_app:create_app()",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            wait_for_port(port, proc)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def count_at(url: str) -> int:
    with urllib.request.urlopen(url + "/", timeout=5) as response:
        match = _COUNT.search(response.read().decode())
    assert match, "no counter region on the page"
    return int(match.group(1))


def bump_at(url: str) -> str:
    request = urllib.request.Request(
        url + "/actions/bump",
        data=urllib.parse.urlencode({"_sa_page": "/"}).encode(),
        headers={"HX-Request": "true"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def test_revalidation_on_one_server_is_seen_by_the_other(servers, backend_env):
    a, b = servers
    assert count_at(a) == 0
    assert count_at(b) == 0
    # Written behind the cache's back: both servers keep serving the cached 0.
    Path(backend_env["SA_TEST_COUNTER"]).write_text("5")
    assert count_at(b) == 0
    assert "count=6" in bump_at(a)
    assert count_at(b) == 6
    assert count_at(a) == 6


def test_a_memory_cache_under_several_workers_falls_back_to_one_shared(tmp_path):
    """`gunicorn -w 2` without a config file: one cache for both workers, and a log."""
    if not GUNICORN.exists():
        unavailable_service(f"gunicorn is not installed beside {sys.executable}")
    counter = tmp_path / "counter.txt"
    env = os.environ | {
        "SA_TEST_COUNTER": str(counter),
        "SA_TEST_LEDGER": str(tmp_path / "ledger.sqlite"),
        "SA_TEST_CACHE": "memory",
        "SA_TEST_CACHE_DIR": str(tmp_path),
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
    )
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(GUNICORN),
                "-w",
                "2",
                f"--bind=127.0.0.1:{port}",
                "tests.coherence_app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, proc)
            url = f"http://127.0.0.1:{port}"
            # Enough requests that both workers have cached the region.
            assert {count_at(url) for _ in range(10)} == {0}
            counter.write_text("5")
            assert "count=6" in bump_at(url)
            assert {count_at(url) for _ in range(10)} == {6}
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert "using the shared 'sqlite' cache instead" in log.read_text()
