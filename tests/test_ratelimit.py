from __future__ import annotations

import os
import uuid

import pytest
from flask import Blueprint

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions.cache import CacheUnavailable

from .test_cache import REDIS_URL
from .test_cache import redis_or_skip


def make_app(app, calls, **config):
    app.config.update(WTF_CSRF_ENABLED=False, **config)
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("ping.html")

    @action(bp, page=index, allow=allow.public, rate_limit="3/minute")
    def ping():
        calls.append(1)
        return ActionState.success("Pong.")

    @action(bp, page=index, allow=allow.public, rate_limit="3/minute")
    def busy():
        raise CacheUnavailable("the store went away")

    @action(bp, page=index, allow=allow.public)
    def unlimited():
        calls.append(1)
        return ActionState.success("Fine.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def calls():
    return []


@pytest.fixture
def app(app, calls):
    return make_app(app, calls)


def ping(client, headers=None, **environ):
    return client.post(
        "/actions/ping",
        data={"_sa_page": "/notes"},
        headers=headers or {},
        environ_base=environ,
    )


def test_limit_allows_then_refuses_with_retry_after(client, calls):
    assert [ping(client).status_code for _ in range(3)] == [303, 303, 303]
    response = ping(client, {"HX-Request": "true", "HX-Target": "form#notes-ping"})
    assert response.status_code == 429
    assert "Too many requests (the limit is 3/minute)" in response.text
    assert int(response.headers["Retry-After"]) > 0
    assert len(calls) == 3  # the action did not run


def test_answers_within_the_limit_carry_no_retry_after(client):
    response = ping(client, {"HX-Request": "true", "HX-Target": "form#notes-ping"})
    assert response.status_code == 200
    # The limiter's own headers are off: a 200 has nothing to retry.
    assert "Retry-After" not in response.headers
    assert not any(name.startswith("X-RateLimit") for name, _ in response.headers)


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["plain", "htmx"])
@pytest.mark.app_config(SERVER_ACTIONS_RETRY_AFTER=7)
def test_a_503_of_a_limited_action_keeps_its_own_retry_after(app, client, headers):
    response = client.post(
        "/actions/busy", data={"_sa_page": "/notes"}, headers=headers
    )
    assert response.status_code == 503
    # The wait the page states, not the rate-limit window (about 60 s).
    assert response.headers["Retry-After"] == "7"
    assert "try again in 7 seconds" in response.text


def test_breach_plain_renders_the_page_with_message(client):
    for _ in range(3):
        ping(client)
    response = ping(client)
    assert response.status_code == 429
    assert response.text.startswith("<!doctype html>")
    assert "Too many requests" in response.text


def test_limit_is_per_client_address(client, calls):
    for _ in range(3):
        ping(client, REMOTE_ADDR="10.0.0.1")
    assert ping(client, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert ping(client, REMOTE_ADDR="10.0.0.2").status_code == 303


def test_forged_forwarded_for_is_ignored_without_trusted_proxies(client):
    for i in range(3):
        ping(client, {"X-Forwarded-For": f"203.0.113.{i}"})
    assert ping(client, {"X-Forwarded-For": "203.0.113.99"}).status_code == 429


@pytest.mark.app_config(SERVER_ACTIONS_TRUSTED_PROXIES=1)
def test_trusted_proxy_count_uses_the_proxys_entry(app, client):
    for _ in range(3):
        ping(client, {"X-Forwarded-For": "forged, 198.51.100.7"})
    # The client cannot escape by prepending forged entries: the proxy's entry counts.
    assert (
        ping(client, {"X-Forwarded-For": "other-forgery, 198.51.100.7"}).status_code
        == 429
    )
    assert ping(client, {"X-Forwarded-For": "198.51.100.8"}).status_code == 303


def test_actions_without_limit_are_not_limited(client):
    statuses = {client.post("/actions/unlimited").status_code for _ in range(10)}
    assert statuses == {303}


def test_json_caller_gets_429(client):
    for _ in range(3):
        ping(client)
    response = ping(client, {"Accept": "application/json"})
    assert response.status_code == 429
    assert response.json["ok"] is False


def test_redis_storage(calls):
    from flask import Flask

    redis_or_skip()
    url = REDIS_URL
    app = Flask(
        __name__, template_folder=os.path.join(os.path.dirname(__file__), "templates")
    )
    app.config.update(SECRET_KEY="x", RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    make_app(app, calls, SERVER_ACTIONS_RATELIMIT_STORAGE_URI=url)
    client = app.test_client()
    assert [ping(client).status_code for _ in range(4)] == [303, 303, 303, 429]
    assert len(calls) == 3


def test_each_key_and_the_checks_count_apart(tmp_path):
    """``rate_limit_by=("user", "address")`` is the same key for a visitor, and
    checks may have the action's own rate: each still counts on its own, so a
    visitor gets the whole limit, and checks never use up the submits."""
    from flask import Blueprint
    from flask import Flask
    from flask_wtf import FlaskForm
    from flask_wtf.csrf import generate_csrf
    from wtforms import StringField

    from flask_server_actions import ActionState
    from flask_server_actions import ServerActions
    from flask_server_actions import action
    from flask_server_actions import allow

    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, SECRET_KEY="test secret")
    bp = Blueprint("counted", __name__)

    class NameForm(FlaskForm):
        name = StringField()

    @bp.get("/token")
    def token():
        return generate_csrf()

    @action(
        bp,
        page=token,
        form=NameForm,
        allow=allow.public,
        once=False,
        rate_limit="4/minute",
        rate_limit_by=("user", "address"),
        validate_rate_limit="4/minute",
    )
    def hit(form):
        return ActionState.success()

    ServerActions(app)
    app.register_blueprint(bp)
    client = app.test_client()
    data = {"csrf_token": client.get("/token").text, "name": "x"}
    checks = [
        client.post(
            "/actions/hit",
            data=data,
            headers={"HX-Request": "true", "SA-Validate": "name"},
        ).status_code
        for _ in range(3)
    ]
    assert checks == [200] * 3
    submits = [
        client.post(
            "/actions/hit", data=data, headers={"Accept": "application/json"}
        ).status_code
        for _ in range(5)
    ]
    assert submits == [200] * 4 + [429]
