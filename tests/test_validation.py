"""Validation while typing: the server's own rules, the action never run."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Email
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import submit_only

from .conftest import csrf_token_from

HTMX = {"HX-Request": "true", "HX-Target": "form#signup-join"}
_KEY = re.compile(r'name="_sa_key" value="([^"]+)"')


class Database:
    """A real SQLite file: the members the action writes, and who asked what."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self.connect() as db:
            db.execute("create table members (email text primary key, name text)")
            db.execute("insert into members values ('taken@example.com', 'Ann')")
        self.vetted: list[str] = []

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def emails(self) -> list[str]:
        with self.connect() as db:
            return sorted(row[0] for row in db.execute("select email from members"))


@pytest.fixture
def database(tmp_path):
    return Database(str(tmp_path / "members.sqlite"))


def make_form(database: Database) -> type[FlaskForm]:
    def vetted(form, field):
        # An expensive check (say, a call to a fraud service): submit only.
        database.vetted.append(field.data)

    class SignupForm(FlaskForm):
        name = StringField("Name", validators=[InputRequired(), Length(min=2)])
        email = StringField(
            "Email", validators=[InputRequired(), Email(), submit_only(vetted)]
        )
        code = StringField("Code", validators=[Length(max=10)])

        def validate_email(self, field):
            with database.connect() as db:
                found = db.execute(
                    "select 1 from members where email = ?", (field.data,)
                ).fetchone()
            if found:
                raise ValidationError("This email is already in use.")

        @submit_only
        def validate_code(self, field):
            if field.data == "secret":
                raise ValidationError("That code is not yours.")

    return SignupForm


