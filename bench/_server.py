"""Start and stop a gunicorn server on 127.0.0.1 for a benchmark."""

from __future__ import annotations

import compileall
import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def compile_sources() -> None:
    """Write the bytecode of the toolkit and of the benchmarks' apps.

    As installing a package does (pip compiled Flask and every other
    dependency when it installed them). Without it, where
    ``PYTHONDONTWRITEBYTECODE`` is set, as on the development machine, each
    worker would compile the toolkit's source when it starts: 0.7 MiB more
    resident memory at start than an installed toolkit's worker has (by the
    end of a run its heap has reused most of what compiling left free).
    """
    for folder in (ROOT / "src", ROOT / "bench"):
        compileall.compile_dir(folder, quiet=1)


@dataclasses.dataclass
class Server:
    """A running gunicorn: its base URL and its master process."""

    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        """The workers: the master's children."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return sorted(map(int, children))


@contextlib.contextmanager
def serve(
    app: str,
    workers: int = 2,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """Run ``app`` (``module:factory()``) under gunicorn until the block ends.

    It is stopped on the way out whatever happens (an error, Ctrl-C): SIGTERM,
    then SIGKILL if it has not exited after 10 seconds. Both apps' workers
    import from bytecode (:func:`compile_sources`).
    """
    compile_sources()
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        *args,
        app,
    ]
    # In a session of its own, so Ctrl-C reaches only the benchmark, which then
    # stops the server here, in order, instead of both racing to shut down.
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), 0.2),
            ):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start on port {port}")
            time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def gunicorn(
    app: str, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run ``app`` (``module:factory()``) under gunicorn; yield its base URL."""
    with serve(app, workers, env) as server:
        yield server.url
