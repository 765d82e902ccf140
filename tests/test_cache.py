from __future__ import annotations

import time
import uuid

import pytest
from flask import Blueprint
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_user
from flask_wtf import FlaskForm
from wtforms import StringField

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import cached
from flask_server_actions import current_cache
from flask_server_actions import render_page
from flask_server_actions import revalidate_path
from flask_server_actions import revalidate_tag
from tests.services import unavailable_service

REDIS_URL = "redis://127.0.0.1:6379/0"
HTMX = {"HX-Request": "true", "HX-Target": "form#cached-touch"}


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        unavailable_service("Redis is not reachable at 127.0.0.1:6379")


@pytest.fixture(params=["memory", "filesystem", "redis"])
def backend_config(request, tmp_path):
    if request.param == "memory":
        yield {"SERVER_ACTIONS_CACHE": "memory"}
    elif request.param == "filesystem":
        yield {
            "SERVER_ACTIONS_CACHE": "filesystem",
            "SERVER_ACTIONS_CACHE_DIR": str(tmp_path / "cache"),
        }
    else:
        redis_or_skip()
        import redis

        prefix = f"sa-test-{uuid.uuid4().hex}:"
        yield {
            "SERVER_ACTIONS_CACHE": "redis",
            "SERVER_ACTIONS_REDIS_URL": REDIS_URL,
            "SERVER_ACTIONS_CACHE_PREFIX": prefix,
        }
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


class TouchForm(FlaskForm):
    what = StringField("What")


@pytest.fixture
def app(app, backend_config):
    app.config.update(backend_config, WTF_CSRF_ENABLED=False)
    renders: dict[str, int] = {}
    bp = Blueprint("cached", __name__)

    def count(region: str) -> int:
        renders[region] = renders.get(region, 0) + 1
        return renders[region]

    @bp.get("/cached")
    def page():
        user = current_user.get_id() if current_user.is_authenticated else "anon"
        return render_page("cached.html", count=count, user=user)

    @bp.get("/login/<user_id>")
    def login(user_id):
        login_user(User(user_id))
        return "ok"

    @action(bp, page=page, form=TouchForm, allow=allow.public)
    def touch(form):
        what = form.what.data
        if what.startswith("/"):
            revalidate_path(what)
        elif what:
            revalidate_tag(what)
        return ActionState.success()

    login_manager = LoginManager(app)
    login_manager.user_loader(User)
    app.renders = renders
    ServerActions(app)
    app.register_blueprint(bp)
    return app


def touch(client, what):
    return client.post(
        "/actions/touch", data={"what": what, "_sa_page": "/cached"}, headers=HTMX
    )


def region_text(html: str, name: str) -> str:
    start = html.index(f'id="{name}"')
    return html[html.index(">", start) + 1 : html.index("</", start)]


def test_cached_region_is_served_from_cache(client):
    client.get("/cached")
    html = client.get("/cached").text
    assert region_text(html, "popular") == "popular:1"
    assert region_text(html, "plain") == "plain:2"  # not cached: rendered each time


def test_revalidated_tag_renders_fresh_out_of_band_and_stores_it(app, client):
    client.get("/cached")
    html = touch(client, "posts").text
    assert "popular:2</div>" in html
    assert 'hx-swap-oob="outerHTML">popular:2' in html
    page = client.get("/cached").text
    assert region_text(page, "popular") == "popular:2"
    assert app.renders["popular"] == 2


def test_revalidated_tag_renders_fresh_for_plain_browser(client):
    client.get("/cached")
    response = client.post(
        "/actions/touch", data={"what": "posts", "_sa_page": "/cached"}
    )
    assert response.status_code == 303
    assert region_text(client.get("/cached").text, "popular") == "popular:2"


def test_other_tags_stay_cached(client):
    client.get("/cached")
    touch(client, "posts")
    html = client.get("/cached").text
    assert region_text(html, "clock") == "clock:1"
    assert region_text(html, "popular") == "popular:2"


def test_revalidated_path_renders_every_region_fresh(client):
    client.get("/cached")
    touch(client, "/cached")
    html = client.get("/cached").text
    assert region_text(html, "clock") == "clock:2"
    assert region_text(html, "popular") == "popular:2"


