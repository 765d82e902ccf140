"""Who may call an action: refusals keep the input, and a caller never outlives its call.

Met as silent failures while writing docs/sqlalchemy.md and docs/signing-in.md (#14).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Blueprint
from flask_login import LoginManager
from flask_login import UserMixin
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import InputRequired

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import get_action
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions.testing import ActionClient


@dataclass
class User(UserMixin):
    id: int
    role: str


ADMIN, MEMBER = User(1, "admin"), User(2, "member")


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])
    body = TextAreaField("Body")


@pytest.fixture
def app(app):
    notes: list[str] = []
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("notes.html", notes=lazy(lambda: list(notes)))

    @action(bp, page=index, form=NoteForm, allow=allow.signed_in)
    def add_note(form: NoteForm) -> ActionState:
        notes.append(form.title.data)
        return ActionState.success("Added.")

    @action(bp, page=index, form=NoteForm, allow=allow.role("admin"))
    def rename(form: NoteForm) -> ActionState:
        return ActionState.success("Renamed.")

    login = LoginManager(app)
    login.user_loader(lambda user_id: {1: ADMIN, 2: MEMBER}.get(int(user_id)))
    ServerActions(app)
    app.register_blueprint(bp)
    app.test_client_class = ActionClient
    return app


def test_call_as_a_user_does_not_leak_into_the_next_call(app):
    with app.app_context():
        rename = get_action("notes.rename")
        assert rename.call(title="As admin", user=ADMIN).ok
        state = rename.call(title="Nobody signed in")
    assert state.status == 401


@pytest.mark.parametrize(
    ("user", "endpoint", "status"),
    [(None, "notes.add_note", 401), (MEMBER, "notes.rename", 403)],
    ids=["401", "403"],
)
def test_a_refused_form_keeps_the_input(app, user, endpoint, status):
    client = app.test_client(user=user)
    result = client.submit(endpoint, title="Typed with care")
    assert result.status == status
    assert result.values == {"title": "Typed with care"}
    assert 'value="Typed with care"' in result.fragment


def test_act_as_switches_the_user_inside_a_held_app_context(app):
    client = app.test_client()
    with app.app_context():
        client.act_as(MEMBER)
        assert client.submit("notes.rename", title="Not mine").status == 403
        client.act_as(ADMIN)
        assert client.submit("notes.rename", title="Mine").ok
