"""Server CPU per request: the toolkit against the same page written by hand.

    python -m bench.cpu                  # 5 kinds of request, 3 rounds x 5 s, 16 connections
    python -m bench.cpu --ledger         # CPU per action as the submission store fills
    python -m bench.cpu --workers 1 --ledger-store memory   # no shared store at all

Two apps, each under its own gunicorn with the same settings (2 sync workers,
or ``--workers``):
``bench.cpu_toolkit``, a to-do page and its action written with the toolkit's
public API, and ``bench.cpu_hand``, the same page and action written by hand
with Flask and Flask-WTF (CSRF, validation, the form partial plus the list out
of band, 303 and 422, ``no-store`` and ``Vary``). Before measuring, one request
of each kind goes to both apps: the statuses must be the intended ones and the
answers the same size (within 5 %), or nothing is measured.

``wrk`` (``apt-get install -y wrk``) drives one app at a time with ``cpu.lua``:
every POST carries the form's fields, the CSRF token and the session cookie a
browser would have from the page, and, for the toolkit, a new submission key
(``_sa_key``) each time, as a freshly rendered form has. The apps take turns
(toolkit, hand-written; then the other way round) for every kind of request in
every round, so noise on the machine hits both alike; the figures are medians
over the rounds.

The server's CPU per request is the workers' user + system time
(``/proc/<pid>/stat``) over a run, divided by the answers wrk counted, so the
CPU wrk itself takes on the same machine does not enter it. Any answer with
another status than intended, or a socket error, counts as an error (exit
status 1).

``--ledger`` measures the htmx action at several fill levels of the submission
store: before each level, plain-mode submissions (each with its own key) are
sent until the toolkit has applied that many; the hand-written app, which has
no store, runs alongside as the measure of the machine's noise.

``--workers 1 --ledger-store memory`` (with the default ``--cache memory``)
keeps the toolkit's cache, ledger and live events in the worker's memory, where
two workers would share SQLite files: run it beside ``--workers 1 --cache
sqlite`` to see what the shared stores cost an action, apart from the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import math
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit

from bench._server import Server
from bench._server import serve
from bench._todo import ITEMS
from bench._todo import POSTED_TEXT

LUA = Path(__file__).with_name("cpu.lua")
TOOLKIT = "toolkit"
HAND = "hand-written"
APPS = {
    TOOLKIT: "bench.cpu_toolkit:create_app()",
    HAND: "bench.cpu_hand:create_app()",
}
WORKERS = 2
#: The same settings for both (2 sync workers, no access log).
GUNICORN_ARGS = ("--config", str(Path(__file__).with_name("_gunicorn_cpu.py")))
#: Answers of the two apps may differ in size by this much at most.
SIZE_TOLERANCE = 0.05
KEY_FIELD = "_sa_key"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of request, and the goal of issue 15 for its CPU ratio."""

    name: str
    method: str
    path: str
    expect: int
    text: str | None = None
    htmx: bool = False
    #: (bound, strict): toolkit/hand-written CPU must be <= bound (< if strict).
    goal: tuple[float, bool] | None = None


ACTION = Kind(
    "action POST (htmx)", "POST", "/todos/add", 200, POSTED_TEXT, True, (1.10, False)
)
PLAIN = Kind("plain POST, no JS (303)", "POST", "/todos/add", 303, POSTED_TEXT)
KINDS = (
    ACTION,
    Kind("action POST, invalid (422)", "POST", "/todos/add", 422, "x", True),
    PLAIN,
    Kind("page GET", "GET", "/todos", 200, goal=(1.10, False)),
    Kind(
        "page GET, list from SQLite (toolkit: cached)",
        "GET",
        "/todos/cached",
        200,
        goal=(1.0, True),
    ),
)
#: Worker memory, toolkit/hand-written: within 10 %.
RSS_GOAL = (1.10, False)


def goal_text(goal: tuple[float, bool] | None) -> str:
    if goal is None:
        return "-"
    bound, strict = goal
    return f"{'<' if strict else '<='} {bound:.2f}"