def test_revalidated_other_path_keeps_cache(client):
    client.get("/cached")
    touch(client, "/elsewhere")
    assert region_text(client.get("/cached").text, "clock") == "clock:1"


def test_cached_region_expires_after_its_ttl(client):
    client.get("/cached")
    assert region_text(client.get("/cached").text, "short") == "short:1"
    time.sleep(1.2)
    assert region_text(client.get("/cached").text, "short") == "short:2"


def test_per_user_region_never_crosses_users(app):
    alice, bob = app.test_client(), app.test_client()
    alice.get("/login/alice")
    bob.get("/login/bob")
    assert region_text(alice.get("/cached").text, "mine") == "mine:alice:1"
    assert region_text(bob.get("/cached").text, "mine") == "mine:bob:2"
    assert region_text(alice.get("/cached").text, "mine") == "mine:alice:1"
    assert region_text(app.test_client().get("/cached").text, "mine") == "mine:anon:3"


def test_shared_region_is_shared_between_users(app):
    alice, bob = app.test_client(), app.test_client()
    alice.get("/login/alice")
    bob.get("/login/bob")
    alice.get("/cached")
    assert region_text(bob.get("/cached").text, "popular") == "popular:1"


def test_unknown_vary_is_refused(app):
    tmpl = app.jinja_env.from_string(
        '{% region "r", cache=5, vary=["cookie"] %}x{% endregion %}'
    )
    with (
        app.test_request_context(),
        pytest.raises(ValueError, match="cannot vary on 'cookie'"),
    ):
        tmpl.render()


def test_data_cache_until_tag_revalidated(app):
    calls: list[int] = []

    @cached(tags=["posts"], ttl=3600)
    def popular(limit: int) -> list[int]:
        calls.append(limit)
        return list(range(limit))

    with app.test_request_context():
        assert popular(3) == [0, 1, 2]
        assert popular(3) == [0, 1, 2]
        assert popular(2) == [0, 1]
        assert calls == [3, 2]
    with app.test_request_context():
        revalidate_tag("other")
        popular(3)
        assert calls == [3, 2]
        revalidate_tag("posts")
        popular(3)
        assert calls == [3, 2, 3]
    with app.test_request_context():
        popular(3)
        assert calls == [3, 2, 3]


def test_data_cache_keeps_none(app):
    calls: list[None] = []

    @cached(tags=["posts"])
    def nothing() -> None:
        calls.append(None)

    with app.app_context():
        nothing()
        nothing()
    assert len(calls) == 1


def test_data_cache_key_names_the_entry(app):
    @cached(key="shared")
    def first() -> str:
        return "first"

    @cached(key="shared")
    def second() -> str:
        return "second"

    with app.app_context():
        assert first() == "first"
        assert second() == "first"


def test_add_is_atomic(app):
    with app.app_context():
        cache = current_cache()
        assert cache.add("submission:1", "a", timeout=60) is True
        assert cache.add("submission:1", "b", timeout=60) is False
        assert cache.get("submission:1") == "a"
        assert cache.delete("submission:1") is True
        assert cache.add("submission:1", "c", timeout=60) is True


def test_inc_counts(app):
    with app.app_context():
        cache = current_cache()
        assert cache.inc("counter") == 1
        assert cache.inc("counter", 2) == 3


def test_current_cache_needs_the_extension():
    from flask import Flask

    with (
        Flask(__name__).app_context(),
        pytest.raises(RuntimeError, match="call ServerActions"),
    ):
        current_cache()


def test_add_has_one_winner_between_threads(app):
    from concurrent.futures import ThreadPoolExecutor

    def try_add(n: int) -> bool:
        with app.app_context():
            return current_cache().add("submission:race", n, timeout=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(try_add, range(32)))
    assert results.count(True) == 1


def test_generation_bump_waits_for_the_transaction(app, client):
    import contextlib

    seen: list[list[int]] = []

    @contextlib.contextmanager
    def transaction():
        yield
        # Committing now: another worker must still see the old generation,
        # or it could cache rows that are not committed under the new one.
        seen.append(current_cache().generations(["posts"]))

    with app.test_request_context():
        before = current_cache().generations(["posts"])
    app.extensions["server_actions"].transaction = transaction
    touch(client, "posts")
    with app.test_request_context():
        after = current_cache().generations(["posts"])
    assert seen == [before]
    assert after != before
