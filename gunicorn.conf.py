"""gunicorn settings for the reference site: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every setting can be changed from the environment (README, "Configuration").
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(
    os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count(), 8))
)
# Sync workers: each request runs on its own process; the site does no long polling.
worker_class = "sync"
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
