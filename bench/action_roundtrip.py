"""Benchmark: an htmx action round trip through the toolkit vs. a hand-written view.

Both run in one gunicorn (2 workers) on 127.0.0.1, measured in alternating rounds
so that machine noise hits both alike. Prints requests/s and the ratio.
"""

from __future__ import annotations

import http.client
import re
import statistics
from urllib.parse import urlencode
from urllib.parse import urlsplit

from bench._load import run
from bench._server import gunicorn

ROUNDS = 5
SECONDS = 2.0
CLIENTS = 4


def session(base_url: str) -> tuple[str, str]:
    """A session cookie and the CSRF token that goes with it."""
    host = urlsplit(base_url)
    conn = http.client.HTTPConnection(host.hostname, host.port)
    conn.request("GET", "/notes")
    response = conn.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "could not get a CSRF token from /notes"
    assert cookie, "no session cookie from /notes"
    return cookie, match.group(1)


def main() -> None:
    with gunicorn("bench.app:create_app()") as url:
        cookie, token = session(url)
        body = urlencode(
            {
                "csrf_token": token,
                "title": "A benchmark note",
                "body": "Some text.",
                "_sa_page": "/notes",
            }
        ).encode()
        headers = {
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
        }
        cases = {
            "toolkit": lambda: (
                "POST",
                "/notes/add",
                body,
                {**headers, "HX-Target": "form#bench-add-note"},
            ),
            "hand-written": lambda: (
                "POST",
                "/hand/add",
                body,
                {**headers, "HX-Target": "form#hand-add-note"},
            ),
        }
        rates: dict[str, list[float]] = {name: [] for name in cases}
        for make in cases.values():  # warm up both
            run(url, make, seconds=0.5, clients=CLIENTS, ok={200})
        for _ in range(ROUNDS):
            for name, make in cases.items():
                result = run(url, make, seconds=SECONDS, clients=CLIENTS, ok={200})
                assert result.errors == 0, (
                    f"{name}: {result.errors} unexpected statuses"
                )
                rates[name].append(result.per_second)
    toolkit = statistics.median(rates["toolkit"])
    hand = statistics.median(rates["hand-written"])
    print("Action round trip, htmx, gunicorn 2 workers, 127.0.0.1")
    print(f"  hand-written view  {hand:8.1f} req/s  (median of {ROUNDS} rounds)")
    print(f"  toolkit action     {toolkit:8.1f} req/s")
    print(
        f"  toolkit cost ratio {hand / toolkit:8.3f}  (1.000 = same as hand-written; aim <= 1.150)"
    )


if __name__ == "__main__":
    main()
