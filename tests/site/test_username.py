from __future__ import annotations

import pytest

from app.models import ClaimedUsername
from app.models import db
from tests.conftest import csrf_token_from

JSON = {"Accept": "application/json"}


@pytest.fixture
def token(client):
    return csrf_token_from(client.get("/username").text)


def request_name(client, token, username, headers=JSON):
    data = {"csrf_token": token, "_sa_page": "/username", "username": username}
    return client.post("/username/request", data=data, headers=headers)


def test_available_username_is_claimed(app, client, token):
    response = request_name(client, token, "Newcomer")
    assert response.status_code == 200
    assert response.json["data"] == {"username": "newcomer", "result": "successful"}
    with app.app_context():
        assert db.session.get(ClaimedUsername, "newcomer") is not None


def test_claimed_username_is_taken_the_second_time(client, token):
    assert request_name(client, token, "twice").status_code == 200
    response = request_name(client, token, "twice")
    assert response.status_code == 409
    assert response.json["data"]["result"] == "failed"


@pytest.mark.parametrize("reserved", ["admin", "root", "Ada"])
def test_reserved_usernames_are_taken(client, token, reserved):
    response = request_name(client, token, reserved)
    assert response.status_code == 409
    assert "is taken" in response.json["message"]


@pytest.mark.parametrize("bad", ["ab", "x" * 21, "with space", "émile", ""])
def test_invalid_usernames_rejected(app, client, token, bad):
    response = request_name(client, token, bad)
    assert response.status_code == 422
    assert response.json["errors"]["username"]
    with app.app_context():
        assert (
            db.session.scalar(db.select(db.func.count()).select_from(ClaimedUsername))
            == 0
        )


def test_last_result_shown_after_redirect(client, token):
    response = request_name(client, token, "someone", headers={})
    assert response.status_code == 303
    assert (
        '<strong data-testid="last-result">successful</strong>'
        in client.get("/username").text
    )
