"""The CPU benchmark's to-do page written with the toolkit (public API only).

Twin of :mod:`bench.cpu_hand`: the same page, form, list and answers, so the
difference between the two is what the toolkit costs. Items are kept in memory
(a list in the process, trimmed to a fixed size) so no database is measured.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint
from flask import Flask

from bench._todo import StoredTodos
from bench._todo import TodoForm
from bench._todo import keep
from bench._todo import seed
from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

TODOS = seed()


bp = Blueprint("todos", __name__)


@bp.get("/todos")
def index() -> str:
    return render_page("cpu_toolkit.html", todos=TODOS, region_cache=None)


@bp.get("/todos/cached")
def cached_index() -> str:
    # The list comes from the database, read only when the region is rendered.
    return render_page("cpu_toolkit.html", todos=StoredTodos(), region_cache=300)


@action(bp, page=index, form=TodoForm, allow=allow.public, rule="/todos/add")
def add_todo(form: TodoForm) -> ActionState:
    keep(TODOS, form.text.data)
    revalidate_tag("todos")
    return ActionState.success("Added.")


def create_app() -> Flask:
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.config["SECRET_KEY"] = "bench-cpu"
    app.config["SERVER_ACTIONS_CACHE"] = os.environ.get("BENCH_CACHE", "memory")
    app.config["SERVER_ACTIONS_CACHE_DIR"] = os.environ.get("BENCH_CACHE_DIR")
    app.config["SERVER_ACTIONS_LEDGER"] = os.environ.get("BENCH_LEDGER", "auto")
    app.config["SERVER_ACTIONS_LEDGER_PATH"] = os.environ.get("BENCH_LEDGER_PATH")
    app.config["SERVER_ACTIONS_REDIS_URL"] = os.environ.get("BENCH_REDIS_URL")
    app.config["SERVER_ACTIONS_CACHE_PREFIX"] = os.environ.get("BENCH_PREFIX", "sa:")
    ServerActions(app)
    app.register_blueprint(bp)
    return app
