"""One write per submission: every rendered form carries a key the server applies once.

A double click, a resubmission after the back button, or two concurrent requests
with the same key run the action once; the repeats get the first result back.

The key is claimed with the ledger's atomic ``add`` (an SQLite file every worker
of the machine shares by default, Redis at scale, memory for one process), scoped
by the action and by who submits (the signed-in user, else the
browser session), so one user's key can never replay another user's result. A
request that has neither (no session: a token-authenticated API client) has no
scope of its own to keep a key in, so it runs as a new submission every time.

Only an *applied* result is kept under the key: a successful one, whose
transaction committed. Every failure (invalid input, a refusal, an error) wrote
nothing, since a failed action is rolled back, so it releases the key and the
corrected form can be sent again with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3

from flask import current_app
from flask import session
from flask_wtf.csrf import generate_csrf

from .cache import ActionCache
from .ledger import Ledger
from .ledger import LedgerStore
from .policies import current_user
from .settings import Settings
from .stores import MemoryStore
from .stores import SqliteStore


def new_key() -> str:
    """A fresh, unguessable submission key for one rendered form."""
    return secrets.token_urlsafe(18)


def submitter(csrf_field: str) -> str | None:
    """Who submits: the signed-in user, else the browser session, else nobody known."""
    user = current_user()
    if getattr(user, "is_authenticated", False):
        return f"user:{user.get_id()}"
    # Flask-WTF keeps the session's CSRF secret under the field's name.
    secret = session.get(csrf_field)
    return f"session:{secret}" if secret else None


def outbox_owner(csrf_field: str) -> str:
    """An opaque mark of who submits (the signed-in user, else the browser
    session), for the offline outbox.

    A kept submission is sent again only from a page rendered for the same
    owner: on a shared computer, what one person kept is never sent into the
    account of whoever signs in next. A keyed hash, so the page does not show
    the user's id or the session's secret.
    """
    # The session's secret exists from this page on (as the form's token needs);
    # only made here, not signed: signing is the forms' (``csrf.form_token``).
    if csrf_field not in session:
        generate_csrf()
    scope = submitter(csrf_field) or ""
    key = str(current_app.secret_key or "").encode()
    digest = hmac.new(key, b"outbox-owner:" + scope.encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def create_ledger(settings: Settings, cache: ActionCache) -> Ledger:
    """The ledger ``SERVER_ACTIONS_LEDGER`` names; ``auto`` is Redis with a Redis
    cache, else an SQLite file that every worker of the machine shares."""
    kind = settings.ledger
    store: LedgerStore
    errors: tuple[type[Exception], ...] = ()
    if kind == "redis":
        if settings.cache != "redis":
            raise RuntimeError(
                "SERVER_ACTIONS_LEDGER is 'redis' but the cache is not:"
                " set SERVER_ACTIONS_CACHE = 'redis' and SERVER_ACTIONS_REDIS_URL."
            )
        store, errors = cache.backend, cache.outage_errors
    elif kind == "memory":
        store = MemoryStore(0, max_entries=settings.ledger_max_entries, evict=False)
    else:
        try:
            store = SqliteStore(settings.ledger_path)
        except (OSError, sqlite3.Error) as exc:
            raise RuntimeError(
                f"The submission ledger cannot be kept in {settings.ledger_path!r}"
                f" ({exc}): set SERVER_ACTIONS_LEDGER_PATH to a writable file, or"
                " use Redis (SERVER_ACTIONS_CACHE = 'redis')."
            ) from exc
        errors = (sqlite3.Error,)
    return Ledger(
        store, ttl=settings.submission_ttl, wait=settings.submission_wait, errors=errors
    )
