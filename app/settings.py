"""The site's configuration from environment variables (see the README's table).

Development needs none of them: SQLite in the instance folder, an in-process
cache, a throwaway secret. Production (``SITE_ENV=production``) refuses to start
without a real ``SECRET_KEY`` and turns on secure cookies.
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
    if production and (secret == DEV_SECRET_KEY or len(secret) < MIN_SECRET_LENGTH):
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
