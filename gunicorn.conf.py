"""gunicorn settings for the reference site: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every setting can be changed from the environment (README, "Configuration").
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
from pathlib import Path


def _site_settings():  # type: ignore[no-untyped-def]
    # app/settings.py alone, not the app package: a master that imported the
    # site would hand its modules to every worker it forks, so a reload (HUP)
    # would keep serving the old code.
    path = Path(__file__).resolve().with_name("app") / "settings.py"
    spec = importlib.util.spec_from_file_location("_site_settings", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_starting(server):  # type: ignore[no-untyped-def]
    """Refuse to start the site with the public development key.

    Said once, here, rather than by every worker failing to boot: gunicorn is
    not Flask's development server. Only for the site (``wsgi:app``): other
    apps started from this folder (tests, benchmarks) bring their own key.
    """
    if str(getattr(server.app, "app_uri", "")).split(":")[0] != "wsgi":
        return
    try:
        _site_settings().check_secret_key(os.environ, flask_command=False)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def post_worker_init(_worker):  # type: ignore[no-untyped-def]
    """On SIGTERM, end this worker's live streams at once (docs/live-regions.md).

    Otherwise each open stream would hold the worker's shutdown until the
    graceful timeout; ended, every browser reconnects (to another worker) and
    resumes where it was.
    """
    import signal

    from flask_server_actions import stop_live_streams

    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum, frame):  # type: ignore[no-untyped-def]
        stop_live_streams()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, stop)


bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(
    os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count(), 8))
)
# Threaded workers: a report stream (or a client sending its body slowly) holds
# one thread, not a whole process, so the worker's other threads go on serving
# pages. With sync workers two open streams made every page wait for them.
# README, "Sizing workers and threads", has the measurements behind the numbers.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# A stream may take at most half of a worker's threads; the rest stay for pages.
os.environ.setdefault("STREAMS_PER_PROCESS", str(max(1, threads // 2)))
# A live region's stream is one per browser (not per tab) and idle nearly all
# the time, but it holds a thread too: a quarter of them here. A separate live
# server with many threads holds thousands (docs/live-regions.md, "Deploying").
os.environ.setdefault("LIVE_PER_PROCESS", str(max(1, threads // 4)))
# gthread: a worker whose main loop stops answering for this long is replaced
# (a request thread that hangs is not: streams have their own time limit).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On SIGTERM a worker finishes the request in hand before it exits.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
keepalive = 5
# Not preloaded: every worker opens its own database and Redis connections after
# the fork, so no socket is ever shared between processes.
preload_app = False
# A worker is replaced after this many requests (plus jitter), which bounds any slow leak.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
# "-" is stdout; an empty value turns the access log off (e.g. under load tests).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# Believe X-Forwarded-* only from the proxies the app trusts (TRUSTED_PROXIES).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# An in-process cache is one per worker: a revalidation in one worker would not
# reach the others. With several workers use Redis, or at least the filesystem.
_cache = os.environ.get("CACHE_BACKEND") or (
    "redis" if os.environ.get("REDIS_URL") else ""
)
if workers > 1 and _cache == "memory":
    raise SystemExit(
        "CACHE_BACKEND=memory cannot be shared by several gunicorn workers;"
        " set REDIS_URL (or CACHE_BACKEND=filesystem), or WEB_CONCURRENCY=1."
    )
if workers > 1 and not _cache:
    os.environ["CACHE_BACKEND"] = "filesystem"

# gunicorn's control socket is one fixed path per user: several servers on one
# machine (or one container with two sites) would fight over it.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "") == ""
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
