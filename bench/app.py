"""The benchmark's app: one action written with the toolkit, one by hand.

Both validate the same flask-wtf form with CSRF, store the note in memory and
answer htmx with the same form partial, so the difference is the toolkit's cost.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask import Flask
from flask import make_response
from flask import render_template
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import InputRequired
from wtforms.validators import Length

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page

NOTES: list[str] = []


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(min=2, max=50)])
    body = TextAreaField("Body", validators=[Length(max=500)])


def store(title: str) -> None:
    NOTES.append(title)
    del NOTES[:-100]


bp = Blueprint("bench", __name__)


@bp.get("/notes")
def page() -> str:
    return render_page("bench_page.html")


@action(bp, page=page, form=NoteForm, allow=allow.public, rule="/notes/add")
def add_note(form: NoteForm) -> ActionState:
    store(form.title.data)
    return ActionState.success("Note added.")


def create_app() -> Flask:
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.config["SECRET_KEY"] = "bench"
    ServerActions(app)
    app.register_blueprint(bp)

    @app.post("/hand/add")
    def hand_add_note() -> ResponseReturnValue:
        form = NoteForm()
        if form.validate_on_submit():
            store(form.title.data)
            form, ok, message, status = (
                NoteForm(formdata=None),
                True,
                "Note added.",
                200,
            )
        else:
            ok, message, status = False, "Please correct the errors below.", 422
        response = make_response(
            render_template("hand_form.html", form=form, ok=ok, message=message), status
        )
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("HX-Request")
        return response

    return app
