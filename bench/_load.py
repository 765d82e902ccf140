"""A small closed-loop load generator: N client threads, fixed duration, latencies."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Request = Callable[[], tuple[str, str, bytes | None, dict[str, str]]]


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def run(
    base_url: str, make_request: Request, *, seconds: float, clients: int, ok: set[int]
) -> Result:
    host = urlsplit(base_url)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop_at:
            method, path, body, headers = make_request()
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status not in ok:
                bad += 1
            conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    elapsed = run_clients(clients, client)
    return Result(len(latencies), elapsed, latencies, errors)


def run_clients(count: int, client: Callable[[], None]) -> float:
    """Run ``client`` in ``count`` threads at once; the seconds until all ended."""
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started
