"""The submission ledger never forgets: full stores refuse, they do not evict (#13)."""

from __future__ import annotations

import datetime
import threading
import time
import uuid

import pytest
from flask import Blueprint
from flask import Flask

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import current_cache
from flask_server_actions import revalidate_tag
from flask_server_actions.stores import MemoryStore
from flask_server_actions.stores import SqliteStore
from flask_server_actions.stores import StoreFull

from .test_cache import REDIS_URL
from .test_cache import redis_or_skip

JSON = {"Accept": "application/json"}
REPLAYED = "X-Submission-Replayed"
#: Submissions before the one checked: more than the 500 entries at which
#: cachelib's default limit began to evict claims and results.
AFTER = 700


def make_app(tmp_path, written: list[str], **config) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, SECRET_KEY="ledger", **config)
    bp = Blueprint("shop", __name__)

    @action(bp, allow=allow.public)
    def order():
        written.append("order")
        return ActionState.success("Ordered.", data={"orders": len(written)})

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture(params=["memory", "sqlite", "redis"])
def ledger_config(request):
    if request.param != "redis":
        yield {"SERVER_ACTIONS_LEDGER": request.param}
        return
    redis_or_skip()
    import redis

    prefix = f"sa-test-ledger-{uuid.uuid4().hex}:"
    yield {
        "SERVER_ACTIONS_CACHE": "redis",
        "SERVER_ACTIONS_REDIS_URL": REDIS_URL,
        "SERVER_ACTIONS_CACHE_PREFIX": prefix,
    }
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


def order(client, token: str, key: str):
    return client.post(
        "/actions/order", data={"csrf_token": token, "_sa_key": key}, headers=JSON
    )


def test_every_applied_key_is_still_replayed_after_700_submissions(
    tmp_path, ledger_config
):
    from flask_server_actions.testing import ActionClient

    written: list[str] = []
    app = make_app(tmp_path, written, **ledger_config)
    app.test_client_class = ActionClient
    client = app.test_client()
    token = client.csrf_token()
    first = uuid.uuid4().hex
    assert order(client, token, first).status_code == 200
    for _ in range(AFTER):
        assert order(client, token, uuid.uuid4().hex).status_code == 200
    again = order(client, token, first)
    assert again.headers[REPLAYED] == "1"
    assert again.get_json()["data"] == {"orders": 1}
    assert len(written) == AFTER + 1


def test_twenty_concurrent_posts_after_700_write_once(tmp_path, ledger_config):
    from flask_server_actions.testing import ActionClient

    written: list[str] = []
    app = make_app(tmp_path, written, **ledger_config)
    app.test_client_class = ActionClient
    client = app.test_client()
    token = client.csrf_token()
    for _ in range(AFTER):
        order(client, token, uuid.uuid4().hex)
    key = uuid.uuid4().hex
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def post() -> None:
        barrier.wait()
        statuses.append(order(client, token, key).status_code)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * 20
    assert len(written) == AFTER + 1


def test_a_full_memory_ledger_refuses_with_503_and_runs_nothing(tmp_path):
    from flask_server_actions.testing import ActionClient

    written: list[str] = []
    app = make_app(
        tmp_path,
        written,
        SERVER_ACTIONS_LEDGER="memory",
        SERVER_ACTIONS_LEDGER_MAX_ENTRIES=50,
    )
    app.test_client_class = ActionClient
    client = app.test_client()
    token = client.csrf_token()
    keys = [uuid.uuid4().hex for _ in range(50)]
    for key in keys:
        assert order(client, token, key).status_code == 200
    refused = order(client, token, uuid.uuid4().hex)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert "try again in 5 seconds" in refused.get_json()["message"]
    assert len(written) == 50
    # What it holds is still replayed: nothing was forgotten to make room.
    assert order(client, token, keys[0]).headers[REPLAYED] == "1"
    assert len(written) == 50


def test_memory_store_never_evicts_a_ledger_entry():
    store = MemoryStore(0, max_entries=2, evict=False)
    assert store.add("a", 1)
    assert store.add("b", 2)
    with pytest.raises(StoreFull):
        store.add("c", 3)
    assert (store.get("a"), store.get("b")) == (1, 2)


def test_memory_store_makes_room_with_expired_entries_first(monkeypatch):
    import time

    store = MemoryStore(0, max_entries=2, evict=False)
    store.add("short", 1, timeout=1)
    store.add("long", 2, timeout=60)
    later = time.time() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert store.add("new", 3)
    assert store.get("short") is None
    assert store.get("long") == 2


