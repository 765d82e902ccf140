"""Load and soak: the real site under gunicorn on PostgreSQL and Redis, mixed traffic.

    python -m bench.load                       # 10 s, 16 connections (smoke)
    python -m bench.load --seconds 300 --clients 64   # the soak in docs/reference-site.md

Traffic, per request picked at random:

* 60 % page views of /users, whose list and count are cached regions (Redis);
* 15 % other pages (/, /contact);
* 15 % actions with validation errors (htmx, answered 422: an intended 4xx);
* 10 % successful actions that create a user and revalidate the "users" tag.

Every post carries a new submission key (``_sa_key``), as a freshly rendered form
would, so each one claims and records its key in Redis.

A janitor removes the users the run created every second, so the cached page
stays the same size however long the run is. Prints throughput, p50/p99
latency, the status codes, the error count (anything but the intended answer,
or no answer) and each worker's resident memory after warm-up, every minute
(``--sample-every``) and at the end: a leak keeps climbing, warm-up flattens out.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import redis

from bench._load import run_clients
from bench._server import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
#: Seconds into the run, and each worker's resident memory then (KiB by pid).
Sample = tuple[float, dict[int, int]]


@contextmanager
def database() -> Iterator[str]:
    name = f"sa_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def site(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    for args in (["db", "upgrade"], ["seed"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env | {"BIND": f"127.0.0.1:{port}"},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get(port, "/", {})
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the site did not start") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(60)


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return (
            response.status,
            response.read().decode(),
            response.getheader("Set-Cookie", ""),
        )
    finally:
        conn.close()


def worker_memory_kb(master: int) -> dict[int, int]:
    """VmRSS of each gunicorn worker (the master's children)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    memory: dict[int, int] = {}
    for pid in map(int, children):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                memory[pid] = int(line.split()[1])
    return memory


@contextmanager
def memory_samples(master: int, every: float) -> Iterator[list[Sample]]:
    """Worker memory every ``every`` seconds while the block runs."""
    samples: list[Sample] = []
    done = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not done.wait(every):
            try:
                memory = worker_memory_kb(master)
            except OSError:  # a worker was replaced between listing and reading
                continue
            samples.append((time.monotonic() - started, memory))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        done.set()
        sampler.join()


class Traffic:
    """The mixed requests, and what each one is meant to answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        status, html, cookie = get(port, "/users", {})
        match = _TOKEN.search(html)
        assert status == 200, f"/users answered {status}"
        assert match, "no form on /users"
        self.headers = {"Cookie": cookie.split(";", 1)[0]}
        self.fields = {
            "csrf_token": match.group(1),
            "_sa_page": "/users",
            "_sa_form": "users-create-user",
        }
        self.run_id = secrets.token_hex(3)
        self.serial = itertools.count()

    def next(self) -> tuple[str, str, str, bytes | None, dict[str, str], int]:
        """kind, method, path, body, headers, expected status."""
        roll = random.random()
        if roll < 0.60:
            return "view /users", "GET", "/users", None, self.headers, 200
        if roll < 0.75:
            path = random.choice(["/", "/contact"])
            return f"view {path}", "GET", path, None, self.headers, 200
        post = self.headers | {
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        # Each post is a new submission, as from a freshly rendered form: its own key.
        fields = self.fields | {"_sa_key": secrets.token_urlsafe(18)}
        if roll < 0.90:
            body = fields | {"name": "x", "email": "not an email", "role": "user"}
            return (
                "action invalid",
                "POST",
                "/users/create",
                urlencode(body).encode(),
                post,
                422,
            )
        n = next(self.serial)
        body = fields | {
            "name": f"Load {n}",
            "email": f"load-{self.run_id}-{n}@example.com",
            "role": "user",
        }
        return "action ok", "POST", "/users/create", urlencode(body).encode(), post, 200


def janitor(url: str, stop: threading.Event) -> None:
    """Keep the user list short: delete what the run created, every second."""
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.wait(1.0):
            conn.execute("DELETE FROM users WHERE email LIKE 'load-%'")


def drive(
    traffic: Traffic, seconds: float, clients: int
) -> tuple[list[float], Counter[str], int, float]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        mine: list[float] = []
        seen: Counter[str] = Counter()
        bad = 0
        conn = http.client.HTTPConnection("127.0.0.1", traffic.port, timeout=30)
        while time.monotonic() < stop_at:
            kind, method, path, body, headers, expected = traffic.next()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                bad += 1
                seen[f"{kind}: no answer"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", traffic.port, timeout=30)
                continue
            mine.append(time.perf_counter() - started)
            seen[f"{kind}: {response.status}"] += 1
            if response.status != expected:
                bad += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", traffic.port, timeout=30)
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(seen)
            errors += bad

    elapsed = run_clients(clients, client)
    return latencies, statuses, errors, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--sample-every", type=float, default=60)
    args = parser.parse_args()
    if args.sample_every <= 0:
        parser.error("--sample-every must be a positive number of seconds")

    prefix = f"sa-bench-{uuid.uuid4().hex}:"
    port = free_port()
    with database() as db_url:
        env = os.environ | {
            "SITE_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "SESSION_COOKIE_SECURE": "false",
            "DATABASE_URL": db_url,
            "REDIS_URL": REDIS_URL,
            "CACHE_PREFIX": prefix,
            "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_ACCESS_LOG": "",
            "LOG_LEVEL": "warning",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
        stop = threading.Event()
        sweeper = threading.Thread(target=janitor, args=(db_url, stop), daemon=True)
        try:
            with site(env, port) as proc:
                sweeper.start()
                traffic = Traffic(port)
                drive(traffic, args.warmup, args.clients)
                before = worker_memory_kb(proc.pid)
                with memory_samples(proc.pid, args.sample_every) as samples:
                    latencies, statuses, errors, elapsed = drive(
                        traffic, args.seconds, args.clients
                    )
                after = worker_memory_kb(proc.pid)
        finally:
            stop.set()
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=prefix + "*"):
                client.delete(key)

    ordered = sorted(latencies)
    print(
        f"site under gunicorn ({args.workers} workers), PostgreSQL + Redis,"
        f" {args.clients} connections, {args.seconds:.0f} s after {args.warmup:.0f} s warm-up"
    )
    print(f"requests     {len(latencies)}  ({len(latencies) / elapsed:.0f} req/s)")
    print(
        f"latency      p50 {statistics.median(ordered) * 1000:.1f} ms,"
        f" p99 {ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000:.1f} ms"
    )
    for kind, n in sorted(statuses.items()):
        print(f"  {kind:<28} {n}")
    print(f"errors       {errors} (anything but the intended status, or no answer)")
    print_memory(before, samples, after)
    sys.exit(1 if errors else 0)


def print_memory(
    before: dict[int, int],
    samples: list[Sample],
    after: dict[int, int],
) -> None:
    """Each worker's RSS after warm-up, at each sample and at the end (MiB)."""
    columns = [("start", before), *((f"{t:.0f} s", m) for t, m in samples)]
    columns.append(("end", after))
    print(
        "worker RSS (MiB)  " + "".join(f"{name:>8}" for name, _ in columns) + "  change"
    )
    for pid in sorted(before):
        cells = "".join(
            f"{m[pid] / 1024:8.1f}" if pid in m else f"{'gone':>8}" for _, m in columns
        )
        end = after.get(pid)
        change = "replaced" if end is None else f"{(end - before[pid]) / 1024:+.1f}"
        print(f"  pid {pid:<11} {cells}  {change}")


if __name__ == "__main__":
    main()
