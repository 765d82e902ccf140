"""Instructions per request: the toolkit against the same page written by hand.

    python -m bench.instructions          # about 3 minutes; needs valgrind

The twin of :mod:`bench.cpu` for a noisy machine. CPU time per request moves by
10 to 30 % from one run to the next on a shared virtual machine; the number of
instructions a request executes does not. Each app of ``bench.cpu`` answers
each kind of request of ``bench.cpu`` in one process, called as a WSGI server
calls it (no server, no socket), under ``valgrind --tool=callgrind``, which counts
the instructions the process executes in user space. Two runs per app and kind,
with ``SHORT`` and ``LONG`` requests after the same warm-up, give the count of
one request as their difference, so start-up and imports cancel out.

What it does not see: time in the kernel (the system calls of SQLite's file
locks and writes, which ``bench.cpu`` does count) and how fast the instructions
run (cache misses). The toolkit's cache and submission ledger are SQLite files
in a fresh folder, as under ``bench.cpu``'s two workers.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.test import EnvironBuilder

from bench.cpu import APPS
from bench.cpu import HAND
from bench.cpu import KEY_FIELD
from bench.cpu import KINDS
from bench.cpu import TOOLKIT
from bench.cpu import Kind
from bench.cpu import _FormParser

WARM_UP = 30
SHORT = 40
LONG = 140
_COLLECTED = re.compile(r"Collected : (\d+)")


def serve_requests(app_name: str, kind_name: str, count: int) -> None:
    """In this process: ``WARM_UP`` + ``count`` requests of one kind to one app.

    The app is called as a WSGI server calls it, with an environ built once:
    Flask's test client would add its own work (building the request, keeping
    cookies, wrapping the answer) to both apps alike and hide part of the
    difference. Every request carries the cookie the page set, as wrk's do.
    """
    module, _, factory = APPS[app_name].partition(":")
    app = getattr(__import__(module, fromlist=["_"]), factory.removesuffix("()"))()
    kind = next(k for k in KINDS if k.name == kind_name)
    client = app.test_client()
    page = _FormParser()
    page.feed(client.get("/todos").text)
    keyed = KEY_FIELD in page.hidden
    page.hidden.pop(KEY_FIELD, None)
    session = client.get_cookie("session")
    if session is None:
        sys.exit(f"{app_name}: /todos set no session cookie")
    headers = {"Accept": "text/html", "Cookie": f"session={session.value}"}
    if kind.method == "POST":
        headers |= {
            "Origin": "http://localhost",
            "Sec-Fetch-Site": "same-origin",
            "Content-Type": "application/x-www-form-urlencoded",
        }
    if kind.htmx:
        headers |= {
            "HX-Request": "true",
            "HX-Target": f"form#{page.form_id}",
            "HX-Current-URL": "http://localhost/todos",
        }
    base = EnvironBuilder(path=kind.path, method=kind.method, headers=headers)
    environ = base.get_environ()
    statuses: list[str] = []

    def start_response(status: str, *_: object) -> None:
        statuses.append(status)

    for _ in range(WARM_UP + count):
        request = dict(environ)
        if kind.method == "POST":
            data = {**page.hidden, "text": kind.text or ""}
            if keyed:
                data[KEY_FIELD] = secrets.token_urlsafe(18)
            body = urlencode(data).encode()
            request["wsgi.input"] = io.BytesIO(body)
            request["CONTENT_LENGTH"] = str(len(body))
        answer = app(request, start_response)
        try:
            b"".join(answer)
        finally:
            getattr(answer, "close", lambda: None)()
        status = statuses.pop()
        if not status.startswith(f"{kind.expect} "):
            sys.exit(f"{app_name}, {kind.name}: {status}")


def count_instructions(app_name: str, kind: Kind, count: int, folder: str) -> int:
    """Instructions of a whole process that answers ``count`` requests."""
    store = tempfile.mkdtemp(dir=folder)
    env = os.environ | {
        "BENCH_CACHE": "sqlite",
        "BENCH_CACHE_DIR": store,
        "BENCH_LEDGER": "sqlite",
        "BENCH_LEDGER_PATH": os.path.join(store, "ledger.sqlite"),
    }
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={os.path.join(store, 'callgrind.out')}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--serve",
            app_name,
            kind.name,
            str(count),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{app_name}, {kind.name}: {done.stderr[-2000:]}")
    return int(found.group(1))


def per_request(app_name: str, kind: Kind, folder: str) -> float:
    short = count_instructions(app_name, kind, SHORT, folder)
    long = count_instructions(app_name, kind, LONG, folder)
    return (long - short) / (LONG - SHORT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        app_name, kind_name, count = args.serve
        serve_requests(app_name, kind_name, int(count))
        return
    if shutil.which("valgrind") is None:
        sys.exit("bench.instructions needs valgrind: apt-get install -y valgrind")
    jobs = [(app, kind) for kind in KINDS for app in (TOOLKIT, HAND)]
    with (
        tempfile.TemporaryDirectory(prefix="sa-bench-instr-") as folder,
        concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool,
    ):
        counts = dict(
            zip(
                jobs, pool.map(lambda job: per_request(*job, folder), jobs), strict=True
            )
        )
    print(
        f"instructions per request (valgrind callgrind, user space; the WSGI app"
        f" called directly, one process; toolkit cache and ledger: SQLite; Python"
        f" {sys.version.split()[0]})"
    )
    print(f"  {'request':44} {'toolkit':>12} {HAND:>14}  ratio")
    for kind in KINDS:
        toolkit, hand = counts[(TOOLKIT, kind)], counts[(HAND, kind)]
        print(f"  {kind.name:44} {toolkit:12,.0f} {hand:14,.0f}  {toolkit / hand:5.2f}")


if __name__ == "__main__":
    main()
