"""A tiny app that writes to SQLite, run by several gunicorn workers in
``test_submissions_multiprocess.py``.

The cache backend, the rate limit storage and the database come from
environment variables, so every worker shares them.
"""

from __future__ import annotations

import os
import sqlite3
import time

from flask import Blueprint
from flask import Flask
from flask_wtf.csrf import generate_csrf

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow


def _connect() -> sqlite3.Connection:
    return sqlite3.connect(os.environ["SA_TEST_DB"], timeout=30)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="submission test",
        # Only this test app: the test posts without a form token.
        WTF_CSRF_ENABLED=False,
        SERVER_ACTIONS_CACHE=os.environ["SA_TEST_CACHE"],
        SERVER_ACTIONS_CACHE_DIR=os.environ.get("SA_TEST_CACHE_DIR"),
        SERVER_ACTIONS_REDIS_URL=os.environ.get("SA_TEST_REDIS_URL"),
        SERVER_ACTIONS_CACHE_PREFIX=os.environ.get("SA_TEST_PREFIX", "sa:"),
        SERVER_ACTIONS_LEDGER_PATH=os.environ.get("SA_TEST_LEDGER"),
        SERVER_ACTIONS_RATELIMIT_STORAGE_URI=os.environ.get("SA_TEST_LIMIT_STORAGE"),
        RATELIMIT_KEY_PREFIX=os.environ.get("SA_TEST_PREFIX", ""),
        # Generous: on a busy machine a repeat must not give up waiting.
        SERVER_ACTIONS_SUBMISSION_WAIT=60,
    )
    with _connect() as db:
        db.execute("CREATE TABLE IF NOT EXISTS orders (item TEXT NOT NULL)")
    bp = Blueprint("shop", __name__)

    @bp.get("/")
    def start() -> str:
        # A browser's session: submission keys are kept per session (its CSRF secret).
        return str(generate_csrf())

    @action(bp, allow=allow.public)
    def order() -> ActionState:
        with _connect() as db:
            db.execute("INSERT INTO orders (item) VALUES ('book')")
            # Keep the request in flight a little, so the repeats really
            # arrive while the first one runs (what a double click does).
            time.sleep(0.3)
            (count,) = db.execute("SELECT count(*) FROM orders").fetchone()
        return ActionState.success("Ordered.", data={"orders": count})

    @action(bp, allow=allow.public, rate_limit="5/minute")
    def limited() -> ActionState:
        with _connect() as db:
            db.execute("INSERT INTO orders (item) VALUES ('limited')")
        return ActionState.success("Done.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app