def meets(value: float, goal: tuple[float, bool] | None) -> str:
    if goal is None:
        return ""
    bound, strict = goal
    return "met" if (value < bound if strict else value <= bound) else "NOT MET"


class _FormParser(HTMLParser):
    """The first form's id and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.form_id: str | None = None
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form_id is None:
            self.form_id = found.get("id")
        elif tag == "input" and found.get("type") == "hidden" and "name" in found:
            self.hidden[found["name"]] = found.get("value", "")


@dataclasses.dataclass
class Browser:
    """What a browser that loaded an app's page sends back: cookie and form fields."""

    url: str
    cookie: str
    form_id: str
    #: The form's hidden fields (CSRF token, …), the submission key left out.
    fields: dict[str, str]
    #: Whether the form carries a submission key (a new one on every render).
    keyed: bool

    @classmethod
    def open(cls, url: str) -> Browser:
        status, html, cookie = fetch(url, "GET", "/todos", {}, None)
        return cls.from_page(url, status, html, cookie)

    @classmethod
    def from_page(cls, url: str, status: int, html: str, cookie: str) -> Browser:
        """The browser that got ``html`` and the session ``cookie`` from ``url``/todos."""
        page = _FormParser()
        page.feed(html)
        if status != 200 or not page.form_id or "csrf_token" not in page.hidden:
            raise RuntimeError(f"{url}/todos: no form with a CSRF token ({status})")
        if not cookie:
            raise RuntimeError(f"{url}/todos: no session cookie")
        keyed = KEY_FIELD in page.hidden
        page.hidden.pop(KEY_FIELD, None)
        return cls(url, cookie, page.form_id, page.hidden, keyed)

    def request(self, kind: Kind) -> tuple[dict[str, str], str]:
        """Headers and body of ``kind``; ``{key}`` in the body is the submission key."""
        headers = {"Cookie": self.cookie, "Accept": "text/html"}
        if kind.method == "GET":
            return headers, ""
        headers |= {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.url,
            "Sec-Fetch-Site": "same-origin",
        }
        if kind.htmx:
            headers |= {
                "HX-Request": "true",
                "HX-Target": f"form#{self.form_id}",
                "HX-Current-URL": f"{self.url}/todos",
            }
        body = urlencode({**self.fields, "text": kind.text or ""})
        if self.keyed:
            body += f"&{KEY_FIELD}={{key}}"
        return headers, body


def fetch(
    url: str, method: str, path: str, headers: dict[str, str], body: str | None
) -> tuple[int, str, str]:
    """Status, body and session cookie (``name=value``) of one request."""
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
        return response.status, response.read().decode(), cookie
    finally:
        conn.close()


@dataclasses.dataclass
class Run:
    """One wrk run against one app."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int
    cpu_seconds: float
    #: Of ``cpu_seconds``, the time in the kernel (system calls, page faults).
    system_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds * 1000 / max(self.requests, 1)

    @property
    def system_ms(self) -> float:
        return self.system_seconds * 1000 / max(self.requests, 1)

    def errors(self, expect: int) -> int:
        wrong = sum(n for status, n in self.statuses.items() if status != expect)
        return wrong + self.socket_errors


def tally(unexpected: Counter[str], app: str, kind: Kind, run: Run) -> int:
    """Add what ``run`` got other than ``kind.expect`` to ``unexpected``; how many."""
    for status, n in run.statuses.items():
        if status != kind.expect:
            unexpected[f"{app}, {kind.name}: {status}"] += n
    if run.socket_errors:
        unexpected[f"{app}, {kind.name}: socket errors"] += run.socket_errors
    return run.errors(kind.expect)


def report_errors(unexpected: Counter[str]) -> int:
    total = sum(unexpected.values())
    print(f"errors: {total} (answers with another status than intended, socket errors)")
    for what, n in sorted(unexpected.items()):
        print(f"  {what}: {n}")
    return total


def worker_cpu_times(pids: list[int]) -> tuple[float, float]:
    """User and system CPU time the processes used so far (fields 14 and 15)."""
    user = system = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # The command name (field 2) may hold spaces; count after its ")".
        fields = stat.rsplit(")", 1)[1].split()
        user += int(fields[11])
        system += int(fields[12])
    return user / CLOCK_TICKS, system / CLOCK_TICKS


def worker_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far."""
    return sum(worker_cpu_times(pids))


