"""Bodies, headers, redirects and keys that used to be a 500 or a silent loss (#13)."""

from __future__ import annotations

import io
import json

import pytest
from flask import Blueprint
from flask import session
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms import StringField
from wtforms.validators import InputRequired

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import redirect_to
from flask_server_actions import render_page
from flask_server_actions.testing import ActionClient

from .conftest import csrf_token_from

JSON = {"Accept": "application/json"}


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])
    copies = IntegerField("Copies", default=1)


@pytest.fixture
def written():
    return []


@pytest.fixture
def app(app, written):
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("hardening.html", notes=lambda: list(written))

    @action(bp, page=index, form=NoteForm, allow=allow.public, name="add_note")
    def add_note(form):
        written.append(form.title.data)
        return ActionState.success("Saved.")

    @action(bp, page=index, allow=allow.public)
    def away():
        return redirect_to("/notes/€uro?q=ü")

    @bp.get("/cart/add/<item>")
    def add_to_cart(item):
        session["cart"] = [*session.get("cart", []), item]
        return "ok"

    @bp.get("/cart")
    def cart():
        return render_page("visitor.html")

    ServerActions(app)
    app.register_blueprint(bp)
    app.test_client_class = ActionClient
    return app


@pytest.fixture
def token(client):
    return csrf_token_from(client.get("/notes").text)


def chunked_post(app, token, body: bytes, cookie: str):
    """A body without Content-Length, as a chunked upload reaches the app."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/actions/add-note",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_ACCEPT": "application/json",
        "HTTP_COOKIE": cookie,
    }
    from werkzeug.test import run_wsgi_app

    app_iter, status, _ = run_wsgi_app(app.wsgi_app, environ)
    return int(status.split()[0]), b"".join(app_iter)


@pytest.mark.app_config(SERVER_ACTIONS_MAX_BODY="1 KB")
def test_a_chunked_body_over_the_limit_is_refused_not_cut(app, client, token, written):
    cookie = f"session={client.get_cookie('session').value}"
    small = f"csrf_token={token}&title=short".encode()
    assert chunked_post(app, token, small, cookie)[0] == 200
    big = f"csrf_token={token}&title={'x' * 2000}".encode()
    status, body = chunked_post(app, token, big, cookie)
    assert status == 413
    assert "larger than this form accepts (1 KB)" in json.loads(body)["message"]
    assert written == ["short"]


def json_post(client, token, payload: str):
    return client.post(
        "/actions/add-note",
        data=payload,
        content_type="application/json",
        headers={**JSON, "X-CSRFToken": token},
    )


def test_a_json_body_saves_like_a_form(client, token, written):
    response = json_post(client, token, '{"title": "From JSON", "copies": 3}')
    assert response.status_code == 200
    assert written == ["From JSON"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ('{"title": {"nested": 1}}', "title", "This field must be text."),
        ('{"title": "one", "title": "two"}', "title", "sent more than once"),
    ],
    ids=["object", "repeated"],
)
def test_a_json_body_with_a_bad_value_is_422_beside_the_field(
    client, token, written, payload, field, message
):
    response = json_post(client, token, payload)
    assert response.status_code == 422
    assert message in response.get_json()["errors"][field][0]
    assert written == []


@pytest.mark.parametrize("payload", ['["a list"]', '{"title": ', b'{"t": "\xff"}'])
def test_a_json_body_that_is_not_an_object_is_400(client, token, written, payload):
    response = json_post(client, token, payload)
    assert response.status_code == 400
    assert written == []


@pytest.mark.parametrize("mode", ["htmx", "plain", "json"])
def test_a_nul_character_is_a_field_error(client, written, mode):
    result = client.submit("notes.add_note", title="bad\x00text", mode=mode)
    assert result.status == 422
    assert "cannot be saved (a NUL)" in result.errors["title"][0]
    assert written == []


@pytest.mark.parametrize("mode", ["htmx", "plain"])
def test_a_redirect_to_a_non_ascii_path_is_encoded_for_its_header(client, mode):
    result = client.submit("notes.away", mode=mode)
    assert result.redirect == "/notes/%E2%82%ACuro?q=%C3%BC"


def test_a_form_signed_before_a_key_rotation_is_accepted(app, client, written):
    token = csrf_token_from(client.get("/notes").text)
    # The key rotates: the old one stays a fallback, as Flask's docs say.
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "the new secret key"
    response = client.post(
        "/actions/add-note",
        data={"csrf_token": token, "title": "Old form"},
        headers=JSON,
    )
    assert response.status_code == 200
    assert written == ["Old form"]
    app.config["SECRET_KEY_FALLBACKS"] = []
    again = client.post(
        "/actions/add-note", data={"csrf_token": token, "title": "x"}, headers=JSON
    )
    assert again.status_code == 400


def test_an_http_origin_is_refused_on_an_https_site(client, written):
    token = csrf_token_from(client.get("/notes", base_url="https://localhost").text)
    response = client.post(
        "/actions/add-note",
        data={"csrf_token": token, "title": "Downgraded"},
        headers={**JSON, "Origin": "http://localhost", "Referer": "https://localhost/"},
        base_url="https://localhost",
    )
    assert response.status_code == 403
    assert written == []


def test_the_same_https_origin_is_accepted(client, written):
    token = csrf_token_from(client.get("/notes", base_url="https://localhost").text)
    response = client.post(
        "/actions/add-note",
        data={"csrf_token": token, "title": "Secure"},
        headers={
            **JSON,
            "Origin": "https://localhost",
            "Referer": "https://localhost/notes",
        },
        base_url="https://localhost",
    )
    assert response.status_code == 200
    assert written == ["Secure"]


def test_a_cached_region_is_kept_per_session_for_anonymous_visitors(app):
    """With the default vary, a visitor's cart is never served to another."""
    ann, bob, nobody = app.test_client(), app.test_client(), app.test_client()
    ann.get("/cart/add/kettle")
    assert "Cart: kettle" in ann.get("/cart").text
    bob.get("/cart/add/lamp")
    assert "Cart: lamp" in bob.get("/cart").text
    assert "kettle" not in bob.get("/cart").text
    assert "Cart: empty" in nobody.get("/cart").text
    # The cache still serves each visitor their own entry.
    ann.get("/cart/add/towel")  # the session changes, the cached region does not
    assert "Cart: kettle" in ann.get("/cart").text
