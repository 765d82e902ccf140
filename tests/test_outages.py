"""A backend that does not answer: the cache misses, limits fail open or closed, 503 not 500."""

from __future__ import annotations

import logging
import sqlite3

import pytest
import redis
from cachelib import RedisCache
from flask import Blueprint

from flask_server_actions import ActionCache
from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag
from flask_server_actions.cache import CacheUnavailable

from .site_servers import free_port


@pytest.fixture
def dead_redis_url():
    """A Redis URL where nothing listens: every command is refused at once."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def dead_cache(dead_redis_url):
    client = redis.Redis.from_url(dead_redis_url, socket_connect_timeout=1)
    return ActionCache(
        RedisCache(host=client, key_prefix="sa:"),
        atomic_inc=True,
        outage_errors=(redis.exceptions.ConnectionError,),
    )


def test_an_unreachable_cache_misses_and_skips_writes(dead_cache, caplog):
    with caplog.at_level(logging.WARNING, logger="flask_server_actions"):
        assert dead_cache.get("k") is None
        assert dead_cache.set("k", "v") is False
        assert dead_cache.delete("k") is False
        assert dead_cache.inc("k") is None
        dead_cache.bump("tag", "posts")
        first = dead_cache.generations(["posts"])
    # Generations nobody stored under, so no old entry could ever match.
    assert first != dead_cache.generations(["posts"])
    assert "revalidation of tag 'posts' skipped" in caplog.text


def test_an_unreachable_cache_refuses_to_record_a_one_time_key(dead_cache):
    with pytest.raises(CacheUnavailable):
        dead_cache.add("submission", 1)


def limited_app(app, calls, **config):
    app.config.update(WTF_CSRF_ENABLED=False, **config)
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("ping.html")

    @action(bp, page=index, allow=allow.public, rate_limit="3/minute")
    def ping():
        calls.append(1)
        return ActionState.success("Pong.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.mark.parametrize("htmx", [True, False])
def test_a_dead_limit_store_fails_closed_with_503(app, dead_redis_url, htmx):
    calls = []
    limited_app(
        app,
        calls,
        SERVER_ACTIONS_RATELIMIT_STORAGE_URI=dead_redis_url,
        SERVER_ACTIONS_RATELIMIT_FAIL="closed",
        SERVER_ACTIONS_RETRY_AFTER=7,
    )
    response = app.test_client().post(
        "/actions/ping",
        data={"_sa_page": "/notes"},
        headers={"HX-Request": "true"} if htmx else {},
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert "try again in 7 seconds" in response.text
    assert calls == []


def test_a_dead_limit_store_fails_open_by_default(app, dead_redis_url, caplog):
    calls = []
    limited_app(app, calls, SERVER_ACTIONS_RATELIMIT_STORAGE_URI=dead_redis_url)
    response = app.test_client().post(
        "/actions/ping", data={"_sa_page": "/notes"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert calls == [1]


def test_a_wrong_fail_setting_is_refused(app):
    with pytest.raises(ValueError, match="'open' or 'closed'"):
        limited_app(app, [], SERVER_ACTIONS_RATELIMIT_FAIL="sometimes")


def test_an_unavailable_error_in_an_action_is_a_503_with_the_input_kept(app):
    class Locked(Exception):
        pass

    app.config.update(WTF_CSRF_ENABLED=False)
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        raise Locked("the page needs the database too")

    @action(bp, page=index, allow=allow.public)
    def save():
        raise sqlite3.OperationalError("database is locked")

    ServerActions(app, unavailable_errors=(sqlite3.OperationalError, Locked))
    app.register_blueprint(bp)
    client = app.test_client()
    plain = client.post("/actions/save", data={"_sa_page": "/notes", "title": "Mine"})
    assert plain.status_code == 503
    assert plain.headers["Retry-After"] == "5"
    # The page itself fails too, so the small "try again" page answers.
    assert "try again in 5 seconds" in plain.text
    assert "Try again</button>" in plain.text
    htmx = client.post(
        "/actions/save", data={"_sa_page": "/notes"}, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 503
    assert htmx.headers["HX-Retarget"] == "#notes-save-status"
    page = client.get("/notes")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"


def test_a_saved_action_whose_page_then_fails_does_not_claim_nothing_was_saved(app):
    class Locked(Exception):
        pass

    app.config.update(WTF_CSRF_ENABLED=False)
    bp = Blueprint("notes", __name__)
    saved = []

    @bp.get("/notes")
    def index():
        raise Locked("the page needs the database")

    @action(bp, page=index, allow=allow.public)
    def save():
        saved.append(1)
        revalidate_tag("notes")

    ServerActions(app, unavailable_errors=(Locked,))
    app.register_blueprint(bp)
    client = app.test_client()
    htmx = client.post(
        "/actions/save", data={"_sa_page": "/notes"}, headers={"HX-Request": "true"}
    )
    assert htmx.status_code == 200
    assert "Saved. The page could not be refreshed" in htmx.text
    assert "nothing was saved" not in htmx.text
    plain = client.post("/actions/save", data={"_sa_page": "/notes"})
    assert plain.status_code == 303
    assert saved == [1, 1]