def test_memory_cache_evicts_the_least_recently_used_fragment_not_generations():
    store = MemoryStore(300, max_entries=3)
    store.inc("gen:tag:posts")
    for name in "abc":
        store.set(name, name)
    store.get("a")  # used: b is now the least recently used
    store.set("d", "d")
    assert [store.get(n) for n in "abcd"] == ["a", None, "c", "d"]
    for i in range(100):
        store.set(f"more{i}", i)
    assert store.get("gen:tag:posts") == 1


def test_sqlite_store_add_is_atomic_and_takes_over_expired_entries(tmp_path):
    store = SqliteStore(tmp_path / "store.sqlite")
    assert store.add("k", "first", timeout=60)
    assert not store.add("k", "second", timeout=60)
    assert store.get("k") == "first"
    store.set("old", "x", timeout=-1)  # already expired
    assert store.add("old", "new", timeout=60)
    assert store.get("old") == "new"
    assert store.inc("gen:tag:a") == 1
    assert store.inc("gen:tag:a") == 2
    assert store.get_many("gen:tag:a", "missing", "k") == [2, None, "first"]


def test_tag_generations_survive_a_full_memory_cache(tmp_path):
    """cachelib's SimpleCache pruned generations first; revalidation was lost."""
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, SECRET_KEY="x", SERVER_ACTIONS_CACHE_MAX_ENTRIES=20)
    ServerActions(app)
    with app.test_request_context():
        cache = current_cache()
        revalidate_tag("posts")
        before = cache.generations(["posts"])
        for i in range(500):
            cache.set(f"fragment-{i}", "x")
        assert cache.generations(["posts"]) == before == [1]


def test_reading_generations_of_new_paths_stores_nothing(tmp_path):
    """A page at any number of paths must not fill the store with counters."""
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, SECRET_KEY="x")
    ServerActions(app)
    with app.app_context():
        cache = current_cache()
        for i in range(100):
            assert cache.generations(["posts"], f"/random/{i}") == [0, 0]
        assert len(cache.backend) == 0  # type: ignore[arg-type]


def test_an_unwritable_ledger_stops_the_app_at_start(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    app = Flask(__name__)
    app.config.update(SERVER_ACTIONS_LEDGER_PATH=str(blocker / "ledger.sqlite"))
    with pytest.raises(RuntimeError, match="SERVER_ACTIONS_LEDGER_PATH"):
        ServerActions(app)


def test_a_redis_claim_is_one_command_with_its_expiry(tmp_path):
    """cachelib's ``add`` is SETNX, then EXPIRE: a worker killed between the two
    would leave a claim that never expires. The toolkit's is one SET NX EX."""
    redis_or_skip()
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"sa-test-{uuid.uuid4().hex}:"
    app = make_app(
        tmp_path,
        [],
        SERVER_ACTIONS_CACHE="redis",
        SERVER_ACTIONS_REDIS_URL=REDIS_URL,
        SERVER_ACTIONS_CACHE_PREFIX=prefix,
    )
    try:
        with app.app_context():
            backend = current_cache().backend
            sent: list[str] = []
            connection = backend._write_client
            execute = connection.execute_command

            def record(*args, **options):
                sent.append(str(args[0]).upper())
                return execute(*args, **options)

            connection.execute_command = record
            assert backend.add("claim", "pending", timeout=60) is True
            assert backend.add("claim", "other", timeout=60) is False
            assert sent == ["SET", "SET"]
            assert 0 < client.ttl(prefix + "claim") <= 60
            assert backend.get("claim") == "pending"  # cachelib reads it back
            assert backend.add("forever", {"ok": True}, timeout=0) is True
            assert client.ttl(prefix + "forever") == -1
            assert backend.get("forever") == {"ok": True}
            # cachelib's reading of a timeout: a timedelta is whole seconds, None
            # the default, -1 never; a negative one is already over.
            assert backend.add("delta", 1, timeout=datetime.timedelta(seconds=5))
            assert client.ttl(prefix + "delta") == 5
            assert backend.add("default", 1) is True
            assert 0 < client.ttl(prefix + "default") <= backend.default_timeout
            assert backend.add("never", 1, timeout=-1) is True
            assert client.ttl(prefix + "never") == -1
            assert backend.add("over", 1, timeout=-5) is True
            time.sleep(0.01)
            assert backend.get("over") is None
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