@pytest.fixture
def app(app, database):
    bp = Blueprint("signup", __name__)
    form_class = make_form(database)

    @bp.get("/signup")
    def index():
        return render_page("signup.html", members=lazy(database.emails))

    @action(
        bp,
        page=index,
        form=form_class,
        allow=allow.public,
        rate_limit="3/minute",
        validate_rate_limit="6/minute",
    )
    def join(form):
        with database.connect() as db:
            db.execute(
                "insert into members values (?, ?)", (form.email.data, form.name.data)
            )
        return ActionState.success("Welcome.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def page(client):
    return client.get("/signup").text


def fields(page: str, **values: str) -> dict[str, str]:
    key = _KEY.search(page)
    assert key
    return {
        "csrf_token": csrf_token_from(page),
        "_sa_page": "/signup",
        "_sa_form": "signup-join",
        "_sa_key": key.group(1),
        "name": "",
        "email": "",
        "code": "",
        **values,
    }


def check(client, data, touched="email", headers=None):
    return client.post(
        "/actions/join",
        data=data,
        headers={**HTMX, "SA-Validate": touched, **(headers or {})},
    )


def test_fields_say_how_to_ask(page):
    email = re.search(r"<input[^>]*name=\"email\"[^>]*>", page).group(0)
    assert 'hx-post="/actions/join"' in email
    assert 'hx-sync="this:replace"' in email
    assert 'hx-swap="none"' in email
    assert "data-sa-validate" in email
    # A check even before the toolkit's script has loaded: never a submission.
    assert 'hx-headers="{&#34;SA-Validate&#34;: &#34;email&#34;}"' in email
    assert 'hx-trigger="input changed delay:500ms, change"' in email
    # validate=False on one field turns the form's choice off.
    code = re.search(r"<input[^>]*name=\"code\"[^>]*>", page).group(0)
    assert "hx-post" not in code
    # Without JavaScript the form posts as before.
    assert 'action="/actions/join" method="post"' in page


def test_a_check_answers_the_touched_fields_errors_and_writes_nothing(
    client, page, database
):
    started = time.perf_counter()
    response = check(client, fields(page, email="not-an-email"), "name,email")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.text == (
        '<ul class="sa-errors" id="name-error" data-sa-field="name">'
        "<li>This field is required.</li></ul>"
        '<ul class="sa-errors" id="email-error" data-sa-field="email">'
        "<li>Invalid email address.</li></ul>"
    )
    # Small: the note quotes these figures.
    print(f"check answer: {len(response.data)} bytes in {elapsed * 1000:.1f} ms")
    assert len(response.data) < 300
    assert database.emails() == ["taken@example.com"]


def test_a_field_without_errors_answers_an_empty_list(client, page):
    response = check(client, fields(page, email="new@example.com"))
    assert response.text == (
        '<ul class="sa-errors" id="email-error" data-sa-field="email"></ul>'
    )


def test_validators_that_need_the_database_run(client, page):
    response = check(client, fields(page, email="taken@example.com"))
    assert "This email is already in use." in response.text


def test_untouched_fields_and_unknown_names_are_not_checked(client, page):
    response = check(client, fields(page, email="a@example.com"), "email,nope,_sa_key")
    assert 'data-sa-field="name"' not in response.text
    assert "nope" not in response.text


def test_submit_only_validators_wait_for_the_submit(client, page, database):
    response = check(client, fields(page, name="Bo", code="secret"), "code,email")
    assert "That code is not yours." not in response.text
    assert database.vetted == []
    submitted = client.post(
        "/actions/join",
        data=fields(page, name="Bo", email="bo@example.com", code="secret"),
        headers=HTMX,
    )
    assert submitted.status_code == 422
    assert "That code is not yours." in submitted.text
    assert database.vetted == ["bo@example.com"]


def test_a_check_never_claims_the_submission_key(client, page, database):
    data = fields(page, name="Bo", email="bo@example.com")
    assert check(client, data, "name,email").status_code == 200
    first = client.post("/actions/join", data=data, headers=HTMX)
    assert first.status_code == 200
    assert "X-Submission-Replayed" not in first.headers
    again = client.post("/actions/join", data=data, headers=HTMX)
    assert again.headers["X-Submission-Replayed"] == "1"
    assert database.emails() == ["bo@example.com", "taken@example.com"]


def test_checks_have_their_own_rate_limit(client, page, database):
    data = fields(page, email="bo@example.com")
    assert [check(client, data).status_code for _ in range(6)] == [200] * 6
    refused = check(client, data)
    assert refused.status_code == 429
    assert refused.text == ""
    assert int(refused.headers["Retry-After"]) > 0
    # None of them counted toward the action's own limit (3/minute).
    for n in range(3):
        done = client.post(
            "/actions/join",
            data=fields(
                client.get("/signup").text, name="Bo", email=f"bo{n}@example.com"
            ),
            headers=HTMX,
        )
        assert done.status_code == 200


def test_a_check_is_guarded_like_a_submit(client, page, database):
    data = fields(page, email="x")
    data.pop("csrf_token")
    refused = check(client, data)
    assert refused.status_code == 400
    assert refused.text == ""
    crossed = check(
        client, fields(page, email="x"), headers={"Origin": "https://evil.example"}
    )
    assert crossed.status_code == 403
    assert database.emails() == ["taken@example.com"]


def test_without_javascript_nothing_changes(client, page, database):
    response = client.post("/actions/join", data=fields(page, email="x"))
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert 'aria-describedby="email-hint email-error"' in response.text


def test_the_test_client_asks_for_checks(action_client):
    assert action_client.check(
        "signup.join", "email", "name", email="x", name="Bo"
    ) == {
        "email": ["Invalid email address."],
        "name": [],
    }


def test_a_check_is_authorized_like_a_submit(app, client, database):
    bp = Blueprint("members", __name__)
    form_class = make_form(database)

    @action(bp, page=None, form=form_class, allow=allow.signed_in, rule="/members/join")
    def join_signed_in(form):
        database.vetted.append("ran")

    app.register_blueprint(bp)
    page = client.get("/signup").text
    data = {**fields(page, email="taken@example.com"), "_sa_form": "members-join"}
    refused = client.post(
        "/members/join", data=data, headers={**HTMX, "SA-Validate": "email"}
    )
    # Not signed in: nothing about the fields is said, and nothing ran.
    assert refused.status_code == 401
    assert refused.text == ""
    assert database.vetted == []


def test_checks_are_counted_by_what_the_action_is_counted_by(tmp_path):
    """A check is counted per caller *and* by the action's own ``rate_limit_by``
    keys: with ``field:email``, guesses at one account from many addresses are
    one count, as for the submit (a validator that compares a password, left
    without ``submit_only``, cannot be asked 120 times a minute per address)."""
    from flask import Flask
    from flask_wtf.csrf import generate_csrf
    from wtforms import PasswordField

    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, SECRET_KEY="test secret")
    bp = Blueprint("login", __name__)

    class SignInForm(FlaskForm):
        email = StringField("Email", validators=[InputRequired()])
        password = PasswordField("Password", validators=[InputRequired()])

        def validate_password(self, field):
            if field.data != "right":
                raise ValidationError("Wrong password.")

    @bp.get("/token")
    def token():
        return generate_csrf()

    @action(
        bp,
        page=token,
        form=SignInForm,
        allow=allow.public,
        rate_limit="3/minute",
        rate_limit_by=("address", "field:email"),
        validate_rate_limit="4/minute",
    )
    def sign_in(form):
        return ActionState.success()

    ServerActions(app)
    app.register_blueprint(bp)
    statuses = []
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        client = app.test_client()
        csrf = client.get("/token").text
        for guess in range(4):
            statuses.append(
                client.post(
                    "/actions/sign-in",
                    data={
                        "csrf_token": csrf,
                        "email": "ann@example.com",
                        "password": f"guess {guess}",
                    },
                    headers={"HX-Request": "true", "SA-Validate": "password"},
                    environ_base={"REMOTE_ADDR": address},
                ).status_code
            )
    assert statuses == [200] * 4 + [429] * 8