def wait_idle(pids: list[int], timeout: float = 10) -> None:
    """Wait until the processes have used no CPU for a while (0.2 s)."""
    deadline = time.monotonic() + timeout
    last, quiet = worker_cpu_seconds(pids), 0
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        now = worker_cpu_seconds(pids)
        quiet = quiet + 1 if now == last else 0
        last = now


def worker_rss_mib(pids: list[int]) -> list[float]:
    sizes = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def drive(
    server: Server,
    browser: Browser,
    kind: Kind,
    *,
    seconds: int,
    connections: int,
    threads: int,
    stop_after: int = 0,
) -> Run:
    """Run wrk with ``kind`` against ``server``; the workers' CPU time around it."""
    headers, body = browser.request(kind)
    env = os.environ | {
        "BENCH_METHOD": kind.method,
        "BENCH_PATH": kind.path,
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items()),
        "BENCH_BODY": body,
        "BENCH_RUN": secrets.token_urlsafe(9),
        "BENCH_STOP_AFTER": str(stop_after),
    }
    command = [
        "wrk",
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "--script",
        str(LUA),
        server.url + kind.path,
    ]
    pids = server.worker_pids()
    user_before, system_before = worker_cpu_times(pids)
    # Its own session too: on Ctrl-C, subprocess.run kills it.
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, start_new_session=True
    )
    user_after, system_after = worker_cpu_times(pids)
    # The requests wrk left in flight are still queued at the workers; they run
    # now, counted neither here nor in the next run.
    wait_idle(pids)
    if server.worker_pids() != pids:
        raise RuntimeError("a gunicorn worker was replaced during the run")
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    found = json.loads(line.removeprefix("BENCH "))
    return Run(
        requests=found["requests"],
        seconds=found["duration_us"] / 1e6,
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        statuses={int(k): v for k, v in found["statuses"].items()},
        socket_errors=found["socket_errors"],
        cpu_seconds=user_after + system_after - user_before - system_before,
        system_seconds=system_after - system_before,
    )


def check_sizes(browsers: dict[str, Browser]) -> bool:
    """One request of each kind to both apps: intended status, same size."""
    print("answer sizes, one request each (bytes of HTML; must agree within 5 %)")
    print(f"  {'request':<30}{TOOLKIT:>10}{HAND:>14}{'toolkit/hand':>14}  status")
    good = True
    for kind in KINDS:
        sizes: dict[str, int] = {}
        statuses: dict[str, int] = {}
        for name, browser in browsers.items():
            headers, body = browser.request(kind)
            body = body.replace("{key}", secrets.token_urlsafe(18))
            status, html, _ = fetch(
                browser.url, kind.method, kind.path, headers, body or None
            )
            sizes[name], statuses[name] = len(html.encode()), status
        ratio = sizes[TOOLKIT] / sizes[HAND]
        ok_size = abs(ratio - 1) <= SIZE_TOLERANCE
        ok_status = set(statuses.values()) == {kind.expect}
        good = good and ok_size and ok_status
        shown = "/".join(str(statuses[n]) for n in browsers)
        flags = "" if ok_size else "  SIZES DIFFER"
        flags += "" if ok_status else f"  (expected {kind.expect})"
        print(
            f"  {kind.name:<30}{sizes[TOOLKIT]:>10}{sizes[HAND]:>14}"
            f"{ratio:>14.3f}  {shown}{flags}"
        )
    return good


def median(runs: list[Run], what: str) -> float:
    return statistics.median(getattr(run, what) for run in runs)


