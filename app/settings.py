"""The site's configuration from environment variables (see the table in docs/reference-site.md).

Development needs none of them: SQLite in the instance folder, an in-process
cache, a throwaway secret. Production (``SITE_ENV=production``) refuses to start
without a real ``SECRET_KEY`` and turns on secure cookies.

The throwaway secret is public (it is written below), so anyone could sign a
session with it. Only the ``flask`` command (its development server, ``flask
run``, and commands such as ``flask db upgrade``) and tests get it without
asking; any other server (gunicorn, uWSGI, waitress…) refuses to start without
a real ``SECRET_KEY`` unless ``SITE_ENV=development`` says that this is a
development machine (:func:`check_secret_key`).
"""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

#: The development secret; production refuses it.
DEV_SECRET_KEY: t.Final = "dev-only-not-secret"
#: Shorter secrets are refused in production (32 random bytes, hex, is 64).
MIN_SECRET_LENGTH: t.Final = 32

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigurationError(RuntimeError):
    """An environment variable is missing or wrong; the message says which and how."""


def weak_secret(secret: str) -> bool:
    """Whether ``secret`` is the public development key or too short to trust."""
    return secret == DEV_SECRET_KEY or len(secret) < MIN_SECRET_LENGTH


_MAKE_A_KEY = (
    f"a random value of at least {MIN_SECRET_LENGTH} characters, e.g. the output of"
    ' `python -c "import secrets; print(secrets.token_hex(32))"`'
)


def check_secret_key(environ: t.Mapping[str, str], *, flask_command: bool) -> None:
    """Refuse to serve with the public development key unless development was asked for.

    Outside the ``flask`` command (``flask_command``), a missing or weak
    ``SECRET_KEY`` is refused unless ``SITE_ENV=development`` is set: a site
    started by gunicorn (or any other server) is taken to be reachable by others.
    """
    if flask_command or not weak_secret(environ.get("SECRET_KEY", "")):
        return
    if environ.get("SITE_ENV", "").strip() == "development":
        return
    raise ConfigurationError(
        "SECRET_KEY is missing or weak, and this server is not Flask's development"
        " server: sessions signed with the public development key could be forged"
        f" by anyone. Set SECRET_KEY to {_MAKE_A_KEY} (and SITE_ENV=production on a"
        " real site), or set SITE_ENV=development to use the development key on"
        " purpose on your own machine."
    )


def flask_command_running() -> bool:
    """Whether the app is being loaded by the ``flask`` command.

    That is its development server (``flask run``, also in the reloader's child
    process) or one of its commands (``flask db upgrade``, ``flask seed``); a
    WSGI server such as gunicorn imports ``wsgi.py`` outside any such command.
    """
    import click
    from flask.cli import FlaskGroup

    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.find_root().command, FlaskGroup)


def _flag(environ: t.Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}.")


def _int(environ: t.Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name} must be a whole number, not {raw!r}."
        ) from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative, not {value}.")
    return value


def database_url(environ: t.Mapping[str, str], instance_path: str) -> str:
    """``DATABASE_URL``, with ``postgres(ql)://`` pointed at the psycopg 3 driver."""
    url = environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{Path(instance_path) / 'site.db'}"
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def from_environment(
    environ: t.Mapping[str, str], instance_path: str
) -> dict[str, t.Any]:
    """The Flask config the environment asks for."""
    production = environ.get("SITE_ENV", "development").strip() == "production"
    secret = environ.get("SECRET_KEY", "")
    if production and weak_secret(secret):
        raise ConfigurationError(
            "SITE_ENV=production needs a real SECRET_KEY of at least"
            f" {MIN_SECRET_LENGTH} characters, e.g. the output of"
            ' `python -c "import secrets; print(secrets.token_hex(32))"`.'
        )
    url = database_url(environ, instance_path)
    sqlite = url.startswith("sqlite")
    engine_options: dict[str, t.Any] = (
        # How long a request waits for a locked SQLite file before answering 503.
        {"connect_args": {"timeout": float(_int(environ, "DATABASE_TIMEOUT", 5))}}
        if sqlite
        # A server that restarted leaves dead pooled connections: test before use.
        else {"pool_pre_ping": True}
    )
    redis_url = environ.get("REDIS_URL", "").strip() or None
    cache = environ.get("CACHE_BACKEND", "").strip() or (
        "redis" if redis_url else "memory"
    )
    secure_cookies = _flag(environ, "SESSION_COOKIE_SECURE", production)
    origins = [
        o.strip() for o in environ.get("ALLOWED_ORIGINS", "").split(",") if o.strip()
    ]
    config: dict[str, t.Any] = {
        "SITE_ENV": "production" if production else "development",
        "SECRET_KEY": secret or DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        # Zero-setup SQLite creates its tables itself; elsewhere `flask db upgrade`.
        "SITE_CREATE_SCHEMA": _flag(
            environ, "CREATE_SCHEMA", sqlite and not production
        ),
        "SERVER_ACTIONS_CACHE": cache,
        "SERVER_ACTIONS_REDIS_URL": redis_url,
        "SERVER_ACTIONS_CACHE_PREFIX": environ.get("CACHE_PREFIX", "sa:"),
        "RATELIMIT_KEY_PREFIX": environ.get("CACHE_PREFIX", "sa:") + "limits",
        "SERVER_ACTIONS_RATELIMIT_FAIL": environ.get("RATELIMIT_FAIL", "open"),
        "SERVER_ACTIONS_RETRY_AFTER": _int(environ, "RETRY_AFTER", 5),
        "SERVER_ACTIONS_TRUSTED_PROXIES": _int(environ, "TRUSTED_PROXIES", 0),
        "SERVER_ACTIONS_ALLOWED_ORIGINS": origins,
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO").strip().upper(),
        # A stream holds a server thread while it runs (docs/reference-site.md, "Sizing").
        "SERVER_ACTIONS_STREAMS_PER_USER": _int(environ, "STREAMS_PER_USER", 2),
        "SERVER_ACTIONS_STREAMS_PER_PROCESS": _int(environ, "STREAMS_PER_PROCESS", 4),
        "SERVER_ACTIONS_STREAM_TIME_LIMIT": _int(environ, "STREAM_TIME_LIMIT", 60),
        # Live regions' streams (docs/live-regions.md): one per browser.
        "SERVER_ACTIONS_LIVE_PER_USER": _int(environ, "LIVE_PER_USER", 4),
        "SERVER_ACTIONS_LIVE_PER_ADDRESS": _int(environ, "LIVE_PER_ADDRESS", 20),
        "SERVER_ACTIONS_LIVE_PER_PROCESS": _int(environ, "LIVE_PER_PROCESS", 100),
        "SERVER_ACTIONS_LIVE_URL": environ.get("LIVE_URL", "").strip() or None,
        # Seconds a request body may take to arrive (plus 1 s per 64 KB) under
        # gunicorn before the client gets a 408 and its thread is free.
        "SITE_BODY_TIMEOUT": _int(environ, "BODY_TIMEOUT", 10),
    }
    if cache == "filesystem" and environ.get("CACHE_DIR"):
        config["SERVER_ACTIONS_CACHE_DIR"] = environ["CACHE_DIR"]
    if redis_url:
        # Rate limits and submission keys must be shared by every worker too.
        config["SERVER_ACTIONS_RATELIMIT_STORAGE_URI"] = redis_url
    return config


def configure_logging(level_name: str) -> None:
    """Log at ``LOG_LEVEL`` to stderr (gunicorn collects it)."""
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        raise ConfigurationError(
            f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level_name!r}."
        )
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root.setLevel(level)
