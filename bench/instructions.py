"""Instructions per request: the toolkit against the same page written by hand.

    python -m bench.instructions          # about 3 minutes; needs valgrind (and strace)

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
instructions run (cache misses), which ``bench.cpu`` does. The toolkit's cache
and submission ledger are SQLite files in a fresh folder, as under
``bench.cpu``'s two workers.
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
import typing as t
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
#: The calls column of strace -c's last line ("100.00  0.04  5  7262  696 total").
_TOTAL_CALLS = re.compile(r"^\s*100\.00\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total", re.M)
#: What a run counts.
Tool = t.Literal["instructions", "system calls"]


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


def run_counted(app_name: str, kind: Kind, count: int, folder: str, tool: Tool) -> int:
    """What ``tool`` counts in a whole process that answers ``count`` requests."""
    store = tempfile.mkdtemp(dir=folder)
    env = os.environ | {
        "BENCH_CACHE": "sqlite",
        "BENCH_CACHE_DIR": store,
        "BENCH_LEDGER": "sqlite",
        "BENCH_LEDGER_PATH": os.path.join(store, "ledger.sqlite"),
    }
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


def per_request(app_name: str, kind: Kind, folder: str, tool: Tool) -> float:
    short = run_counted(app_name, kind, SHORT, folder, tool)
    long = run_counted(app_name, kind, LONG, folder, tool)
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


if __name__ == "__main__":
    main()