def compare(
    servers: dict[str, Server], browsers: dict[str, Browser], args: argparse.Namespace
) -> int:
    """Every kind of request, both apps in turn, ``args.rounds`` times; the errors."""
    options = {
        "connections": args.connections,
        "threads": args.threads,
    }
    for kind in KINDS:  # warm up: imports, template compilation, the region cache
        for name in APPS:
            drive(servers[name], browsers[name], kind, seconds=1, **options)
    runs: dict[tuple[str, str], list[Run]] = {}
    print()
    print(f"rounds: server CPU ms per request (req/s), {TOOLKIT} | {HAND}")
    for round_no in range(args.rounds):
        order = list(APPS) if round_no % 2 == 0 else list(reversed(APPS))
        cells = []
        for kind in KINDS:
            for name in order:
                run = drive(
                    servers[name], browsers[name], kind, seconds=args.seconds, **options
                )
                runs.setdefault((kind.name, name), []).append(run)
            pair = "  |  ".join(
                f"{runs[kind.name, n][-1].cpu_ms:.2f} ({runs[kind.name, n][-1].per_second:.0f})"
                for n in APPS
            )
            cells.append(f"    {kind.name:<30}{pair}")
        print(f"  round {round_no + 1} of {args.rounds}, {order[0]} first")
        print("\n".join(cells), flush=True)
    rss = {name: worker_rss_mib(servers[name].worker_pids()) for name in APPS}

    print()
    print(
        f"medians of {args.rounds} rounds x {args.seconds} s, {args.connections} connections"
    )
    print(
        f"  {'request':<30}{'app':<14}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/req':>12}{'of it kernel':>14}{'errors':>8}"
    )
    unexpected: Counter[str] = Counter()
    ratios: dict[str, float] = {}
    for kind in KINDS:
        for name in APPS:
            kind_runs = runs[kind.name, name]
            wrong = sum(tally(unexpected, name, kind, run) for run in kind_runs)
            label = kind.name if name == TOOLKIT else ""
            print(
                f"  {label:<30}{name:<14}{median(kind_runs, 'per_second'):>8.0f}"
                f"{median(kind_runs, 'p50_ms'):>9.2f}{median(kind_runs, 'p99_ms'):>9.2f}"
                f"{median(kind_runs, 'cpu_ms'):>12.3f}"
                f"{median(kind_runs, 'system_ms'):>14.3f}{wrong:>8}"
            )
        ratios[kind.name] = median(runs[kind.name, TOOLKIT], "cpu_ms") / median(
            runs[kind.name, HAND], "cpu_ms"
        )
    print()
    print(
        "worker RSS after the run (MiB): "
        + "; ".join(
            f"{name} {', '.join(f'{m:.1f}' for m in sizes)}"
            for name, sizes in rss.items()
        )
    )
    rss_ratio = statistics.mean(rss[TOOLKIT]) / statistics.mean(rss[HAND])

    print()
    print("toolkit / hand-written, against the goals of issue 15")
    print(f"  {'':<44}{'ratio':>7}  {'goal':<8}")
    for kind in KINDS:
        ratio = ratios[kind.name]
        print(
            f"  {'CPU per request, ' + kind.name:<44}{ratio:>7.2f}  "
            f"{goal_text(kind.goal):<8}{meets(ratio, kind.goal)}"
        )
    print(
        f"  {'worker RSS (mean of the workers)':<44}{rss_ratio:>7.2f}  "
        f"{goal_text(RSS_GOAL):<8}{meets(rss_ratio, RSS_GOAL)}"
    )
    print()
    return report_errors(unexpected)


