from __future__ import annotations

import pytest

from app.models import User
from app.models import db
from tests.conftest import csrf_token_from

HTMX = {"HX-Request": "true", "HX-Target": "form#users-create-user"}


@pytest.fixture
def token(client):
    return csrf_token_from(client.get("/users").text)


def create(client, token, headers=None, **fields):
    data = {"csrf_token": token, "_sa_page": "/users", **fields}
    return client.post("/users/create", data=data, headers=headers or {})


def emails(app):
    with app.app_context():
        return set(db.session.scalars(db.select(User.email)))


def test_users_page_lists_seeded_users(client):
    page = client.get("/users").text
    assert "Ada Lovelace" in page
    assert (
        '<span id="user-count" data-sa-region data-sa-tags="users" class="count">3</span>'
        in page
    )


def test_create_user_htmx_returns_form_list_and_count(app, client, token):
    response = create(
        client, token, HTMX, name="Barbara Liskov", email="barbara@example.com"
    )
    assert response.status_code == 200
    html = response.text
    assert html.startswith('<form id="users-create-user"')
    assert "Barbara Liskov was created." in html
    assert (
        '<span id="user-count" data-sa-region data-sa-tags="users" class="count" hx-swap-oob="outerHTML">4</span>'
        in html
    )
    list_region = html.split('<div id="user-list"', 1)[1]
    assert 'hx-swap-oob="outerHTML"' in list_region.split(">", 1)[0]
    assert "barbara@example.com" in list_region
    assert "barbara@example.com" in emails(app)


def test_create_user_role_defaults_to_user(app, client, token):
    create(client, token, name="No Role", email="norole@example.com")
    with app.app_context():
        user = db.session.scalar(
            db.select(User).where(User.email == "norole@example.com")
        )
        assert user.role == "user"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"name": "A", "email": "a@example.com"},
            "name",
            "Field must be between 2 and 100 characters long.",
        ),
        (
            {"name": "x" * 101, "email": "a@example.com"},
            "name",
            "Field must be between 2 and 100 characters long.",
        ),
        ({"email": "a@example.com"}, "name", "Enter a name."),
        (
            {"name": "Ann", "email": "nope"},
            "email",
            "Enter a valid email address, like name@example.com.",
        ),
        ({"name": "Ann"}, "email", "Enter an email address."),
        (
            {"name": "Ann", "email": "a@example.com", "role": "root"},
            "role",
            "Not a valid choice.",
        ),
    ],
)
def test_create_user_invalid(app, client, token, fields, field, message):
    before = emails(app)
    response = create(client, token, {"Accept": "application/json"}, **fields)
    assert response.status_code == 422
    assert response.json["errors"][field] == [message]
    assert emails(app) == before


def test_create_user_invalid_plain_keeps_input(client, token):
    response = create(client, token, name="A", email="kept@example")
    assert response.status_code == 422
    assert 'value="A"' in response.text
    assert 'value="kept@example"' in response.text
    assert "Users" in response.text  # the whole page, not a fragment


def test_create_user_duplicate_email_is_409_on_the_field(app, client, token):
    response = create(client, token, HTMX, name="Ada Again", email="ADA@example.com")
    assert response.status_code == 409
    assert "A user with this email already exists." in response.text
    assert "This email is already in use." in response.text
    assert 'value="ada@example.com"' in response.text  # normalised, as stored


def test_create_user_plain_success_redirects_and_shows_once(client, token):
    response = create(client, token, name="Katherine Johnson", email="kj@example.com")
    assert response.status_code == 303
    assert response.location == "/users"
    page = client.get("/users").text
    assert "Katherine Johnson was created." in page
    assert "Katherine Johnson was created." not in client.get("/users").text


def test_create_user_without_csrf_writes_nothing(app, client):
    client.get("/users")
    before = emails(app)
    response = client.post(
        "/users/create", data={"name": "Eve", "email": "eve@example.com"}
    )
    assert response.status_code == 400
    assert emails(app) == before


def test_create_user_directly_from_python(app):
    from app.users import create_user

    with app.app_context():
        state = create_user.call(name="Direct Call", email="direct@example.com")
        assert state.ok
        assert db.session.scalar(
            db.select(User).where(User.email == "direct@example.com")
        )


def test_create_user_directly_invalid(app):
    from app.users import create_user

    with app.app_context():
        state = create_user.call(name="D", email="invalid")
    assert not state.ok
    assert set(state.errors) == {"name", "email"}
