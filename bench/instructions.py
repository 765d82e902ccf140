"""Instructions per request: the toolkit against the same page written by hand.

    python -m bench.instructions          # about 4 minutes; needs valgrind (and strace)

The twin of :mod:`bench.cpu` for a noisy machine. CPU time per request moves by
10 to 30 % from one run to the next on a shared virtual machine; the number of
instructions a request executes does not. Each app of ``bench.cpu`` answers
each kind of request of ``bench.cpu`` in one process, called as a WSGI server
calls it (no server, no socket), under ``valgrind --tool=callgrind``, which counts
the instructions the process executes in user space. Two runs per app and kind,
with ``SHORT`` and ``LONG`` requests after the same warm-up, give the count of
one request as their difference, so start-up and imports cancel out.

The same runs under ``strace -f -c`` count the system calls of one request
(SQLite's file locks and writes; no socket, as there is no server), the kernel's
share that instructions do not see. What neither sees is how fast the
instructions run (cache misses, mispredicted branches): last, one process at a
time, each app answers ``TIMED`` requests of each kind in the same setup, and
the process's CPU time (``getrusage``) gives the time of one, a median of
``TIMED_ROUNDS`` processes (``--no-time`` skips it). ``bench.cpu`` measures the
same under gunicorn and load. The toolkit's cache
and submission ledger are SQLite files in a fresh folder, as under
``bench.cpu``'s two workers.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

from werkzeug.test import EnvironBuilder

from bench.cpu import APPS
from bench.cpu import HAND
from bench.cpu import KINDS
from bench.cpu import TOOLKIT
from bench.cpu import Browser
from bench.cpu import Kind

WARM_UP = 30
SHORT = 40
LONG = 140
#: Requests timed in one process (after ``TIMED_WARM_UP``), and how many times.
TIMED_WARM_UP = 300
TIMED = 2000
TIMED_ROUNDS = 3
_COLLECTED = re.compile(r"Collected : (\d+)")
#: The calls column of strace -c's last line ("100.00  0.04  5  7262  696 total").
_TOTAL_CALLS = re.compile(r"^\s*100\.00\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total", re.M)
#: What a run counts.
Tool = t.Literal["instructions", "system calls"]


def one_request(app_name: str, kind_name: str) -> t.Callable[[], None]:
    """A function that sends one request of ``kind_name`` to a new ``app_name``.

    The app is called as a WSGI server calls it, with an environ built once:
    Flask's test client would add its own work (building the request, keeping
    cookies, wrapping the answer) to both apps alike and hide part of the
    difference. Every request carries the cookie the page set, as wrk's do.
    """
    module, _, factory = APPS[app_name].partition(":")
    app = getattr(__import__(module, fromlist=["_"]), factory.removesuffix("()"))()
    kind = next(k for k in KINDS if k.name == kind_name)
    client = app.test_client()
    page = client.get("/todos")
    session = client.get_cookie("session")
    cookie = f"session={session.value}" if session is not None else ""
    browser = Browser.from_page("http://localhost", page.status_code, page.text, cookie)
    headers, body = browser.request(kind)
    base = EnvironBuilder(path=kind.path, method=kind.method, headers=headers)
    environ = base.get_environ()
    statuses: list[str] = []

    def start_response(status: str, *_: object) -> None:
        statuses.append(status)

    keyed = "{key}" in body

    def send() -> None:
        request = dict(environ)
        if body:
            # A new submission key each time, as a freshly rendered form has (a
            # random key costs a system call: only for the form that has one).
            key = secrets.token_urlsafe(18) if keyed else ""
            sent = body.replace("{key}", key).encode()
            request["wsgi.input"] = io.BytesIO(sent)
            request["CONTENT_LENGTH"] = str(len(sent))
        answer = app(request, start_response)
        try:
            b"".join(answer)
        finally:
            getattr(answer, "close", lambda: None)()
        status = statuses.pop()
        if not status.startswith(f"{kind.expect} "):
            sys.exit(f"{app_name}, {kind.name}: {status}")

    return send


def serve_requests(app_name: str, kind_name: str, count: int) -> None:
    """In this process: ``WARM_UP`` + ``count`` requests of one kind to one app."""
    send = one_request(app_name, kind_name)
    for _ in range(WARM_UP + count):
        send()


def time_requests(app_name: str, kind_name: str) -> None:
    """Print the CPU time (user + system, µs) of one request, over ``TIMED`` of them."""
    send = one_request(app_name, kind_name)
    for _ in range(TIMED_WARM_UP):
        send()
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(TIMED):
        send()
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"{used * 1e6 / TIMED:.1f}")


def run_counted(app_name: str, kind: Kind, count: int, folder: str, tool: Tool) -> int:
    """What ``tool`` counts in a whole process that answers ``count`` requests."""
    store, env = _fresh_stores(folder)
    report = os.path.join(store, "report")
    serve = [sys.executable, "-m", "bench.instructions", "--serve"]
    serve += [app_name, kind.name, str(count)]
    if tool == "instructions":
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={report}"]
    else:
        # -f: the live event log's thread counts too.
        command = ["strace", "-f", "-c", "-o", report]
    done = subprocess.run(
        command + serve,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if tool == "instructions":
        found = _COLLECTED.search(done.stderr)
    else:
        found = (
            _TOTAL_CALLS.search(Path(report).read_text())
            if done.returncode == 0
            else None
        )
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{app_name}, {kind.name}: {done.stderr[-2000:]}")
    return int(found.group(1))


def _fresh_stores(folder: str) -> tuple[str, dict[str, str]]:
    """A new folder for the toolkit's SQLite cache and ledger, and the environment."""
    store = tempfile.mkdtemp(dir=folder)
    return store, os.environ | {
        "BENCH_CACHE": "sqlite",
        "BENCH_CACHE_DIR": store,
        "BENCH_LEDGER": "sqlite",
        "BENCH_LEDGER_PATH": os.path.join(store, "ledger.sqlite"),
    }