def fill_store(
    server: Server, browser: Browser, count: int, args: argparse.Namespace
) -> Run:
    """Send ``count`` plain-mode submissions, each with its own key; their runs summed.

    wrk runs for a set time, and a thread that stops early still waits for it,
    holding its connections open; so the submissions go in runs of at most 20 s,
    each asked to stop after what is left.
    """
    total = Run(0, 0.0, 0.0, 0.0, {}, 0, 0.0)
    rate = 200.0  # submissions per second, until the first run says
    while total.statuses.get(PLAIN.expect, 0) < count:
        left = count - total.statuses.get(PLAIN.expect, 0)
        seconds = min(20, max(1, math.ceil(left / rate)))
        run = drive(
            server,
            browser,
            PLAIN,
            seconds=seconds,
            connections=args.connections,
            threads=1,
            stop_after=left,
        )
        if run.requests == 0:
            raise RuntimeError("no submission went through while filling the store")
        rate = run.requests / run.seconds
        total.requests += run.requests
        total.seconds += run.seconds
        total.socket_errors += run.socket_errors
        total.cpu_seconds += run.cpu_seconds
        total.system_seconds += run.system_seconds
        for status, n in run.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + n
    return total


def ledger(
    servers: dict[str, Server], browsers: dict[str, Browser], args: argparse.Namespace
) -> int:
    """CPU per htmx action at each fill level of the toolkit's submission store."""
    levels = sorted({int(level) for level in args.ledger_levels.split(",")})
    options = {"connections": args.connections, "threads": args.threads}
    print()
    print(
        f"the htmx action at each fill level: {args.rounds} rounds x {args.seconds} s;"
        " the hand-written app, which keeps no store, shows the machine's drift"
    )
    print(
        f"  {'applied submissions':<22}{'toolkit ms':>11}{'hand ms':>9}{'ratio':>7}"
        f"{'toolkit req/s':>15}{'toolkit RSS MiB':>17}{'ledger MiB':>13}  fill"
    )
    applied = 2  # the size check's htmx and plain submissions
    unexpected: Counter[str] = Counter()
    ratios: list[float] = []
    for level in levels:
        fill = ""
        if level > applied:
            started = time.monotonic()
            sent = fill_store(
                servers[TOOLKIT], browsers[TOOLKIT], level - applied, args
            )
            tally(unexpected, TOOLKIT, PLAIN, sent)
            applied += sent.statuses.get(PLAIN.expect, 0)
            fill = f"filled with {sent.requests} in {time.monotonic() - started:.0f} s"
        before = applied
        runs: dict[str, list[Run]] = {name: [] for name in APPS}
        for round_no in range(args.rounds):
            order = list(APPS) if round_no % 2 == 0 else list(reversed(APPS))
            for name in order:
                run = drive(
                    servers[name],
                    browsers[name],
                    ACTION,
                    seconds=args.seconds,
                    **options,
                )
                runs[name].append(run)
                tally(unexpected, name, ACTION, run)
                if name == TOOLKIT:
                    applied += run.statuses.get(ACTION.expect, 0)
        toolkit = median(runs[TOOLKIT], "cpu_ms")
        hand = median(runs[HAND], "cpu_ms")
        ratios.append(toolkit / hand)
        rss = statistics.mean(worker_rss_mib(servers[TOOLKIT].worker_pids()))
        # Only a filesystem cache can be looked into from outside the workers.
        files = _ledger_size(args.store_dir)
        print(
            f"  {f'{before} -> {applied}':<22}{toolkit:>11.3f}{hand:>9.3f}"
            f"{ratios[-1]:>7.2f}{median(runs[TOOLKIT], 'per_second'):>15.0f}"
            f"{rss:>17.1f}{files:>13}  {fill}",
            flush=True,
        )
    print()
    print(
        f"ratio at the last level / at the first: {ratios[-1] / ratios[0]:.2f}"
        " (goal of issue 15: the ledger's cost per action stays flat, 1.00)"
    )
    return report_errors(unexpected)


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()},"
        f" Python {platform.python_version()}, load average {load}"
    )


def _ledger_size(directory: str | None) -> str:
    """The SQLite ledger's size on disk (with its write-ahead log), in MiB."""
    if not directory:
        return "-"
    paths = Path(directory).glob("ledger.sqlite*")
    return f"{sum(p.stat().st_size for p in paths) / 2**20:.1f}"


