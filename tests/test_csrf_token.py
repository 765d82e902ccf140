"""The forms' signed CSRF token: signed once per session for a short while, never shared."""

from __future__ import annotations

import types

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from itsdangerous import URLSafeTimedSerializer
from wtforms import StringField
from wtforms.validators import InputRequired

import flask_server_actions.csrf as csrf_module
from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page

from .conftest import csrf_token_from

HTMX = {"HX-Request": "true"}


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])
    body = StringField("Body")


@pytest.fixture
def app(app):
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("notes.html", notes=lambda: [])

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def add_note(form):
        return ActionState.success("Note added.")

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def rename(form):
        return ActionState.success("Renamed.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def clock(monkeypatch):
    """The reuse window's clock, moved by hand; and every CSRF token signed, by
    anyone (the layout's ``csrf_headers()`` and the outbox owner included)."""
    now = [1000.0]
    signed: list[str] = []
    real_dumps = URLSafeTimedSerializer.dumps

    def dumps(self, obj, salt=None):
        token = real_dumps(self, obj, salt)
        if self.salt == b"wtf-csrf-token":
            signed.append(token)
        return token

    monkeypatch.setattr(
        csrf_module, "time", types.SimpleNamespace(monotonic=lambda: now[0])
    )
    monkeypatch.setattr(URLSafeTimedSerializer, "dumps", dumps)
    return types.SimpleNamespace(now=now, signed=signed)


def add(client, token):
    return client.post(
        "/actions/add-note",
        data={"csrf_token": token, "_sa_page": "/notes", "title": "Hello"},
        headers=HTMX,
    )


def test_a_session_s_pages_share_one_signed_token_that_flask_wtf_accepts(client, clock):
    page = client.get("/notes").text
    first = csrf_token_from(page)
    assert "hx-headers:inherited" in page  # the layout's csrf_headers() too
    clock.now[0] += 30
    second = csrf_token_from(client.get("/notes").text)
    assert second == first
    assert len(clock.signed) == 1
    answer = add(client, second)
    assert answer.status_code == 200
    assert "Note added." in answer.text
    # The answer's fresh form carries the same token, without signing again.
    assert csrf_token_from(answer.text) == first
    assert len(clock.signed) == 1


def test_after_the_reuse_window_the_token_is_signed_again(client, clock):
    client.get("/notes")
    clock.now[0] += csrf_module.REUSE_SECONDS + 1
    client.get("/notes")
    assert len(clock.signed) == 2


@pytest.mark.app_config(WTF_CSRF_TIME_LIMIT=600)
def test_a_short_time_limit_shortens_the_reuse_to_a_hundredth(client, clock):
    client.get("/notes")
    clock.now[0] += 5
    client.get("/notes")
    assert len(clock.signed) == 1
    clock.now[0] += 2  # 7 s: past 1 % of 600 s
    client.get("/notes")
    assert len(clock.signed) == 2


def test_two_sessions_never_get_each_other_s_token(app, clock):
    ada, grace = app.test_client(), app.test_client()
    ada_token = csrf_token_from(ada.get("/notes").text)
    grace_token = csrf_token_from(grace.get("/notes").text)
    assert ada_token != grace_token
    # Each token belongs to its own session: the other one's is refused.
    assert add(grace, ada_token).status_code == 400
    assert add(grace, grace_token).status_code == 200


def test_a_new_secret_key_signs_anew(app, client, clock):
    old = csrf_token_from(client.get("/notes").text)
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "rotated secret"
    new = csrf_token_from(client.get("/notes").text)
    assert new != old
    assert len(clock.signed) == 2
    assert add(client, new).status_code == 200
