"""Worker CPU for a body the site refuses: a 1 MB POST with no cookie and no token.

    python -m bench.refused                 # 1 MB bodies, 10 s, 4 connections
    python -m bench.refused --kb 64         # a body just at the text-form limit

Issue 13: a 1 MB url-encoded POST of invalid UTF-8 used to be parsed (on the
error path too) and cost 1.5 to 2.5 s of worker CPU, so a trickle of them
stalled the site. The goal: under 5 ms of worker CPU per refused body.

Starts the reference site under gunicorn (``gunicorn.conf.py``, as shipped, on
a fresh SQLite instance folder), then ``wrk`` (``apt-get install -y wrk``)
posts the same body again and again to an action (``/users/create``): invalid
UTF-8 bytes, url-encoded, with neither a session cookie nor a CSRF token, as an
attacker would. Each answer must be a refusal (413 over the limit, 400 under
it): any 2xx is an error. The workers' own CPU (``/proc/<pid>/stat``) over the
run, divided by the answers ``wrk`` counted, is the CPU per refused body; GET /
served by the same workers afterwards (a page, for scale) is measured the same
way.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.cpu import wait_idle
from bench.cpu import worker_cpu_seconds
from bench.stall import site_process

_SCRIPT = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
{body}
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

#: Bytes that are not UTF-8 (a lone continuation byte), percent-encoded.
_BAD_BYTE = "%80"


def run_wrk(url: str, script: str, seconds: int, connections: int) -> list[int]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(connections, 2)}",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                file.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(file.name)
    found = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    return [int(n) for n in found.groups()]


def measure(
    pids: list[int], url: str, script: str, seconds: int, connections: int
) -> tuple[float, list[int]]:
    wait_idle(pids)
    before = worker_cpu_seconds(pids)
    result = run_wrk(url, script, seconds, connections)
    wait_idle(pids)
    used = worker_cpu_seconds(pids) - before
    return used / max(result[0], 1) * 1000, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", type=int, default=1024, help="body size (1024)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    size = args.kb * 1024
    # name=<bad bytes>: a field of the form, so the body is an honest form post.
    body_lua = f'wrk.body = "name=" .. string.rep("{_BAD_BYTE}", {(size - 5) // 3})'
    post = _SCRIPT.format(method="POST", body=body_lua)
    page = _SCRIPT.format(method="GET", body="")
    with site_process(args.workers, args.threads, "gthread") as (port, master):
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
        pids = sorted(map(int, children.read_text().split()))
        base = f"http://127.0.0.1:{port}"
        refused_ms, refused = measure(
            pids, base + "/users/create", post, args.seconds, args.connections
        )
        page_ms, pages = measure(pids, base + "/", page, args.seconds, args.connections)
    status_errors = refused[1]
    print(
        f"site under gunicorn gthread, {args.workers} workers x {args.threads}"
        f" threads; wrk {args.connections} connections, {args.seconds} s each"
    )
    print(f"{'request':<40}{'answers':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}")
    print(
        f"{f'POST {args.kb} KB refused (no cookie, bad UTF-8)':<40}{refused[0]:>9}"
        f"{refused[3] / 1000:>9.2f}{refused[4] / 1000:>9.2f}{refused_ms:>12.3f}"
    )
    print(
        f"{'GET / (a page, for scale)':<40}{pages[0]:>9}"
        f"{pages[3] / 1000:>9.2f}{pages[4] / 1000:>9.2f}{page_ms:>12.3f}"
    )
    goal = "met" if refused_ms < 5 else "NOT MET"
    print(f"goal (#13): a refused body under 5 ms of worker CPU: {goal}")
    # wrk counts any status >= 400 as a status error: every refusal is one, and
    # a POST that was *not* refused would not be.
    if status_errors != refused[0] or pages[1] or refused[2] or pages[2]:
        print(
            f"unexpected: {refused[0] - status_errors} POST answers were not refusals,"
            f" {pages[1]} page errors, {refused[2] + pages[2]} socket errors",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