@contextlib.contextmanager
def cache_env(backend: str, ledger: str) -> Iterator[dict[str, str]]:
    """The toolkit's cache and submission ledger, in a fresh directory (or Redis)."""
    with tempfile.TemporaryDirectory(prefix="sa-bench-cpu-") as directory:
        env = {
            "BENCH_CACHE": backend,
            "BENCH_CACHE_DIR": directory,
            "BENCH_LEDGER": ledger,
            "BENCH_LEDGER_PATH": os.path.join(directory, "ledger.sqlite"),
        }
        if "redis" in (backend, ledger):
            env |= {
                "BENCH_REDIS_URL": REDIS_URL,
                "BENCH_PREFIX": f"sa-bench-{secrets.token_hex(4)}:",
            }
        yield env
        if "redis" in (backend, ledger):
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=env["BENCH_PREFIX"] + "*"):
                client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=5, help="per run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="default 3")
    parser.add_argument("--connections", type=int, default=16, help="default 16")
    parser.add_argument("--threads", type=int, default=1, help="wrk's (default 1)")
    parser.add_argument(
        "--cache",
        choices=("memory", "sqlite", "redis"),
        default="memory",
        help="the toolkit's SERVER_ACTIONS_CACHE (default memory, one per worker)",
    )
    parser.add_argument(
        "--ledger-store",
        choices=("sqlite", "redis", "memory"),
        default="sqlite",
        help="where submission keys are kept (SERVER_ACTIONS_LEDGER; default sqlite,"
        " one file both workers share; redis needs --cache redis, memory needs"
        " --workers 1)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=WORKERS,
        help=f"gunicorn sync workers per app (default {WORKERS}); with 1, the"
        " toolkit's memory cache and ledger stay in memory: what the shared"
        " stores cost is the difference",
    )
    parser.add_argument(
        "--ledger",
        action="store_true",
        help="measure the htmx action as the submission store fills instead",
    )
    parser.add_argument(
        "--ledger-levels",
        default="0,10000,100000",
        help="applied submissions before each measurement (default 0,10000,100000)",
    )
    args = parser.parse_args()
    if args.seconds < 1 or args.rounds < 1 or args.connections < args.threads:
        parser.error(
            "--seconds and --rounds must be at least 1, --connections >= --threads"
        )
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.ledger_store == "memory" and args.workers != 1:
        parser.error("--ledger-store memory needs --workers 1 (each worker's own)")
    if shutil.which("wrk") is None:
        sys.exit("bench.cpu needs wrk: apt-get install -y wrk")

    try:
        errors = measure(args)
    except KeyboardInterrupt:
        # The servers have been stopped on the way out of their blocks.
        sys.exit("interrupted; both servers stopped")
    sys.exit(1 if errors else 0)


def measure(args: argparse.Namespace) -> int:
    """Start both servers, check their answers, measure; the count of errors."""
    with contextlib.ExitStack() as stack:
        if args.ledger_store == "redis" and args.cache != "redis":
            sys.exit("--ledger-store redis needs --cache redis")
        env = stack.enter_context(cache_env(args.cache, args.ledger_store))
        args.store_dir = env.get("BENCH_CACHE_DIR")
        servers = {
            name: stack.enter_context(serve(app, args.workers, env, GUNICORN_ARGS))
            for name, app in APPS.items()
        }
        browsers = {name: Browser.open(server.url) for name, server in servers.items()}
        print(
            f"{TOOLKIT} (bench.cpu_toolkit) vs {HAND} Flask-WTF (bench.cpu_hand):"
            f" gunicorn, {args.workers} sync worker(s) each; wrk, {args.threads} thread(s),"
            f" {args.connections} connections; a page of {ITEMS} items;"
            f" toolkit cache: {args.cache}, ledger: {args.ledger_store}"
        )
        print(f"machine: {machine()}")
        print()
        if not check_sizes(browsers):
            sys.exit("not measured: an answer has the wrong status or size (see above)")
        run = ledger if args.ledger else compare
        return run(servers, browsers, args)


if __name__ == "__main__":
    main()
