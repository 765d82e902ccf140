from __future__ import annotations

import pytest

from .conftest import ADMIN
from .conftest import MEMBER
from .conftest import sign_in


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
