"""Bodies that cannot be read faithfully are refused before anyone picks a value."""

from __future__ import annotations

import io

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectMultipleField
from wtforms import StringField

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import all_actions
from flask_server_actions import allow
from flask_server_actions import render_page

from .conftest import csrf_token_from


class TagForm(FlaskForm):
    title = StringField("Title")
    tags = SelectMultipleField("Tags", choices=["a", "b", "c"], validate_choice=True)
    upload = FileField("File")


@pytest.fixture
def saved():
    return []


@pytest.fixture
def app(app, saved):
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("tags.html")

    @action(bp, page=index, form=TagForm, allow=allow.public)
    def add_note(form):
        upload = form.upload.data
        saved.append(
            (form.title.data, form.tags.data, upload.read() if upload else None)
        )
        return ActionState.success("Saved.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def token(client):
    return csrf_token_from(client.get("/notes").text)


def raw(client, body: bytes, content_type: str):
    return client.post(
        "/actions/add-note",
        data=body,
        content_type=content_type,
        headers={"HX-Request": "true"},
    )


def multipart(token: str, title: bytes, tail: bytes = b"--b--\r\n") -> bytes:
    return (
        b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
        + title
        + b"\r\n"
        + tail
    )


def test_all_actions_lists_the_registry(app):
    with app.app_context():
        assert [a.endpoint for a in all_actions()] == ["notes.add_note"]


def test_invalid_utf8_in_a_urlencoded_field_is_400_with_a_sentence(
    client, token, saved
):
    body = f"csrf_token={token}&title=ab%FF%FEcd".encode()
    response = raw(client, body, "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not valid text (UTF-8)" in response.text
    assert saved == []


def test_invalid_utf8_in_a_multipart_field_is_400(client, token, saved):
    body = multipart(token, b"\xed\xa0\x80 a lone surrogate")
    response = raw(client, body, "multipart/form-data; boundary=b")
    assert response.status_code == 400
    assert "not valid text (UTF-8)" in response.text
    assert saved == []


def test_valid_unicode_and_binary_files_are_accepted(client, token, saved):
    data = {
        "csrf_token": token,
        "title": "caf\u00e9 \ufffd \U0001f600",
        "upload": (io.BytesIO(b"\xff\xfe\x00binary"), "blob.bin"),
    }
    response = client.post(
        "/actions/add-note", data=data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert saved == [("caf\u00e9 \ufffd \U0001f600", [], b"\xff\xfe\x00binary")]


@pytest.mark.parametrize(
    ("tail", "content_type"),
    [
        (b"--b", "multipart/form-data; boundary=b"),  # cut off before the end
        (b"--b--\r\n", "multipart/form-data; boundary=other"),
        (b"--b--\r\n", "multipart/form-data"),
    ],
)
def test_malformed_multipart_is_400_with_a_sentence(
    client, token, saved, tail, content_type
):
    response = raw(client, multipart(token, b"Title", tail), content_type)
    assert response.status_code == 400
    assert "could not be read" in response.text
    assert saved == []


def test_repeated_field_is_422_on_the_field_and_nothing_runs(client, token, saved):
    body = f"csrf_token={token}&title=first&title=second".encode()
    response = raw(client, body, "application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert "This field was sent more than once; send it once." in response.text
    assert saved == []


def test_multi_valued_fields_may_repeat(client, token, saved):
    body = f"csrf_token={token}&title=t&tags=a&tags=c".encode()
    response = raw(client, body, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert saved == [("t", ["a", "c"], None)]


@pytest.mark.parametrize("name", ["csrf_token", "_sa_page", "_sa_form", "_sa_bound"])
def test_repeated_control_field_is_400(client, token, saved, name):
    body = f"csrf_token={token}&title=t&{name}=x&{name}=y".encode()
    if name == "csrf_token":
        body = f"csrf_token={token}&csrf_token={token}&title=t".encode()
    response = raw(client, body, "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "hidden field repeated" in response.text
    assert saved == []
