"""The seed's createUser on /users: valid, invalid, duplicate, and each kind of caller."""

from __future__ import annotations

import pytest

from app.models import User
from app.models import db

from .conftest import ADMIN
from .conftest import MEMBER
from .conftest import sign_in


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


def test_valid_user_is_created_with_form_list_and_count_in_one_answer(app, client):
    result = client.submit(
        "users.create_user", name="Barbara Liskov", email="barbara@example.com"
    )
    assert result.status == 200
    assert result.message == "Barbara Liskov was created."
    assert result.fragment.startswith('<form id="users-create-user"')
    assert set(result.regions) == {"user-count", "user-list"}
    assert result.regions["user-count"] == (
        '<span id="user-count" data-sa-region data-sa-tags="users" class="count"'
        ' hx-swap-oob="outerHTML">4</span>'
    )
    assert "barbara@example.com" in result.regions["user-list"]
    assert "barbara@example.com" in emails(app)


def role_of(app, email):
    with app.app_context():
        return db.session.scalar(db.select(User.role).where(User.email == email))


@pytest.mark.parametrize("signed_in", [None, MEMBER])
def test_only_admins_are_offered_the_role(client, signed_in):
    if signed_in:
        sign_in(client, *signed_in)
    page = client.get("/users").text
    assert 'name="role"' not in page
    assert "Only admins see this" not in page


def test_an_admin_is_offered_the_role(client):
    sign_in(client, *ADMIN)
    page = client.get("/users").text
    assert '<select aria-describedby="role-hint" id="role" name="role">' in page
    assert "Only admins see this; anyone else&#39;s new accounts are users." in page


@pytest.mark.parametrize("mode", ["htmx", "plain", "json"])
@pytest.mark.parametrize("signed_in", [None, MEMBER])
def test_a_crafted_admin_role_from_a_non_admin_is_ignored(app, client, mode, signed_in):
    """Anyone can make an account here, but only a user account."""
    if signed_in:
        sign_in(client, *signed_in)
    email = f"crafted-{mode}@example.com"
    result = client.submit(
        "users.create_user", mode=mode, name="Mallory", email=email, role="admin"
    )
    assert result.status == (303 if mode == "plain" else 200)
    assert role_of(app, email) == "user"


def test_a_crafted_role_from_a_non_admin_is_not_even_validated(app, client):
    result = client.submit(
        "users.create_user", name="Ann", email="a@example.com", role="root"
    )
    assert result.status == 200
    assert role_of(app, "a@example.com") == "user"


@pytest.mark.parametrize("mode", ["htmx", "plain"])
def test_an_admin_creates_an_admin(app, client, mode):
    sign_in(client, *ADMIN)
    result = client.submit(
        "users.create_user",
        mode=mode,
        name="Second Admin",
        email="second@example.com",
        role="admin",
    )
    assert result.status == (303 if mode == "plain" else 200)
    assert role_of(app, "second@example.com") == "admin"


def test_an_admin_role_that_is_not_a_choice_is_refused(app, client):
    sign_in(client, *ADMIN)
    result = client.submit(
        "users.create_user", mode="json", name="Ann", email="a@example.com", role="root"
    )
    assert result.status == 422
    assert result.errors["role"] == ["Not a valid choice."]
    assert role_of(app, "a@example.com") is None


def test_role_defaults_to_user(app, client):
    client.submit("users.create_user", name="No Role", email="norole@example.com")
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
    ],
)
def test_invalid_input_is_refused_on_its_field(app, client, fields, field, message):
    before = emails(app)
    result = client.submit("users.create_user", fields, mode="json")
    assert result.status == 422
    assert result.errors[field] == [message]
    assert emails(app) == before


def test_invalid_input_without_javascript_keeps_it_in_the_whole_page(client):
    result = client.submit(
        "users.create_user", mode="plain", name="A", email="kept@example"
    )
    assert result.status == 422
    assert 'value="A"' in result.text
    assert 'value="kept@example"' in result.text
    assert "<h1" in result.text  # the whole page, not a fragment


def test_duplicate_email_is_an_error_on_the_field(client):
    """The form's own rule (it is checked while typing too, #17); the action's
    409 remains for two people taking the same address at once."""
    result = client.submit(
        "users.create_user", name="Ada Again", email="ADA@example.com"
    )
    assert result.status == 422
    assert result.message == "Please correct the errors below."
    assert result.errors == {"email": ["This email is already in use."]}
    assert 'value="ada@example.com"' in result.fragment  # normalised, as stored


def test_a_taken_email_is_said_while_typing(client):
    assert client.check("users.create_user", "email", email="ADA@example.com") == {
        "email": ["This email is already in use."]
    }


def test_success_without_javascript_redirects_and_shows_the_message_once(client):
    result = client.submit(
        "users.create_user",
        mode="plain",
        name="Katherine Johnson",
        email="kj@example.com",
    )
    assert (result.status, result.redirect) == (303, "/users")
    assert "Katherine Johnson was created." in client.get("/users").text
    assert "Katherine Johnson was created." not in client.get("/users").text


def test_without_csrf_token_nothing_is_written(app, client):
    before = emails(app)
    result = client.submit(
        "users.create_user", name="Eve", email="eve@example.com", csrf_token=None
    )
    assert result.status == 400
    assert emails(app) == before


def test_called_from_python(app):
    from app.users import create_user

    with app.app_context():
        state = create_user.call(name="Direct Call", email="direct@example.com")
    assert state.ok
    assert "direct@example.com" in emails(app)


def test_called_from_python_with_invalid_input(app):
    from app.users import create_user

    with app.app_context():
        state = create_user.call(name="D", email="invalid")
    assert not state.ok
    assert set(state.errors) == {"name", "email"}
