from __future__ import annotations

import logging
import re

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import InputRequired

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import error_template
from flask_server_actions import render_page

from .conftest import csrf_token_from

HTMX = {"HX-Request": "true", "HX-Target": "notes-add-note"}


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])
    body = StringField("Body")
    secret = PasswordField("Secret")


@pytest.fixture
def calls():
    return []


def make_notes(name: str, calls: list[str], template: str | None = None) -> Blueprint:
    bp = Blueprint(name, __name__)

    @bp.get(f"/{name}")
    def index():
        return render_page(template or f"boundary_{name}.html")

    @action(bp, page=index, form=NoteForm, allow=allow.public, name="add_note")
    def add_note(form):
        calls.append(form.title.data)
        if form.title.data == "boom":
            raise RuntimeError("database password is hunter2")
        return ActionState.success("Note added.")

    @action(bp, page=index, form=NoteForm, allow=allow.public, name="rename")
    def rename(form):
        raise RuntimeError("rename exploded")

    return bp


@pytest.fixture
def app(app, calls):
    ServerActions(app)
    app.register_blueprint(make_notes("notes", calls))
    return app


@pytest.fixture
def token(client):
    return csrf_token_from(client.get("/notes").text)


def post(client, token, headers=None, url="/actions/add-note", **data):
    data.setdefault("_sa_page", "/notes")
    return client.post(url, data={"csrf_token": token, **data}, headers=headers or {})


def logged_error_id(caplog) -> str:
    record = caplog.records[-1]
    assert record.exc_info is not None
    return str(record.args[1])


def test_htmx_failure_replaces_form_with_boundary(client, token, caplog):
    with caplog.at_level(logging.ERROR, logger="flask_server_actions"):
        response = post(client, token, HTMX, title="boom", body="kept body")
    assert response.status_code == 500
    html = response.text
    assert html.startswith('<div id="notes-add-note" class="sa-boundary"')
    assert '<form id="notes-add-note"' not in html
    error_id = logged_error_id(caplog)
    assert f"<code>{error_id}</code>" in html
    assert f'data-sa-error-id="{error_id}"' in html
    assert "hunter2" not in html
    assert "RuntimeError" not in html
    assert ">Try again<" in html


def test_try_again_carries_the_input_but_never_passwords(client, token):
    html = post(client, token, HTMX, title="boom", body="kept body", secret="pw").text
    retry = re.search(r'<form class="sa-retry".*?</form>', html, re.S)
    assert retry is not None
    form = retry.group(0)
    assert 'name="_sa_retry" value="1"' in form
    assert 'name="title" value="boom"' in form
    assert 'name="body" value="kept body"' in form
    assert 'name="secret"' not in form
    assert 'name="csrf_token"' in form
    assert 'hx-target="#notes-add-note"' in form


def test_plain_failure_is_an_error_page_with_the_boundary(client, token, caplog):
    with caplog.at_level(logging.ERROR, logger="flask_server_actions"):
        response = post(client, token, title="boom")
    assert response.status_code == 500
    html = response.text
    assert "<h1>Notes</h1>" in html
    assert f"<code>{logged_error_id(caplog)}</code>" in html
    assert '<div id="notes-add-note" class="sa-boundary"' in html
    assert "hunter2" not in html
    # The other form on the page is untouched.
    assert '<form id="notes-rename"' in html


def test_debug_mode_shows_the_real_message(app, client, token):
    app.debug = True
    html = post(client, token, HTMX, title="boom").text
    assert "RuntimeError: database password is hunter2" in html


def test_try_again_htmx_brings_the_form_back_without_running(client, token, calls):
    response = post(client, token, HTMX, title="boom", body="kept", _sa_retry="1")
    assert response.status_code == 200
    assert response.text.startswith('<form id="notes-add-note"')
    assert 'value="boom"' in response.text
    assert 'value="kept"' in response.text
    assert "sa-boundary" not in response.text
    assert calls == []


def test_try_again_plain_renders_the_page_with_the_input(client, token, calls):
    response = post(client, token, title="boom", body="kept", _sa_retry="1")
    assert response.status_code == 200
    assert "<h1>Notes</h1>" in response.text
    assert 'id="title" name="title" required type="text" value="boom"' in response.text
    assert calls == []


def test_try_again_needs_the_csrf_token(client, calls):
    response = client.post(
        "/actions/add-note", data={"title": "boom", "_sa_retry": "1"}, headers=HTMX
    )
    assert response.status_code == 400
    assert calls == []


def test_blueprint_error_template(app, client, calls):
    bp = make_notes("journal", calls)
    error_template(bp, "notes_error.html")
    app.register_blueprint(bp, url_prefix="/j")
    token = csrf_token_from(client.get("/notes").text)
    html = post(
        client,
        token,
        {"HX-Request": "true"},
        url="/j/actions/add-note",
        title="boom",
        _sa_page="/j/journal",
    ).text
    assert "The notes are resting" in html
    assert "for journal.add_note." in html
    assert ">Try again<" in html
    # Other blueprints keep the toolkit's template.
    assert "Something went wrong" in post(client, token, HTMX, title="boom").text


def test_nested_blueprint_uses_parents_template(app, client, calls):
    parent = Blueprint("outer", __name__, url_prefix="/outer")
    error_template(parent, "notes_error.html")
    # Inside its parent, the action's endpoint is "outer.journal.add_note".
    nested = make_notes("journal", calls, template="boundary_nested.html")
    parent.register_blueprint(nested, url_prefix="/inner")
    app.register_blueprint(parent)
    token = csrf_token_from(client.get("/notes").text)
    html = post(
        client,
        token,
        {"HX-Request": "true"},
        url="/outer/inner/actions/add-note",
        title="boom",
        _sa_page="/outer/inner/journal",
    ).text
    assert "The notes are resting" in html
    # Other blueprints keep the toolkit's template.
    assert "Something went wrong" in post(client, token, HTMX, title="boom").text


@pytest.mark.app_config(SERVER_ACTIONS_ERROR_TEMPLATE="notes_error.html")
def test_app_wide_error_template_from_config(app, client, token):
    assert "The notes are resting" in post(client, token, HTMX, title="boom").text


def test_json_caller_gets_masked_message_with_id(client, token):
    response = post(client, token, {"Accept": "application/json"}, title="boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["ok"] is False
    assert body["data"]["error_id"] in body["message"]
    assert "hunter2" not in response.text
