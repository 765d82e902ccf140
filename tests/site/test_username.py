"""The seed's requestUsername on /username: the state says whether the name was free."""

from __future__ import annotations

import pytest

from app.models import ClaimedUsername
from app.models import db


def claimed(app):
    with app.app_context():
        return set(db.session.scalars(db.select(ClaimedUsername.username)))


def request_name(client, username, mode="json"):
    return client.submit("username.request_username", mode=mode, username=username)


def test_an_available_username_is_claimed(app, client):
    result = request_name(client, "Newcomer")
    assert result.status == 200
    assert result.data == {"username": "newcomer", "result": "successful"}
    assert claimed(app) == {"newcomer"}


def test_a_claimed_username_is_taken_the_second_time(client):
    assert request_name(client, "twice").ok
    result = request_name(client, "twice")
    assert result.status == 409
    assert result.data["result"] == "failed"


@pytest.mark.parametrize("reserved", ["admin", "root", "Ada"])
def test_reserved_usernames_are_taken(client, reserved):
    result = request_name(client, reserved)
    assert result.status == 409
    assert "is taken" in result.message


@pytest.mark.parametrize("bad", ["ab", "x" * 21, "with space", "émile", ""])
def test_invalid_usernames_are_refused(app, client, bad):
    result = request_name(client, bad)
    assert result.status == 422
    assert result.errors["username"]
    assert claimed(app) == set()


def test_the_last_result_shows_after_the_redirect(client):
    assert request_name(client, "someone", mode="plain").status == 303
    assert (
        '<strong data-testid="last-result">successful</strong>'
        in client.get("/username").text
    )
