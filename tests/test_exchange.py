"""Per-request state lives with the request: contexts held open and threads share nothing."""

from __future__ import annotations

import threading

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import current_htmx
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import response_mode
from flask_server_actions import revalidate_tag
from flask_server_actions.testing import ActionClient

from .conftest import csrf_token_from


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])


@pytest.fixture
def notes():
    return []


@pytest.fixture
def app(app, notes):
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("exchange.html", notes=lazy(lambda: list(notes)))

    @bp.get("/mode")
    def mode():
        return {"mode": response_mode(), "htmx": bool(current_htmx)}

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def add_note(form):
        notes.append(form.title.data)
        revalidate_tag("notes")
        return ActionState.success("Added.")

    ServerActions(app)
    app.register_blueprint(bp)
    app.test_client_class = ActionClient
    return app


def test_each_request_in_a_held_app_context_gets_its_own_mode(app, notes):
    client = app.test_client()
    # The usual Flask-SQLAlchemy fixture: one app context for the whole test.
    with app.app_context():
        assert client.get("/notes").status_code == 200
        htmx = client.submit("notes.add_note", title="one")
        assert htmx.status == 200
        assert "note-list" in htmx.regions  # the fragment, with its regions
        plain = client.submit("notes.add_note", title="two", mode="plain")
        assert plain.status == 303
        as_json = client.submit("notes.add_note", title="three", mode="json")
        assert as_json.json["ok"] is True
        assert client.get("/mode").json == {"mode": "plain", "htmx": False}
        headers = {"HX-Request": "true"}
        assert client.get("/mode", headers=headers).json == {
            "mode": "htmx",
            "htmx": True,
        }
    assert notes == ["one", "two", "three"]


def test_invalid_posts_in_a_held_app_context_keep_their_own_mode(app):
    client = app.test_client()
    with app.app_context():
        htmx = client.submit("notes.add_note", title="")
        plain = client.submit("notes.add_note", title="", mode="plain")
        as_json = client.submit("notes.add_note", title="", mode="json")
    assert (htmx.status, plain.status, as_json.status) == (422, 422, 422)
    assert htmx.text.startswith("<form")
    assert plain.text.startswith("<!doctype html>")
    assert as_json.json["errors"]["title"]


def test_two_threads_answer_each_in_its_own_mode(app, notes):
    """gunicorn's gthread workers serve several requests of one process at once."""
    barrier = threading.Barrier(2)
    answers: dict[str, tuple[int, str]] = {}

    def post(name: str, headers: dict[str, str]) -> None:
        client = app.test_client()
        token = csrf_token_from(client.get("/notes").text)
        barrier.wait()
        for i in range(20):
            response = client.post(
                "/actions/add-note",
                data={"csrf_token": token, "title": f"{name}{i}", "_sa_page": "/notes"},
                headers=headers,
            )
            answers[f"{name}{i}"] = (
                response.status_code,
                response.get_data(as_text=True)[:5],
            )

    with app.app_context():
        threads = [
            threading.Thread(
                target=post,
                args=(
                    "htmx",
                    {"HX-Request": "true", "HX-Target": "form#notes-add-note"},
                ),
            ),
            threading.Thread(target=post, args=("plain", {})),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert {answers[f"htmx{i}"] for i in range(20)} == {(200, "<form")}
    assert {answers[f"plain{i}"][0] for i in range(20)} == {303}
    assert len(notes) == 40


def test_the_request_object_is_not_in_g(app):
    client = app.test_client()
    with app.app_context() as ctx:
        client.get("/notes")
        client.submit("notes.add_note", title="one")
        assert not [name for name in vars(ctx.g) if name.startswith("_server_actions")]
