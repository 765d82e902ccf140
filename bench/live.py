"""Benchmark: live regions' idle connections, and commit-to-refresh latency.

1. **Idle connections.** One gunicorn process (gthread, ``N + 50`` threads, as a
   separate live server would run) holds ``N`` open live streams (default 1,000,
   ``LIVE_N``). Prints the worker's resident memory before and after, per stream,
   and how long one revalidation takes to reach all ``N`` streams (p50, p99, max).
2. **Commit to refreshed region.** A real Chromium shows the board; another client
   adds a note ``LIVE_ROUNDS`` times (default 30) while ``LIVE_LOAD`` threads
   (default 4) keep fetching pages (ordinary traffic). For each note: the time from
   the action's answer (its transaction and event are done by then) to the moment
   the browser's region shows it (a ``MutationObserver``), p50 and p99.

Needs Redis at ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) and Chromium
at ``/usr/bin/chromium``. ``python -m bench.live``; keep ``LIVE_N`` small on a
shared machine.
"""

from __future__ import annotations

import os
import resource
import selectors
import socket
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from bench._server import serve

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
N = int(os.environ.get("LIVE_N", "1000"))
ROUNDS = int(os.environ.get("LIVE_ROUNDS", "30"))
LOAD = int(os.environ.get("LIVE_LOAD", "4"))
CHROMIUM = "/usr/bin/chromium"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_stream(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"GET /_server_actions/live?topics=tag:notes HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
    )
    head = b""
    while b": live" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"stream closed: {head!r}")
        head += chunk
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
    sock.setblocking(False)
    return sock


def post_note(url: str, title: str) -> float:
    data = urllib.parse.urlencode({"title": title, "_sa_page": "/board"}).encode()
    request = urllib.request.Request(
        url + "/board/add", data=data, headers={"HX-Request": "true"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return float(response.headers["X-Answered-At"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def idle_connections(env: dict[str, str]) -> None:
    threads = N + 50
    with serve(
        "bench.live_app:create_app()",
        workers=1,
        env={**env, "LIVE_PER_PROCESS": str(N + 10)},
        # gthread also caps its connections (worker_connections, 1000 by default).
        args=(
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--worker-connections",
            str(threads),
        ),
    ) as server:
        port = int(server.url.rsplit(":", 1)[1])
        (worker,) = server.worker_pids()
        urllib.request.urlopen(server.url + "/board", timeout=10).read()
        before = rss_kb(worker)
        started = time.monotonic()
        socks = [open_stream(port) for _ in range(N)]
        opened = time.monotonic() - started
        time.sleep(1.0)
        after = rss_kb(worker)
        print(f"{N} idle live streams opened in {opened:.1f} s by one gunicorn worker")
        print(
            f"  worker RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB:"
            f" {(after - before) / N:.0f} KB per stream"
        )
        # One revalidation (through the action, in a second process sharing Redis
        # would be the same): how long until every stream has the event.
        selector = selectors.DefaultSelector()
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        answered = post_note(server.url, "fan-out")
        arrived: list[float] = []
        pending = {sock.fileno(): b"" for sock in socks}
        deadline = time.monotonic() + 15
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                data = sock.recv(65536)
                if sock.fileno() in pending:
                    pending[sock.fileno()] += data
                    if b"event: bump" in pending[sock.fileno()]:
                        arrived.append(time.time() - answered)
                        del pending[sock.fileno()]
        print(
            f"  one revalidation reached {len(arrived)}/{N} streams:"
            f" p50 {percentile(arrived, 0.5) * 1000:.0f} ms,"
            f" p99 {percentile(arrived, 0.99) * 1000:.0f} ms,"
            f" max {max(arrived) * 1000:.0f} ms"
        )
        for sock in socks:
            sock.close()


def latency(env: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    with serve(
        "bench.live_app:create_app()",
        workers=1,
        env=env,
        args=("--worker-class", "gthread", "--threads", "32"),
    ) as server:
        stop = threading.Event()
        served = [0]

        def traffic() -> None:
            while not stop.is_set():
                urllib.request.urlopen(server.url + "/board", timeout=10).read()
                served[0] += 1

        loaders = [threading.Thread(target=traffic, daemon=True) for _ in range(LOAD)]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page()
            page.goto(server.url + "/board")
            page.wait_for_selector("html[data-sa-live-state=live]")
            page.evaluate(
                """() => {
                  window.__seen = {};
                  new MutationObserver(() => {
                    document.querySelectorAll('#note-list li').forEach(li => {
                      if (!(li.textContent in window.__seen)) window.__seen[li.textContent] = Date.now() / 1000;
                    });
                  }).observe(document.body, {subtree: true, childList: true, characterData: true});
                }"""
            )
            for loader in loaders:
                loader.start()
            delays = []
            started = time.monotonic()
            for i in range(ROUNDS):
                title = f"note-{i}-{uuid.uuid4().hex[:6]}"
                answered = post_note(server.url, title)
                page.wait_for_function(
                    f"() => window.__seen[{title!r}] !== undefined", timeout=10_000
                )
                delays.append(page.evaluate(f"window.__seen[{title!r}]") - answered)
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            stop.set()
            browser.close()
        print(
            f"commit -> refreshed region in another browser ({ROUNDS} actions,"
            f" {LOAD} threads of page traffic, {served[0] / elapsed:.0f} pages/s):"
            f" p50 {percentile(delays, 0.5) * 1000:.0f} ms,"
            f" p99 {percentile(delays, 0.99) * 1000:.0f} ms"
        )


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * N + 256)), hard)
    )
    prefix = f"sa-bench-live-{uuid.uuid4().hex[:8]}:"
    env = {"REDIS_URL": REDIS_URL, "CACHE_PREFIX": prefix, "GUNICORN_ACCESS_LOG": ""}
    try:
        idle_connections(env)
        latency(env)
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)


if __name__ == "__main__":
    main()
