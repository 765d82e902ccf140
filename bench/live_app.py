"""The live benchmark's app: a board whose note list is a live region.

Configured from the environment by ``bench/live.py``: ``REDIS_URL`` (the cache,
and so the live events, in Redis), ``LIVE_PER_PROCESS``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Blueprint
from flask import Flask
from flask import Response
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

NOTES: list[str] = []
bp = Blueprint("live_bench", __name__)


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])


@bp.get("/board")
def board() -> str:
    return render_page(
        "live_board.html", notes=lazy(lambda: list(NOTES[-20:])), other=len(NOTES)
    )


@action(bp, page=board, form=NoteForm, allow=allow.public, rule="/board/add")
def add_note(form: NoteForm) -> ActionState:
    NOTES.append(form.title.data)
    revalidate_tag("notes")
    return ActionState.success("Added.")


@bp.after_app_request
def committed_at(response: Response) -> Response:
    # The action's transaction (and its events) ended before the answer: the
    # benchmark measures from here to the other browser's refreshed region.
    response.headers["X-Answered-At"] = repr(time.time())
    return response


def create_app() -> Flask:
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.config.update(
        SECRET_KEY="bench",
        WTF_CSRF_ENABLED=False,
        SERVER_ACTIONS_CACHE="redis" if os.environ.get("REDIS_URL") else "memory",
        SERVER_ACTIONS_REDIS_URL=os.environ.get("REDIS_URL"),
        SERVER_ACTIONS_CACHE_PREFIX=os.environ.get("CACHE_PREFIX", "sa-bench-live:"),
        SERVER_ACTIONS_LIVE_PER_PROCESS=int(os.environ.get("LIVE_PER_PROCESS", "100")),
        SERVER_ACTIONS_LIVE_PER_USER=0,
    )
    ServerActions(app)
    app.register_blueprint(bp)
    return app
