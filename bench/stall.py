"""Pages while streams and slow clients run: ``GET /`` latency with and without them.

    python -m bench.stall                                  # gunicorn.conf.py as shipped
    python -m bench.stall --worker-class sync --threads 1  # before: sync workers
    python -m bench.stall --threads 2,4,8,16               # one run per thread count

Starts the reference site under gunicorn (``gunicorn.conf.py``, ``wsgi:app``) on a
fresh SQLite instance folder, as a fresh checkout runs it with a real
``SECRET_KEY``, and measures ``GET /`` from one sequential client (a new
connection per request, so the kernel spreads them over the workers):

1. quiet: nothing else runs;
2. loaded: 4 report streams (two members, two streams each, the most they may
   have; each ``/reports/run`` takes about 3 s and starts again when it ends)
   and 4 slow-body clients (each sends the headers of a 10 KB form post to
   ``/users/create``, then its body one byte every 50 ms, and reconnects when
   the server hangs up) run while the same client measures again.

Prints p50/p99 of both phases per configuration, how many reports finished or
were refused, and how long the server let a slow body drag on. The goal of
issue 13: p99 under 100 ms while loaded. Every request goes to 127.0.0.1 and the
run stops by itself (2 phases of `--seconds` per configuration).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

from bench._server import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ACCOUNTS = (
    ("ada@example.com", "analytical-engine"),
    ("grace@example.com", "compiler-1952"),
)
REPORT = "/reports/run?year=2026&region=all"


@contextmanager
def site(workers: int, threads: int, worker_class: str) -> Iterator[int]:
    """The site under gunicorn on a fresh instance folder; yields its port."""
    with site_process(workers, threads, worker_class) as (port, _):
        yield port


@contextmanager
def site_process(
    workers: int, threads: int, worker_class: str
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The site under gunicorn on a fresh instance folder: its port and master."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="stall-") as instance:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "CACHE_BACKEND", "SITE_ENV"}
        } | {
            "SECRET_KEY": secrets.token_hex(32),
            "SITE_INSTANCE_PATH": instance,
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_WORKER_CLASS": worker_class,
            "GUNICORN_ACCESS_LOG": "",
            "LOG_LEVEL": "error",
            "BIND": f"127.0.0.1:{port}",
            "SIGN_IN_RATE_LIMIT": "1000/minute",
        }
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if get(port, "/")[0] == 200:
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the site did not start")
                time.sleep(0.2)
            yield port, proc
        finally:
            proc.terminate()
            proc.wait(60)


def get(port: int, path: str, cookie: str = "") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        body = response.read().decode()
        return response.status, body, response.getheader("Set-Cookie", "")
    finally:
        conn.close()


def session_cookie(set_cookie: str) -> str:
    match = re.search(r"session=([^;]+)", set_cookie)
    return f"session={match.group(1)}" if match else ""


def sign_in(port: int, email: str, password: str) -> str:
    """Sign in through the form, as a browser without JavaScript; the session cookie."""
    _, page, set_cookie = get(port, "/sign-in")
    cookie = session_cookie(set_cookie)
    form = page[page.index('action="/sign-in"') :]
    form = form[: form.index("</form>")]
    fields = {
        name: unescape(value)
        for name, value in re.findall(
            r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form
        )
    }
    body = urlencode(fields | {"email": email, "password": password, "next": "/"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            "/sign-in",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
                "Origin": f"http://127.0.0.1:{port}",
            },
        )
        response = conn.getresponse()
        response.read()
        if response.status != 303:
            raise RuntimeError(f"sign-in as {email} answered {response.status}")
        return session_cookie(response.getheader("Set-Cookie", "")) or cookie
    finally:
        conn.close()


def latencies(port: int, seconds: float) -> list[float]:
    """Sequential ``GET /`` for ``seconds``, each on a new connection, in seconds."""
    measured = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        status = get(port, "/")[0]
        measured.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"GET / answered {status}")
    return measured


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


@dataclass
class Load:
    """The streams and slow clients, and what happened to them."""

    port: int
    cookies: list[str]
    stop: threading.Event = field(default_factory=threading.Event)
    reports_done: int = 0
    reports_refused: int = 0
    slow: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for cookie in self.cookies:
            for _ in range(2):
                self.threads.append(
                    threading.Thread(target=self.stream, args=(cookie,))
                )
        for _ in range(4):
            self.threads.append(threading.Thread(target=self.slow_body))
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(90)

    def stream(self, cookie: str) -> None:
        while not self.stop.is_set():
            status = get(self.port, REPORT, cookie)[0]
            with self.lock:
                if status == 200:
                    self.reports_done += 1
                else:
                    self.reports_refused += 1
            if status != 200:
                time.sleep(0.2)

    def slow_body(self) -> None:
        body = b"name=" + b"x" * 9995
        while not self.stop.is_set():
            started = time.monotonic()
            answer = "(no answer)"
            with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
                sock.sendall(
                    b"POST /users/create HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body)
                )
                try:
                    for byte in body:
                        if self.stop.is_set():
                            break
                        if select.select([sock], [], [], 0)[0]:
                            break  # the server answered (or hung up) early
                        sock.sendall(bytes([byte]))
                        time.sleep(0.05)
                    sock.settimeout(2)
                    answer = sock.recv(64).split(b"\r\n", 1)[0].decode() or answer
                except OSError:
                    answer = "(connection reset)"
            with self.lock:
                self.slow.append((time.monotonic() - started, answer))


def measure(
    workers: int, threads: int, worker_class: str, seconds: float
) -> dict[str, object]:
    with site(workers, threads, worker_class) as port:
        cookies = [sign_in(port, *account) for account in ACCOUNTS]
        latencies(port, 2)  # warm every worker up
        quiet = latencies(port, seconds)
        load = Load(port, cookies)
        load.start()
        time.sleep(1.5)  # the streams and slow bodies are under way
        try:
            loaded = latencies(port, seconds)
        finally:
            load.finish()
    return {
        "config": f"{worker_class}, {workers} workers x {threads} threads",
        "requests": (len(quiet), len(loaded)),
        "quiet": (p(quiet, 0.5), p(quiet, 0.99)),
        "loaded": (p(loaded, 0.5), p(loaded, 0.99)),
        "loaded_max": max(loaded) * 1000,
        "reports": (load.reports_done, load.reports_refused),
        "slow": load.slow,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--threads", default="8", help="threads per worker, or a list: 2,4,8,16"
    )
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument(
        "--seconds", type=float, default=20, help="length of each phase"
    )
    args = parser.parse_args()
    print(
        f"GET / from one sequential client, {args.seconds:g} s a phase;"
        " loaded = 4 report streams + 4 slow-body clients. Times in ms."
    )
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    for threads in (int(n) for n in args.threads.split(",")):
        result = measure(args.workers, threads, args.worker_class, args.seconds)
        quiet, loaded = result["quiet"], result["loaded"]
        done, refused = result["reports"]
        slow = result["slow"]
        timed_out = [t for t, a in slow if "408" in a]
        held = (
            f"{len(timed_out)} cut off with 408 after"
            f" {statistics.median(timed_out):.1f} s median"
            if timed_out
            else f"none cut off ({len(slow)} still sending at the end)"
        )
        print(
            f"{result['config']}: {result['requests']} GETs;"
            f" quiet p50 {quiet[0]:.1f} p99 {quiet[1]:.1f};"
            f" loaded p50 {loaded[0]:.1f} p99 {loaded[1]:.1f}"
            f" (max {result['loaded_max']:.0f});"
            f" reports {done} done, {refused} refused;"
            f" slow bodies: {held}"
        )


if __name__ == "__main__":
    main()
