"""Unexpected errors, "Try again" and secrets on the reference site."""

from __future__ import annotations

import logging
import re

import pytest
from flask import render_template_string

from app.contact import send_message
from app.models import ContactMessage
from app.models import User
from app.models import db
from flask_server_actions import TaintedValueError
from tests.breakage import OUTAGE
from tests.breakage import broken

GOOD = {"name": "Ann", "email": "ann@example.com", "message": "Hello there, friends!"}


def send(client, mode="plain", **fields):
    """Fill in the contact form and submit it."""
    return client.submit("contact.send_message", mode=mode, **fields).response


def stored(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(ContactMessage))


def logged_error_id(caplog):
    return str(caplog.records[-1].args[1])


def test_htmx_failure_shows_contacts_own_template(app, client, caplog):
    with broken(send_message), caplog.at_level(logging.ERROR, "flask_server_actions"):
        response = send(client, "htmx", **GOOD)
    assert response.status_code == 500
    assert response.text.startswith(
        '<div id="contact-send-message" class="sa-boundary"'
    )
    assert "Your message was not sent" in response.text
    assert f"<code>{logged_error_id(caplog)}</code>" in response.text
    assert "hunter2" not in response.text
    assert stored(app) == 0


def test_plain_failure_is_an_error_page_in_the_layout(app, client, caplog):
    with broken(send_message), caplog.at_level(logging.ERROR, "flask_server_actions"):
        response = send(client, **GOOD)
    assert response.status_code == 500
    assert "<h1>Contact us</h1>" in response.text
    assert "Your message was not sent" in response.text
    assert f"<code>{logged_error_id(caplog)}</code>" in response.text
    assert "hunter2" not in response.text
    assert stored(app) == 0


def test_debug_mode_shows_the_exception(app, client):
    app.debug = True
    with broken(send_message):
        response = send(client, "htmx", **GOOD)
    assert f"RuntimeError: {OUTAGE}" in response.text


@pytest.mark.parametrize("mode", ["htmx", "plain"])
def test_try_again_brings_the_message_back(app, client, mode):
    headers = {"HX-Request": "true"} if mode == "htmx" else {}
    with broken(send_message):
        failed = send(client, mode, **GOOD).text
    retry = re.search(r'<form class="sa-retry".*?</form>', failed, re.S).group(0)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', retry))
    assert fields["message"] == GOOD["message"]
    response = client.post("/contact/send", data=fields, headers=headers)
    assert response.status_code == 200
    assert "Hello there, friends!</textarea>" in response.text
    assert 'value="ann@example.com"' in response.text
    assert "sa-boundary" not in response.text
    assert stored(app) == 0
    # Sent again, it goes through.
    assert send(client, mode, **GOOD).status_code in (200, 303)
    assert stored(app) == 1


def test_password_hash_is_a_secret(app):
    with app.app_context():
        ada = db.session.scalar(db.select(User).where(User.email == "ada@example.com"))
        assert ada.password_hash.reveal().startswith(("scrypt:", "pbkdf2:"))
        with app.test_request_context(), pytest.raises(TaintedValueError):
            render_template_string("{{ user.password_hash }}", user=ada)


def test_secret_key_never_renders(app):
    with app.test_request_context(), pytest.raises(TaintedValueError):
        render_template_string("{{ config.SECRET_KEY }}")


def _admin_button_then(client, then_email=None):
    """Click Delete on the admin page after signing out (and maybe in as another)."""
    from tests.site.conftest import sign_in

    if then_email:
        sign_in(client, then_email, "compiler-1952")
    return client.submit(
        "admin.delete_user", bind={"user_id": 3}, page="/admin/users"
    ).response


def test_htmx_button_401_goes_to_sign_in_and_says_why(client):
    response = _admin_button_then(client)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/sign-in?next=%2Fadmin%2Fusers"
    assert "Please sign in to do this." in client.get("/sign-in").text


def test_htmx_403_when_the_page_refuses_answers_in_the_status_area(client):
    response = _admin_button_then(client, "grace@example.com")
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#admin-delete-user-3-status"
    assert "<html" not in response.text
    assert "You are not allowed to do this." in response.text
