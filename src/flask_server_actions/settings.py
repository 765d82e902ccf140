"""The toolkit's configuration, read from ``app.config`` once and checked.

``init_app`` gives every ``SERVER_ACTIONS_*`` key its default, then builds one
:class:`Settings`: sizes are parsed, choices checked and the rate-limit store the
limiter will really use is resolved, so a typo fails at start, not at the first
request, and nothing re-reads the config per request.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import sys
import typing as t

from flask import Flask

from .limits import parse_size
from .urls import netloc_of

logger = logging.getLogger("flask_server_actions")

#: Every key the toolkit reads, with its default.
DEFAULTS: t.Final[dict[str, t.Any]] = {
    "SERVER_ACTIONS_ALLOWED_ORIGINS": [],
    # Empty by default: htmx 4's own defaults already swap 4xx answers,
    # which is what actions rely on to show errors in the form.
    "SERVER_ACTIONS_HTMX_CONFIG": "",
    "SERVER_ACTIONS_STATIC_URL_PATH": "/_server_actions",
    # Signed bound arguments older than this (seconds) are refused.
    "SERVER_ACTIONS_BIND_MAX_AGE": 7 * 24 * 3600,
    "SERVER_ACTIONS_RATELIMIT_STORAGE_URI": None,
    # When the rate-limit store is down: "open" lets requests through,
    # "closed" refuses actions with 503 until it is back.
    "SERVER_ACTIONS_RATELIMIT_FAIL": "open",
    # Seconds a 503 (backend down or locked) asks the client to wait.
    "SERVER_ACTIONS_RETRY_AFTER": 5,
    # The page that offers a failed submission again when the form's own
    # page cannot render (its database is down); None for a built-in one.
    "SERVER_ACTIONS_RESUBMIT_TEMPLATE": None,
    # How many proxies in front of the app append to X-Forwarded-For.
    "SERVER_ACTIONS_TRUSTED_PROXIES": 0,
    # A form of text rarely needs more; a large body only costs the server.
    "SERVER_ACTIONS_MAX_BODY": "64 KB",
    # The body of a form with a file input (per action: max_body=).
    "SERVER_ACTIONS_MAX_UPLOAD": "10 MB",
    "SERVER_ACTIONS_CACHE": "memory",
    "SERVER_ACTIONS_CACHE_DEFAULT_TIMEOUT": 300,
    "SERVER_ACTIONS_CACHE_DIR": None,
    "SERVER_ACTIONS_REDIS_URL": None,
    "SERVER_ACTIONS_CACHE_PREFIX": "sa:",
    # Languages a region with vary=["lang"] picks from Accept-Language.
    "SERVER_ACTIONS_LANGUAGES": [],
    # Seconds an applied submission key is remembered (its result replayed).
    "SERVER_ACTIONS_SUBMISSION_TTL": 3600,
    # Seconds a repeat waits for the first request with its key to finish.
    "SERVER_ACTIONS_SUBMISSION_WAIT": 10,
    # Shown in a form's place when its action fails unexpectedly, unless
    # its blueprint supplies its own (error_template).
    "SERVER_ACTIONS_ERROR_TEMPLATE": "server_actions/error.html",
    # {name: sentence} replacing some of the toolkit's sentences (messages.py).
    "SERVER_ACTIONS_MESSAGES": {},
    # Fragments and data the memory cache holds; the least recently used go first.
    "SERVER_ACTIONS_CACHE_MAX_ENTRIES": 10_000,
    # Where applied submission keys are kept: "auto" is Redis with a Redis
    # cache, else an SQLite file every worker of the machine shares.
    "SERVER_ACTIONS_LEDGER": "auto",
    # The ledger's SQLite file (default: in the instance folder).
    "SERVER_ACTIONS_LEDGER_PATH": None,
    # Submissions a memory ledger holds; when full, actions answer 503.
    "SERVER_ACTIONS_LEDGER_MAX_ENTRIES": 100_000,
    # Open streams per caller (user, else address), across workers sharing the cache.
    "SERVER_ACTIONS_STREAMS_PER_USER": 3,
    # Open streams per server process: keep it below the process's threads.
    "SERVER_ACTIONS_STREAMS_PER_PROCESS": 8,
    # Seconds a stream may run.
    "SERVER_ACTIONS_STREAM_TIME_LIMIT": 120,
    # Live regions (docs/live-regions.md): open live streams per caller (a
    # browser holds one for all its tabs), and per server process.
    "SERVER_ACTIONS_LIVE_PER_USER": 4,
    "SERVER_ACTIONS_LIVE_PER_ADDRESS": 20,
    "SERVER_ACTIONS_LIVE_PER_PROCESS": 100,
    # Seconds between two heartbeats of an idle live stream.
    "SERVER_ACTIONS_LIVE_HEARTBEAT": 15,
    # Seconds a live stream runs before the browser is asked to reconnect
    # (it resumes where it was): long-lived connections spread over workers.
    "SERVER_ACTIONS_LIVE_TIME_LIMIT": 300,
    # Events kept for a browser that reconnects (older: it refetches its regions).
    "SERVER_ACTIONS_LIVE_REPLAY": 1000,
    # Where browsers open the live stream; None for the toolkit's own endpoint.
    "SERVER_ACTIONS_LIVE_URL": None,
    # The page that asks confirm=... without JavaScript; None for a built-in one.
    "SERVER_ACTIONS_CONFIRM_TEMPLATE": None,
    # Validation checks while users type, per user, for actions with a rate_limit.
    "SERVER_ACTIONS_VALIDATE_RATE_LIMIT": "120/minute",
    # Whether actions keep submissions that cannot reach the server (offline=).
    "SERVER_ACTIONS_OFFLINE": False,
    # The most a kept submission's files may weigh in the browser's storage.
    "SERVER_ACTIONS_OFFLINE_MAX_FILES": "5 MB",
}

#: The ledger's file in the instance folder, unless ``SERVER_ACTIONS_LEDGER_PATH``.
LEDGER_FILE: t.Final = "server-actions-ledger.sqlite"

CacheKind = t.Literal["memory", "sqlite", "redis"]
LedgerKind = t.Literal["memory", "sqlite", "redis"]
FailMode = t.Literal["open", "closed"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """The toolkit's settings for one app, checked.

    .. versionadded:: 0.1
    """

    allowed_origins: frozenset[str]
    htmx_config: str
    static_url_path: str
    bind_max_age: int
    #: The store the rate limiter counts in, as Flask-Limiter's storage URI.
    ratelimit_storage_uri: str
    ratelimit_fail: FailMode
    retry_after: int
    resubmit_template: str | None
    trusted_proxies: int
    #: The largest action body, in bytes.
    max_body: int
    #: The largest body of an action whose form has a file input, in bytes.
    max_upload: int
    cache: CacheKind
    cache_default_timeout: int
    cache_dir: str
    redis_url: str | None
    cache_prefix: str
    languages: tuple[str, ...]
    submission_ttl: int
    submission_wait: float
    error_template: str
    messages: t.Mapping[str, str]
    cache_max_entries: int
    ledger: LedgerKind
    ledger_path: str
    ledger_max_entries: int
    streams_per_user: int
    streams_per_process: int
    stream_time_limit: float
    confirm_template: str | None
    validate_rate_limit: str | None
    offline: bool
    offline_max_files: int
    live_per_user: int
    live_per_address: int
    live_per_process: int
    live_heartbeat: float
    live_time_limit: float
    live_replay: int
    live_url: str | None
    csrf_field: str
    csrf_header: str

    @classmethod
    def from_app(cls, app: Flask) -> Settings:
        """Give every key its default in ``app.config``, then read and check them all."""
        config = app.config
        for key, value in DEFAULTS.items():
            config.setdefault(key, value)
        cache = config["SERVER_ACTIONS_CACHE"]
        _check_choice(
            "SERVER_ACTIONS_CACHE", cache, ("memory", "sqlite", "filesystem", "redis")
        )
        if cache == "filesystem":
            cache = "sqlite"  # its earlier name: one store the workers share
        ledger = config["SERVER_ACTIONS_LEDGER"]
        _check_choice(
            "SERVER_ACTIONS_LEDGER", ledger, ("auto", "memory", "sqlite", "redis")
        )
        if ledger == "auto":
            ledger = "redis" if cache == "redis" else "sqlite"
        workers = server_workers()
        if workers > 1 and ledger == "memory":
            raise RuntimeError(
                f"SERVER_ACTIONS_LEDGER is 'memory' but {workers} worker processes"
                " serve the app: each would keep its own submission keys, and a"
                " form could be written twice. Use 'sqlite' (the default) or 'redis'."
            )
        if workers > 1 and cache == "memory":
            logger.warning(
                "SERVER_ACTIONS_CACHE is 'memory' but %d worker processes serve the"
                " app: using the shared 'sqlite' cache instead, so a revalidation in"
                " one worker reaches the others. Set SERVER_ACTIONS_CACHE = 'sqlite'"
                " or 'redis' to say so.",
                workers,
            )
            cache = "sqlite"
        fail = config["SERVER_ACTIONS_RATELIMIT_FAIL"]
        _check_choice("SERVER_ACTIONS_RATELIMIT_FAIL", fail, ("open", "closed"))
        redis_url = config["SERVER_ACTIONS_REDIS_URL"] or None
        if cache == "redis" and not redis_url:
            raise RuntimeError(
                "SERVER_ACTIONS_CACHE is 'redis' but SERVER_ACTIONS_REDIS_URL is not set."
            )
        return cls(
            allowed_origins=frozenset(
                netloc_of(o) for o in config["SERVER_ACTIONS_ALLOWED_ORIGINS"]
            ),
            htmx_config=str(config["SERVER_ACTIONS_HTMX_CONFIG"]),
            static_url_path=str(config["SERVER_ACTIONS_STATIC_URL_PATH"]),
            bind_max_age=int(config["SERVER_ACTIONS_BIND_MAX_AGE"]),
            ratelimit_storage_uri=_ratelimit_storage(config, cache, redis_url),
            ratelimit_fail=fail,
            retry_after=int(config["SERVER_ACTIONS_RETRY_AFTER"]),
            resubmit_template=config["SERVER_ACTIONS_RESUBMIT_TEMPLATE"] or None,
            trusted_proxies=int(config["SERVER_ACTIONS_TRUSTED_PROXIES"]),
            max_body=parse_size(config["SERVER_ACTIONS_MAX_BODY"]),
            max_upload=parse_size(config["SERVER_ACTIONS_MAX_UPLOAD"]),
            cache=cache,
            cache_default_timeout=int(config["SERVER_ACTIONS_CACHE_DEFAULT_TIMEOUT"]),
            cache_dir=config["SERVER_ACTIONS_CACHE_DIR"]
            or os.path.join(app.instance_path, "server-actions-cache"),
            redis_url=redis_url,
            cache_prefix=str(config["SERVER_ACTIONS_CACHE_PREFIX"]),
            languages=tuple(config["SERVER_ACTIONS_LANGUAGES"]),
            submission_ttl=int(config["SERVER_ACTIONS_SUBMISSION_TTL"]),
            submission_wait=float(config["SERVER_ACTIONS_SUBMISSION_WAIT"]),
            error_template=str(config["SERVER_ACTIONS_ERROR_TEMPLATE"]),
            messages=dict(config["SERVER_ACTIONS_MESSAGES"]),
            cache_max_entries=int(config["SERVER_ACTIONS_CACHE_MAX_ENTRIES"]),
            ledger=ledger,
            ledger_path=config["SERVER_ACTIONS_LEDGER_PATH"]
            or os.path.join(app.instance_path, LEDGER_FILE),
            ledger_max_entries=int(config["SERVER_ACTIONS_LEDGER_MAX_ENTRIES"]),
            streams_per_user=int(config["SERVER_ACTIONS_STREAMS_PER_USER"]),
            streams_per_process=int(config["SERVER_ACTIONS_STREAMS_PER_PROCESS"]),
            stream_time_limit=float(config["SERVER_ACTIONS_STREAM_TIME_LIMIT"]),
            confirm_template=config["SERVER_ACTIONS_CONFIRM_TEMPLATE"] or None,
            validate_rate_limit=config["SERVER_ACTIONS_VALIDATE_RATE_LIMIT"] or None,
            offline=bool(config["SERVER_ACTIONS_OFFLINE"]),
            offline_max_files=parse_size(config["SERVER_ACTIONS_OFFLINE_MAX_FILES"]),
            live_per_user=int(config["SERVER_ACTIONS_LIVE_PER_USER"]),
            live_per_address=int(config["SERVER_ACTIONS_LIVE_PER_ADDRESS"]),
            live_per_process=int(config["SERVER_ACTIONS_LIVE_PER_PROCESS"]),
            live_heartbeat=float(config["SERVER_ACTIONS_LIVE_HEARTBEAT"]),
            live_time_limit=float(config["SERVER_ACTIONS_LIVE_TIME_LIMIT"]),
            live_replay=int(config["SERVER_ACTIONS_LIVE_REPLAY"]),
            live_url=config["SERVER_ACTIONS_LIVE_URL"] or None,
            # Flask-WTF's own keys, with its defaults, read once.
            csrf_field=str(config.get("WTF_CSRF_FIELD_NAME", "csrf_token")),
            csrf_header=str(config.get("WTF_CSRF_HEADERS", ["X-CSRFToken"])[0]),
        )


def server_workers() -> int:
    """How many worker processes the WSGI server runs, as far as it says (else 1).

    gunicorn tells its workers nothing of their number, so this reads what it
    reads: ``--workers``/``-w`` on its command line (which every worker
    inherits), ``GUNICORN_CMD_ARGS`` and ``WEB_CONCURRENCY``. A number set in a
    config file is not seen; ``flask actions --workers N`` checks such a setup.
    """
    if not os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
        return 1
    words = [*sys.argv[1:], *shlex.split(os.environ.get("GUNICORN_CMD_ARGS", ""))]
    for i, word in enumerate(words):
        value: str | None = None
        if word in ("-w", "--workers") and i + 1 < len(words):
            value = words[i + 1]
        elif word.startswith("--workers="):
            value = word.partition("=")[2]
        elif word.startswith("-w") and word[2:].isdigit():
            value = word[2:]
        if value is not None and value.isdigit():
            return int(value)
    concurrency = os.environ.get("WEB_CONCURRENCY", "")
    return int(concurrency) if concurrency.isdigit() else 1


def _check_choice(key: str, value: t.Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        quoted = ", ".join(repr(c) for c in choices[:-1])
        raise ValueError(f"{key} must be {quoted} or {choices[-1]!r}, not {value!r}.")


def _ratelimit_storage(
    config: t.Mapping[str, t.Any], cache: str, redis_url: str | None
) -> str:
    """The limiter's store: the toolkit's own setting, Flask-Limiter's, else the cache's Redis."""
    explicit = config["SERVER_ACTIONS_RATELIMIT_STORAGE_URI"] or config.get(
        "RATELIMIT_STORAGE_URI"
    )
    if explicit:
        return str(explicit)
    if cache == "redis" and redis_url:
        return redis_url
    return "memory://"