def run_timed(app_name: str, kind: Kind, folder: str) -> float:
    """CPU µs of one request, measured in a new process (see ``time_requests``)."""
    _, env = _fresh_stores(folder)
    done = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--time", app_name, kind.name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{app_name}, {kind.name}: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def timed_medians(folder: str) -> dict[tuple[str, Kind], float]:
    """Median CPU µs per request of each app and kind over ``TIMED_ROUNDS`` runs.

    One process at a time, the apps in turn (and the other way round in the
    next round), so that neither measures while the other loads the machine.
    """
    runs: dict[tuple[str, Kind], list[float]] = {}
    for round_ in range(TIMED_ROUNDS):
        for kind in KINDS:
            apps = (TOOLKIT, HAND) if round_ % 2 == 0 else (HAND, TOOLKIT)
            for app in apps:
                runs.setdefault((app, kind), []).append(run_timed(app, kind, folder))
    return {job: statistics.median(found) for job, found in runs.items()}


def per_request(app_name: str, kind: Kind, folder: str, tool: Tool) -> float:
    short = run_counted(app_name, kind, SHORT, folder, tool)
    long = run_counted(app_name, kind, LONG, folder, tool)
    # A count a little below zero is the noise of two processes' starts, not a
    # request's (it would print as "-0").
    return max(0.0, (long - short) / (LONG - SHORT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--time", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-time",
        action="store_true",
        help="skip the CPU time per request in one process (about 80 seconds)",
    )
    args = parser.parse_args()
    if args.serve:
        app_name, kind_name, count = args.serve
        serve_requests(app_name, kind_name, int(count))
        return
    if args.time:
        time_requests(*args.time)
        return
    if shutil.which("valgrind") is None:
        sys.exit("bench.instructions needs valgrind: apt-get install -y valgrind")
    tools: list[Tool] = ["instructions"]
    if shutil.which("strace") is not None:
        tools.append("system calls")
    jobs = [
        (app, kind, tool) for tool in tools for kind in KINDS for app in (TOOLKIT, HAND)
    ]
    with (
        tempfile.TemporaryDirectory(prefix="sa-bench-instr-") as folder,
        concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool,
    ):
        counts = dict(
            zip(
                jobs,
                pool.map(lambda job: per_request(*job[:2], folder, job[2]), jobs),
                strict=True,
            )
        )
        # After the counts, alone: time is what other processes disturb.
        times = {} if args.no_time else timed_medians(folder)
    print(
        f"per request: instructions (valgrind callgrind, user space) and system calls"
        f" (strace -f -c); the WSGI app called directly, one process; toolkit cache"
        f" and ledger: SQLite; Python {sys.version.split()[0]}"
    )
    for tool in tools:
        print(f"  {tool:44} {'toolkit':>12} {HAND:>14}  ratio")
        for kind in KINDS:
            toolkit, hand = counts[(TOOLKIT, kind, tool)], counts[(HAND, kind, tool)]
            ratio = f"{toolkit / hand:5.2f}" if hand >= 1 else "    -"
            print(f"  {kind.name:44} {toolkit:12,.0f} {hand:14,.0f}  {ratio}")
    if "system calls" not in tools:
        print("  (system calls not counted: apt-get install -y strace)")
    if times:
        print(
            f"CPU time per request in the same setup (user + system, getrusage;"
            f" median of {TIMED_ROUNDS} processes x {TIMED:,} requests): where it"
            f" differs from the instructions' ratio, the same instructions run at"
            f" another speed"
        )
        print(f"  {'CPU µs':44} {'toolkit':>12} {HAND:>14}  ratio")
        for kind in KINDS:
            toolkit, hand = times[(TOOLKIT, kind)], times[(HAND, kind)]
            print(
                f"  {kind.name:44} {toolkit:12,.0f} {hand:14,.0f}  {toolkit / hand:5.2f}"
            )


if __name__ == "__main__":
    main()
