from __future__ import annotations

import io

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms import TextAreaField

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions.limits import format_size
from flask_server_actions.limits import parse_size

from .conftest import csrf_token_from


class NoteForm(FlaskForm):
    title = StringField("Title")
    body = TextAreaField("Body")


@pytest.fixture
def written():
    return []


@pytest.fixture
def app(app, written):
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("notes.html", notes=lambda: written)

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def add_note(form):
        written.append(form.title.data)
        return ActionState.success("Note added.")

    @action(bp, page=index, form=NoteForm, allow=allow.public, max_body="1 KB")
    def rename(form):
        written.append(form.title.data)
        return ActionState.success("Renamed.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def token(client):
    return csrf_token_from(client.get("/notes").text)


@pytest.mark.parametrize(
    ("given", "size"),
    [(512, 512), ("64 KB", 65536), ("1 MB", 1048576), ("2mb", 2097152), ("10", 10)],
)
def test_parse_size(given, size):
    assert parse_size(given) == size


@pytest.mark.parametrize("bad", ["lots", "-1 KB", "1 TB", -5])
def test_parse_size_rejects_nonsense(bad):
    with pytest.raises(ValueError, match="size"):
        parse_size(bad)


def test_format_size():
    assert format_size(1024 * 1024) == "1 MB"
    assert format_size(1500) == "1500 bytes"


def test_default_limit_is_64_kilobytes_for_a_form_of_text(client, token, written):
    big = "x" * (64 * 1024 + 10)
    response = client.post(
        "/actions/add-note",
        data={"csrf_token": token, "title": big, "_sa_page": "/notes"},
        headers={"HX-Request": "true", "HX-Target": "form#notes-add-note"},
    )
    assert response.status_code == 413
    assert "larger than this form accepts (64 KB)" in response.text
    # The input could not be read back, so htmx keeps the form and only the
    # status area is replaced.
    assert response.headers["HX-Retarget"] == "#notes-add-note-status"
    assert written == []


def test_per_action_limit(client, token, written):
    response = client.post(
        "/actions/rename",
        data={"csrf_token": token, "title": "y" * 2000, "_sa_page": "/notes"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413
    assert response.json["message"].startswith(
        "What you sent is larger than this form accepts (1 KB)"
    )
    assert written == []


def test_oversized_upload_plain_gets_page_with_message(client, token, written):
    response = client.post(
        "/actions/rename",
        data={
            "csrf_token": token,
            "title": "ok",
            "file": (io.BytesIO(b"z" * 4096), "big.bin"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert response.text.startswith("<!doctype html>")
    assert "larger than this form accepts (1 KB)" in response.text
    assert written == []


def test_under_the_limit_passes(client, token, written):
    response = client.post(
        "/actions/rename", data={"csrf_token": token, "title": "small"}
    )
    assert response.status_code == 303
    assert written == ["small"]


@pytest.mark.app_config(SERVER_ACTIONS_MAX_BODY="100 B")
def test_config_changes_the_default(app, client, token, written):
    response = client.post(
        "/actions/add-note", data={"csrf_token": token, "title": "z" * 200}
    )
    assert response.status_code == 413
    assert written == []


@pytest.mark.app_config(SERVER_ACTIONS_MAX_BODY="10 B")
def test_pages_keep_the_apps_own_limit(app, client):
    assert client.get("/notes").status_code == 200
