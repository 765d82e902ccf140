"""Benchmark: what the fragment cache saves, and what revalidation costs.

The bench app's data layer is SQLite in memory, and every query first sleeps
``QUERY_DELAY`` (10 ms), standing in for the round trip and work of a real
database server (an explicit ``time.sleep`` in ``bench/blog_app.py``).

1. A page with three regions (a count, the 20 newest posts, the 5 most read),
   as a reader sees it (no form), rendered from a warm fragment cache vs. the
   same page rendered from the database (three queries).
2. An htmx action that stores a post (one write), compared four ways:
   without revalidation (the form comes back); revalidating a tag that no
   region of the page shows (the toolkit's own work: generation bump, stale
   bookkeeping, the out-of-band pass over the page); revalidating ``posts``
   and ``/blog`` (the three regions are read and rendered again and sent out
   of band); and, for scale, the action without revalidation followed by the
   page GET a browser would otherwise need to see the new post.

Everything runs in this process through Flask's test client (the whole WSGI
stack: routing, session, CSRF, validation), in alternating rounds. The cost of
a request is the CPU time this process spent on it plus 10 ms for each query
it made (the database's time, which the sleep stands for). CPU time, not wall
time, so that other processes on a busy machine do not skew the ratios; on an
idle machine the two agree. Prints milliseconds per request and ratios.
"""

from __future__ import annotations

import re
import statistics
import time
import typing as t

from bench import blog_app

ROUNDS = 7
QUERY_DELAY = 0.010


def per_request(func: t.Callable[[], object], count: int) -> float:
    """Seconds per call: CPU time plus the database time of its queries."""
    queries = blog_app.QUERIES
    started = time.process_time()
    for _ in range(count):
        func()
    cpu = time.process_time() - started
    database = (blog_app.QUERIES - queries) * QUERY_DELAY
    return (cpu + database) / count


def compare(
    cases: dict[str, tuple[t.Callable[[], object], int]],
) -> dict[str, float]:
    """Median seconds per call of each case over alternating rounds."""
    for func, count in cases.values():  # warm up
        per_request(func, max(1, count // 5))
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, (func, count) in cases.items():
            timings[name].append(per_request(func, count))
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    app = blog_app.create_app()
    client = app.test_client()
    blog_app.QUERY_DELAY = QUERY_DELAY

    def get(path: str) -> t.Callable[[], object]:
        def call() -> object:
            response = client.get(path)
            assert response.status_code == 200, response.status_code
            return response

        return call

    pages = compare({"cache": (get("/read"), 200), "database": (get("/read-db"), 20)})

    def post(rule: str, page: str, form_id: str, oob: bool) -> t.Callable[[], object]:
        html = client.get(page).text
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert match, f"no CSRF token on {page}"
        data = {
            "csrf_token": match.group(1),
            "title": "A benchmark post",
            "body": "Some text.",
            "_sa_page": page,
        }
        headers = {"HX-Request": "true", "HX-Target": f"form#{form_id}"}

        def call() -> object:
            response = client.post(rule, data=data, headers=headers)
            assert response.status_code == 200, response.status_code
            assert ('hx-swap-oob="outerHTML"' in response.text) is oob
            return response

        return call

    quiet = post("/blog/add-quietly", "/blog-quiet", "blog-add-post-quietly", False)
    # The page as it is after a change: its regions come from the database.
    refetch = get("/blog-db")

    def quiet_then_get() -> object:
        quiet()
        return refetch()

    actions = compare(
        {
            "none": (quiet, 40),
            "bookkeeping": (
                post("/blog/comment", "/blog-elsewhere", "blog-add-comment", False),
                40,
            ),
            "regions": (post("/blog/add", "/blog", "blog-add-post", True), 20),
            "refetch": (quiet_then_get, 20),
        }
    )

    ms = {name: value * 1000 for name, value in {**pages, **actions}.items()}
    delay = f"{QUERY_DELAY * 1000:.0f} ms a query"
    print(f"Page with 3 regions ({delay}), in process, median of {ROUNDS} rounds")
    print(f"  from the database                      {ms['database']:8.2f} ms")
    print(f"  from a warm fragment cache             {ms['cache']:8.2f} ms")
    print(f"  warm cache is {ms['database'] / ms['cache']:.1f}x cheaper  (aim >= 10x)")
    print()
    print(f"htmx action that stores a post ({delay})")
    print(f"  without revalidation                   {ms['none']:8.2f} ms")
    print(
        f"  revalidate_tag, no region on the page  {ms['bookkeeping']:8.2f} ms"
        f"  ({(ms['bookkeeping'] / ms['none'] - 1) * 100:+.1f}%: the toolkit's"
        " own cost; aim <= +10%)"
    )
    print(
        f"  revalidate posts + /blog, 3 regions    {ms['regions']:8.2f} ms"
        f"  ({(ms['regions'] / ms['none'] - 1) * 100:+.1f}%: their 3 queries"
        " and rendering)"
    )
    print(
        f"  without, then GET the page             {ms['refetch']:8.2f} ms"
        f"  (revalidating in the answer is {ms['refetch'] / ms['regions']:.2f}x"
        " cheaper)"
    )


if __name__ == "__main__":
    main()
