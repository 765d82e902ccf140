"""A tiny app that two real server processes run in ``test_cache_coherence.py``.

The backend comes from environment variables, so both processes share it.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint
from flask import Flask

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

HERE = Path(__file__).parent


def create_app() -> Flask:
    app = Flask(__name__, template_folder=str(HERE / "templates"))
    app.config.update(
        SECRET_KEY="coherence test",
        # Only this test app: the test posts without a form token.
        WTF_CSRF_ENABLED=False,
        SERVER_ACTIONS_CACHE=os.environ["SA_TEST_CACHE"],
        SERVER_ACTIONS_CACHE_DIR=os.environ.get("SA_TEST_CACHE_DIR"),
        SERVER_ACTIONS_REDIS_URL=os.environ.get("SA_TEST_REDIS_URL"),
        SERVER_ACTIONS_CACHE_PREFIX=os.environ.get("SA_TEST_PREFIX", "sa:"),
        SERVER_ACTIONS_LEDGER_PATH=os.environ.get("SA_TEST_LEDGER"),
    )
    counter = Path(os.environ["SA_TEST_COUNTER"])
    bp = Blueprint("coherence", __name__)

    def count() -> int:
        return int(counter.read_text()) if counter.exists() else 0

    @bp.get("/")
    def index() -> str:
        return render_page("coherence.html", count=count)

    @action(bp, page=index, allow=allow.public)
    def bump() -> ActionState:
        counter.write_text(str(count() + 1))
        revalidate_tag("counter")
        return ActionState.success()

    ServerActions(app)
    app.register_blueprint(bp)
    return app
