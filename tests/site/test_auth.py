from __future__ import annotations

import pytest

from app.models import Todo
from app.models import db
from flask_server_actions.testing import ActionClient

from .conftest import ADMIN
from .conftest import MEMBER
from .conftest import sign_in
from .harness import make_site
from .shop import cart_rows
from .shop import fill_cart


def test_sign_in_redirects_to_next(client):
    response = sign_in(client, *ADMIN, next_path="/admin/users")
    assert response.status_code == 303
    assert response.location == "/admin/users"
    assert "Welcome back, Ada Lovelace." in client.get("/admin/users").text


@pytest.mark.parametrize(
    "evil", ["https://evil.example/", "//evil.example", "/\\evil.example"]
)
def test_sign_in_never_redirects_off_site(client, evil):
    assert sign_in(client, *ADMIN, next_path=evil).location == "/"


def test_wrong_password_keeps_email_never_password(client):
    response = sign_in(client, ADMIN[0], "Hunter2-not-it")
    assert response.status_code == 400
    assert "That email and password do not match an account." in response.text
    assert 'value="ada@example.com"' in response.text
    assert "Hunter2-not-it" not in response.text


def test_unknown_email_answers_the_same(client):
    response = sign_in(client, "nobody@example.com", "whatever")
    assert response.status_code == 400
    assert "That email and password do not match an account." in response.text


def test_user_without_password_cannot_sign_in(client):
    assert sign_in(client, "alan@example.com", "").status_code == 422


def test_sign_out(client):
    sign_in(client, *MEMBER)
    result = client.submit("auth.sign_out", mode="plain", page="/")
    assert result.status == 303
    assert "Sign in</a>" in client.get("/").text


def todo_texts(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(Todo.text)))


@pytest.mark.parametrize("mode", ["plain", "htmx"])
def test_sign_out_forgets_this_browser(app, client, mode):
    """A shared computer: the next person finds no cart and no visitor to-dos."""
    client.submit("todos.add_todo", text="Visitor's errand")
    sign_in(client, *MEMBER)
    client.submit("todos.add_todo", text="Grace's own errand")
    fill_cart(app, client, 2)
    assert len(cart_rows(app)) == 2
    result = client.submit("auth.sign_out", mode=mode, page="/")
    assert result.status == (303 if mode == "plain" else 200)
    assert "You are signed out." in client.get("/").text
    # The browser session is gone: no cart id, no visitor token, nothing kept
    # but the CSRF secret (a form open in another tab asks to sign in again).
    with client.session_transaction() as session:
        assert not {"cart_id", "todo_owner", "_user_id", "_id"} & set(session)
        assert "csrf_token" in session
    assert cart_rows(app) == []
    assert "Your cart is empty" in client.get("/cart").text
    todos_page = client.get("/todos").text
    assert "Visitor&#39;s errand" not in todos_page
    assert todo_texts(app) == {"Grace's own errand"}
    # The account's own list stays with the account.
    sign_in(client, *MEMBER)
    assert "Grace&#39;s own errand" in client.get("/todos").text


def test_sign_out_when_signed_out_sends_to_sign_in(client):
    result = client.submit("auth.sign_out", mode="plain", page="/")
    assert result.status == 303
    assert result.redirect.startswith("/sign-in?next=")


def test_the_eleventh_sign_in_attempt_in_a_minute_is_refused(client):
    for _ in range(10):
        assert sign_in(client, ADMIN[0], "wrong guess").status_code == 400
    result = client.submit(
        "auth.sign_in", mode="htmx", email=ADMIN[0], password=ADMIN[1]
    )
    assert result.status == 429
    assert "Too many requests" in result.message
    assert 'value="ada@example.com"' in result.fragment  # the email is kept


def test_sign_in_guesses_count_per_address_across_accounts(client):
    for _ in range(10):
        assert sign_in(client, ADMIN[0], "wrong guess").status_code == 400
    # Another account from the same address: the address has used its guesses.
    result = client.submit("auth.sign_in", email=MEMBER[0], password=MEMBER[1])
    assert result.status == 429


def test_sign_in_guesses_count_per_account_across_addresses(tmp_path):
    # Behind one proxy, so each request can come from another address.
    app = make_site(tmp_path / "instance", SERVER_ACTIONS_TRUSTED_PROXIES=1)
    app.test_client_class = ActionClient
    client = app.test_client()
    for i in range(10):
        result = client.submit(
            "auth.sign_in",
            email=ADMIN[0],
            password="wrong guess",
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        )
        assert result.status == 400
    # A fresh address, the same account: the account has used its guesses.
    result = client.submit(
        "auth.sign_in",
        email=" ADA@example.com ",
        password=ADMIN[1],
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert result.status == 429
