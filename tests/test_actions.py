from __future__ import annotations

import logging

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import InputRequired
from wtforms.validators import Length

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import redirect_to
from flask_server_actions import render_page

from .conftest import csrf_token_from

HTMX = {"HX-Request": "true", "HX-Target": "form#notes-add-note"}
JSON = {"Accept": "application/json"}


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(min=2, max=50)])
    body = TextAreaField("Body", validators=[Length(max=500)])


class TitleForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])


class Journal:
    """What the tiny blueprint wrote, and the transactions it ran in."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.pending: list[str] = []
        self.commits = 0
        self.rollbacks = 0

    def transaction(self):
        import contextlib

        @contextlib.contextmanager
        def tx():
            self.pending = []
            try:
                yield
            except BaseException:
                self.rollbacks += 1
                self.pending = []
                raise
            self.notes.extend(self.pending)
            self.commits += 1

        return tx()


@pytest.fixture
def journal():
    return Journal()


@pytest.fixture
def app(app, journal):
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("notes.html", notes=lazy(lambda: list(journal.notes)))

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def add_note(form):
        if form.title.data == "boom":
            journal.pending.append("half-written")
            raise RuntimeError("database exploded")
        if form.title.data == "taken":
            journal.pending.append("half-written")
            raise ActionError("That title is taken.", status=409)
        if form.title.data == "go away":
            return redirect_to("notes.index", message="Moved.")
        journal.pending.append(form.title.data)
        return ActionState.success(
            "Note added.", data={"count": len(journal.notes) + 1}
        )

    @action(bp, page=index, form=TitleForm, allow=allow.public, reset=False)
    def rename(form):
        return ActionState.success("Renamed.")

    ServerActions(app, transaction=journal.transaction)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def token(client):
    return csrf_token_from(client.get("/notes").text)


def post(client, token, headers=None, **data):
    data.setdefault("_sa_page", "/notes")
    return client.post(
        "/actions/add-note", data={"csrf_token": token, **data}, headers=headers or {}
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_not_allowed(client, method):
    response = client.open("/actions/add-note", method=method)
    assert response.status_code == 405


def test_htmx_valid_returns_fresh_form_with_message(client, token, journal):
    response = post(client, token, HTMX, title="Hello", body="World")
    assert response.status_code == 200
    assert response.text.startswith('<form id="notes-add-note"')
    assert "Note added." in response.text
    assert 'value="Hello"' not in response.text  # the form was reset
    assert "<html" not in response.text
    assert journal.notes == ["Hello"]


def test_action_responses_are_never_cached(client, token):
    response = post(client, token, HTMX, title="Hello")
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_invalid_answers_422_with_errors_and_values(client, token, journal):
    response = post(client, token, HTMX, title="A", body="kept body")
    assert response.status_code == 422
    assert 'value="A"' in response.text
    assert "kept body" in response.text
    assert 'aria-invalid="true"' in response.text
    assert "Field must be between 2 and 50 characters long." in response.text
    assert journal.notes == []


def test_htmx_invalid_focuses_first_invalid_field(client, token):
    response = post(client, token, HTMX, title="")
    assert 'autofocus id="title"' in response.text


def test_plain_valid_redirects_303_and_shows_state_once(client, token, journal):
    response = post(client, token, title="Hello")
    assert response.status_code == 303
    assert response.location == "/notes"
    page = client.get("/notes").text
    assert "Note added." in page
    assert "<li>Hello</li>" in page
    assert "Note added." not in client.get("/notes").text


def test_plain_redirect_keeps_query_of_page(client, token):
    response = post(client, token, title="Hello", _sa_page="/notes?sort=new")
    assert response.location == "/notes?sort=new"


@pytest.mark.parametrize("page", ["https://evil.example/", "//evil.example/x", "notes"])
def test_plain_redirect_never_leaves_the_site(client, token, page):
    response = post(client, token, title="Hello", _sa_page=page)
    assert response.location == "/notes"


def test_plain_invalid_renders_whole_page_422(client, token, journal):
    response = post(client, token, title="A", body="kept body")
    assert response.status_code == 422
    assert response.text.startswith("<!doctype html>")
    assert 'value="A"' in response.text
    assert "kept body" in response.text
    assert "Please correct the errors below." in response.text
    assert journal.notes == []


def test_plain_invalid_leaves_other_forms_empty(client, token):
    response = post(client, token, title="A")
    rename_form = response.text.split('id="notes-rename"', 1)[1]
    assert 'value="A"' not in rename_form


def test_json_valid(client, token):
    response = post(client, token, JSON, title="Hello")
    assert response.status_code == 200
    assert response.json == {"ok": True, "message": "Note added.", "data": {"count": 1}}


def test_json_invalid(client, token):
    response = post(client, token, JSON, title="A")
    assert response.status_code == 422
    assert response.json["ok"] is False
    assert response.json["errors"] == {
        "title": ["Field must be between 2 and 50 characters long."]
    }
    assert response.json["values"] == {"title": "A"}


def test_redirect_htmx_uses_hx_location(client, token):
    response = post(client, token, HTMX, title="go away")
    assert response.status_code == 200
    assert response.headers["HX-Location"] == "/notes"


def test_redirect_plain_is_303_with_flash(client, token):
    response = post(client, token, title="go away")
    assert response.status_code == 303
    assert response.location == "/notes"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("success", "Moved.")]


def test_redirect_json_names_target(client, token):
    response = post(client, token, JSON, title="go away")
    assert response.json["redirect"] == "/notes"


def test_reset_false_keeps_values_after_success(client, token):
    response = client.post(
        "/actions/rename",
        data={"csrf_token": token, "title": "Kept", "_sa_page": "/notes"},
        headers={"HX-Request": "true", "HX-Target": "form#notes-rename"},
    )
    assert response.status_code == 200
    assert 'value="Kept"' in response.text
    assert "Renamed." in response.text


def test_action_error_is_shown_and_rolled_back(client, token, journal):
    response = post(client, token, HTMX, title="taken")
    assert response.status_code == 409
    assert "That title is taken." in response.text
    assert 'value="taken"' in response.text
    assert journal.notes == []
    assert journal.rollbacks == 1


def test_unexpected_error_is_masked_logged_and_rolled_back(
    client, token, journal, caplog
):
    with caplog.at_level(logging.ERROR, logger="flask_server_actions"):
        response = post(client, token, HTMX, title="boom")
    assert response.status_code == 500
    assert "database exploded" not in response.text
    assert "Error id" in response.text
    assert 'value="boom"' in response.text
    assert journal.notes == []
    assert journal.rollbacks == 1
    record = caplog.records[-1]
    assert record.exc_info is not None
    error_id = record.args[1]
    assert error_id in response.text


def test_unexpected_error_shows_real_message_in_debug(app, client, token):
    app.debug = True
    response = post(client, token, HTMX, title="boom")
    assert "RuntimeError: database exploded" in response.text


def test_missing_csrf_token_refused_nothing_written(client, journal):
    client.get("/notes")
    response = client.post(
        "/actions/add-note", data={"title": "Hello", "_sa_page": "/notes"}
    )
    assert response.status_code == 400
    assert "This form had expired" in response.text
    assert 'value="Hello"' in response.text  # the page came back with the input
    assert journal.notes == []


def test_csrf_failure_for_htmx_lands_in_the_form(client, journal):
    client.get("/notes")
    response = client.post("/actions/add-note", data={"title": "Hello"}, headers=HTMX)
    assert response.status_code == 400
    assert response.text.startswith('<form id="notes-add-note"')
    assert 'value="Hello"' in response.text
    assert journal.notes == []


def test_csrf_token_in_header_is_accepted(client, token, journal):
    response = client.post(
        "/actions/add-note",
        data={"title": "Hello"},
        headers={**HTMX, "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert journal.notes == ["Hello"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_post_refused(client, token, journal, headers):
    response = post(client, token, headers, title="Hello")
    assert response.status_code == 403
    assert "sent from another site" in response.text
    assert journal.notes == []


def test_same_origin_post_accepted(client, token, journal):
    headers = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert post(client, token, headers, title="Hello").status_code == 303
    assert journal.notes == ["Hello"]


@pytest.mark.app_config(SERVER_ACTIONS_ALLOWED_ORIGINS=["https://partner.example"])
def test_allowed_origin_from_config(app, client, token, journal):
    headers = {"Origin": "https://partner.example", "Sec-Fetch-Site": "cross-site"}
    assert post(client, token, headers, title="Hello").status_code == 303


def test_call_directly_valid(app):
    with app.app_context():
        state = app.view_functions["notes.add_note"].server_action.call(title="Hello")
    assert state.ok
    assert state.message == "Note added."


def test_call_directly_invalid(app, journal):
    with app.app_context():
        state = app.view_functions["notes.add_note"].server_action.call(title="A")
    assert not state.ok
    assert state.status == 422
    assert state.errors["title"]
    assert journal.notes == []


def test_action_object_is_still_the_function():
    bp = Blueprint("plain", __name__)

    @action(bp, allow=allow.public)
    def ping():
        return ActionState.success("pong")

    assert ping().message == "pong"
    assert ping.endpoint == "plain.ping"


def test_action_without_allow_refuses_to_start():
    bp = Blueprint("forgetful", __name__)
    with pytest.raises(
        TypeError, match=r"Action forgetful.wipe does not say who may call it"
    ):

        @action(bp)
        def wipe():
            return None


def test_methods_argument_rejected():
    bp = Blueprint("b", __name__)
    with pytest.raises(TypeError, match="Use the 'route' decorator"):
        action(bp, allow=allow.public, methods=["GET"])


def test_unknown_action_in_template_names_it(app):
    from flask import render_template_string

    from flask_server_actions import UnknownAction

    with app.test_request_context(), pytest.raises(UnknownAction) as info:
        render_template_string('{% action_form "nope.nothing" %}{% endaction_form %}')
    assert info.value.endpoint == "nope.nothing"


def test_page_get_with_htmx_full_request_is_whole_page(client):
    for headers in (
        {"HX-Request": "true", "HX-Request-Type": "full"},
        {"HX-Request": "true", "HX-History-Restore-Request": "true"},
    ):
        assert client.get("/notes", headers=headers).text.startswith("<!doctype html>")


def test_htmx_full_page_action_request_gets_page(client, token):
    headers = {"HX-Request": "true", "HX-Request-Type": "full"}
    response = post(client, token, headers, title="A")
    assert response.status_code == 422
    assert response.text.startswith("<!doctype html>")


def test_vendored_htmx_is_served_with_exact_version(client):
    response = client.get("/_server_actions/htmx/htmx.min.js")
    assert response.status_code == 200
    assert b"4.0.1" in response.data
    response.close()
