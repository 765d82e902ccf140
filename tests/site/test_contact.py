"""The seed's rate-limited submitContactForm on /contact."""

from __future__ import annotations

from app.models import ContactMessage
from app.models import db

GOOD = {"name": "Ann", "email": "ann@example.com", "message": "Hello there, friends!"}


def stored(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(ContactMessage))


def send(client, mode="plain", **fields):
    return client.submit("contact.send_message", {**GOOD, **fields}, mode=mode)


def test_a_message_is_stored(app, client):
    assert send(client).status == 303
    assert "Thanks, Ann. We got your message." in client.get("/contact").text
    assert stored(app) == 1


def test_the_eleventh_message_in_a_minute_is_refused_in_the_form(app, client):
    assert [send(client).status for _ in range(10)] == [303] * 10
    result = send(client, mode="htmx")
    assert result.status == 429
    assert "Too many requests (the limit is 10/minute)" in result.message
    assert 'value="Ann"' in result.fragment  # the input is kept
    assert "Retry-After" in result.response.headers
    assert stored(app) == 10


def test_a_message_that_is_too_short(app, client):
    result = send(client, mode="json", message="short")
    assert result.status == 422
    assert result.errors["message"] == [
        "Field must be between 10 and 2000 characters long."
    ]
    assert stored(app) == 0


def test_an_oversized_message_is_413(app, client):
    assert send(client, message="x" * 20_000).status == 413
    assert stored(app) == 0
