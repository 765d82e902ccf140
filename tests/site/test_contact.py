from __future__ import annotations

import pytest

from app.models import ContactMessage
from app.models import db
from tests.conftest import csrf_token_from


@pytest.fixture
def token(client):
    return csrf_token_from(client.get("/contact").text)


def send(client, token, headers=None, **fields):
    data = {"csrf_token": token, "_sa_page": "/contact", **fields}
    return client.post("/contact/send", data=data, headers=headers or {})


def stored(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(ContactMessage))


GOOD = {"name": "Ann", "email": "ann@example.com", "message": "Hello there, friends!"}


def test_message_is_stored(app, client, token):
    response = send(client, token, **GOOD)
    assert response.status_code == 303
    assert "Thanks, Ann. We got your message." in client.get("/contact").text
    assert stored(app) == 1


def test_eleventh_message_in_a_minute_is_refused(app, client, token):
    statuses = [send(client, token, **GOOD).status_code for _ in range(10)]
    assert statuses == [303] * 10
    response = send(
        client,
        token,
        {"HX-Request": "true", "HX-Target": "form#contact-send-message"},
        **GOOD,
    )
    assert response.status_code == 429
    assert "Too many requests (the limit is 10/minute)" in response.text
    assert 'value="Ann"' in response.text  # the input is kept
    assert "Retry-After" in response.headers
    assert stored(app) == 10


def test_message_too_short(app, client, token):
    response = send(
        client, token, {"Accept": "application/json"}, **{**GOOD, "message": "short"}
    )
    assert response.status_code == 422
    assert response.json["errors"]["message"] == [
        "Field must be between 10 and 2000 characters long."
    ]
    assert stored(app) == 0


def test_oversized_message_is_413(app, client, token):
    response = send(client, token, **{**GOOD, "message": "x" * 20_000})
    assert response.status_code == 413
    assert stored(app) == 0
