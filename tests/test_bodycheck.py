"""Bodies that cannot be read faithfully are refused before anyone picks a value."""

from __future__ import annotations

import gc
import io
import warnings
from urllib.parse import unquote_to_bytes

import hypothesis
import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import FieldList
from wtforms import Form
from wtforms import FormField
from wtforms import SelectMultipleField
from wtforms import StringField

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import all_actions
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions.bodycheck import percent_decoded

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


class LineForm(Form):
    quantity = StringField("Quantity")


class LinesForm(FlaskForm):
    lines = FieldList(FormField(LineForm))


@pytest.fixture
def lines_app(app, saved):
    bp = Blueprint("orders", __name__)

    @bp.get("/orders")
    def index():
        return render_page("tags.html")

    @action(bp, page=index, form=LinesForm, allow=allow.public)
    def update_lines(form):
        saved.append([entry.quantity.data for entry in form.lines])
        return ActionState.success("Saved.")

    app.register_blueprint(bp)
    return app


def test_an_input_of_a_line_sent_twice_is_422_on_that_input(
    lines_app, client, token, saved
):
    body = (
        f"csrf_token={token}&lines-0-quantity=1&lines-1-quantity=2&lines-1-quantity=50"
    ).encode()
    response = client.post(
        "/actions/update-lines",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 422
    assert response.json["errors"] == {
        "lines-1-quantity": ["This field was sent more than once; send it once."]
    }
    assert saved == []


def test_a_file_sent_twice_for_one_file_input_is_422(client, token, saved):
    data = MultiDict(
        [
            ("csrf_token", token),
            ("title", "t"),
            ("upload", (io.BytesIO(b"first"), "a.bin")),
            ("upload", (io.BytesIO(b"second"), "b.bin")),
        ]
    )
    response = client.post(
        "/actions/add-note", data=data, headers={"Accept": "application/json"}
    )
    assert response.status_code == 422
    assert response.json["errors"] == {
        "upload": ["This field was sent more than once; send it once."]
    }
    assert saved == []


def _file_part(size: int) -> bytes:
    return (
        b'--b\r\nContent-Disposition: form-data; name="upload"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + b"z" * size + b"\r\n"
    )


@pytest.mark.parametrize(
    ("tail", "status"),
    [
        (b"--b", 400),  # cut off inside the last part
        # A text part larger than the form's memory limit, after the file.
        (
            b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
            + b"x" * (600 * 1024)
            + b"\r\n--b--\r\n",
            413,
        ),
    ],
)
def test_a_refused_multipart_body_leaves_no_file_open(
    client, token, saved, tail, status
):
    body = (
        b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b"\r\n"
        + _file_part(1000)
        + tail
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for mode in ({"HX-Request": "true"}, {}):
            response = client.post(
                "/actions/add-note",
                data=body,
                content_type="multipart/form-data; boundary=b",
                headers=mode,
            )
            assert response.status_code == status
            del response
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
    assert saved == []


_PIECES = [
    b"%", b"=", b"&", b"+", b"\n", b"\r", b"a", b"Z", b"0", b"8", b"C", b"c", b"F",
    b"\xc3", b"\xa9", b"\x80", b"\xff", b"%C3", b"%A9", b"%c3%a9", b"%E2%82%AC",
    b"%80", b"%ff", b"%%", b"%\n", b"=\n", b"==", b"_", b"%00", b"\x00", b" ",
]  # fmt: skip


@hypothesis.settings(max_examples=3000, deadline=None, database=None)
@hypothesis.given(st.lists(st.sampled_from(_PIECES), max_size=16).map(b"".join))
def test_the_fast_utf8_check_agrees_with_percent_decoding(body):
    """``percent_decoded`` is UTF-8 exactly when urllib's decoding of the body is."""

    def is_utf8(data: bytes) -> bool:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    expected = is_utf8(unquote_to_bytes(body.replace(b"+", b" ")))
    assert is_utf8(percent_decoded(body)) == expected
