"""Live regions: markup, events after commit, ETag/304, the stream, the event logs."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time

import pytest
import redis as redis_lib
from flask import Blueprint
from flask_wtf import FlaskForm
from wtforms import StringField

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag
from flask_server_actions.appstate import app_state
from flask_server_actions.events import EventLog
from flask_server_actions.events import RedisEventLog
from flask_server_actions.events import SqliteEventLog

from .services import unavailable_service

HTMX = {"HX-Request": "true", "HX-Target": "form#live-add-post"}
REGION = {"HX-Request": "true", "HX-Target": "div#post-list"}


class PostForm(FlaskForm):
    title = StringField("Title")


def live_site(app, *, watch=True):
    """A page with live regions and an action that revalidates them.

    ``watch``: the action and its transaction note the newest event id (which
    reads the log, and so listens to it) in ``app.seen``.
    """
    app.config["WTF_CSRF_ENABLED"] = False
    posts: list[str] = []
    seen: dict[str, list[str]] = {"at_commit": [], "in_action": []}
    bp = Blueprint("live", __name__)

    @bp.get("/live")
    def index():
        return render_page("live.html", posts=lazy(lambda: list(posts)))

    @action(bp, page=index, form=PostForm, allow=allow.public)
    def add_post(form):
        posts.append(form.title.data)
        revalidate_tag("posts", "counts")
        if watch:
            seen["in_action"].append(app_state().events.latest())
        return ActionState.success("Added.")

    @contextlib.contextmanager
    def transaction():
        yield
        if watch:
            seen["at_commit"].append(app_state().events.latest())

    app.seen = seen
    ServerActions(app, transaction=transaction)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def app(app):
    return live_site(app)


def add(client, title, headers=HTMX):
    return client.post(
        "/actions/add-post", data={"title": title, "_sa_page": "/live"}, headers=headers
    )


def events(app):
    return app.extensions["server_actions"].events


def listened_long_ago(log):
    """``log`` as a site has it once it has served live pages for a while."""
    log.listen()
    log.stored_since = 0.0
    return log


@pytest.fixture(autouse=True)
def _live_site(app):
    listened_long_ago(events(app))


def test_live_region_names_its_topics_validator_and_start(client, app):
    html = client.get("/live").text
    log = events(app)
    assert (
        '<div id="post-list" data-sa-region data-sa-tags="posts"'
        ' data-sa-live="tag:posts path:/live" data-sa-etag="'
    ) in html
    assert f'data-sa-live-since="{log.epoch}.0"' in html
    # live="counts": only that tag's events refresh it.
    assert 'data-sa-live="tag:counts"' in html
    # A region that is not live says nothing of it.
    assert '<div id="clock" data-sa-region data-sa-tags="time">' in html


def test_page_with_live_regions_can_load_the_live_script(client):
    html = client.get("/live").text
    # The toolkit's script loads server-actions-live.min.js from beside itself
    # where [data-sa-live] is, and opens the stream at data-sa-live-url.
    assert 'src="/_server_actions/server-actions.min.js"' in html
    assert "data-sa-live=" in html
    assert 'data-sa-live-url="/_server_actions/live"' in html
    with client.get("/_server_actions/server-actions-live.min.js") as script:
        assert script.status_code == 200


def test_region_get_has_an_etag_and_answers_304_when_unchanged(client):
    first = client.get("/live", headers=REGION)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert f'data-sa-etag="{etag.replace(chr(34), "&#34;")}"' in first.text
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/live", headers={**REGION, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag


def test_region_get_answers_200_after_a_revalidation(client):
    etag = client.get("/live", headers=REGION).headers["ETag"]
    add(client, "hello")
    after = client.get("/live", headers={**REGION, "If-None-Match": etag})
    assert after.status_code == 200
    assert "<li>hello</li>" in after.text
    assert after.headers["ETag"] != etag


def test_etag_differs_between_visitors(app):
    one, two = app.test_client(), app.test_client()
    for c in (one, two):  # a session of their own (a cart, a to-do list)
        with c.session_transaction() as session:
            session["csrf_token"] = os.urandom(8).hex()
    assert (
        one.get("/live", headers=REGION).headers["ETag"]
        != two.get("/live", headers=REGION).headers["ETag"]
    )


def test_events_are_published_after_the_transaction(client, app):
    log = events(app)
    before = log.latest()
    add(client, "hello")
    # Inside the action (and at the end of the transaction) nothing was published.
    assert app.seen["in_action"] == [before]
    assert app.seen["at_commit"] == [before]
    n = log.parse(before)
    found = log.after(n)
    assert [tuple(e.topics) for e in found] == [("tag:counts", "tag:posts")]
    assert found[0].origin is None


def test_event_names_the_tab_that_made_it(client, app):
    log = events(app)
    n = log.parse(log.latest())
    add(client, "hello", headers={**HTMX, "X-SA-Live-Client": "tab-1234abcd"})
    add(client, "again", headers={**HTMX, "X-SA-Live-Client": "<script>"})
    assert [e.origin for e in log.after(n)] == ["tab-1234abcd", None]


def test_morph_region_swaps_out_of_band_by_morphing(client):
    html = add(client, "hello").text
    assert 'id="post-count"' in html
    assert 'hx-swap-oob="outerMorph">1</span>' in html
    assert 'data-sa-live="tag:posts path:/live" data-sa-etag' in html
    assert 'hx-swap-oob="outerHTML"><ul><li>hello</li>' in html


# -- the stream ----------------------------------------------------------------


def read_stream(client, query, *, during=None, headers=None):
    """The stream's messages until its time limit ends it (``during`` runs meanwhile)."""
    if during is not None:
        threading.Timer(0.2, during).start()
    response = client.get(f"/_server_actions/live?{query}", headers=headers or {})
    assert response.status_code == 200, response.text
    messages = []
    for block in response.text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line
        )
        if "event" in fields:
            messages.append(fields)
    # First the heartbeat's interval, so the browser knows when to give up on it.
    assert messages[0]["event"] == "hello"
    return response, messages[1:]


live_config = pytest.mark.app_config(
    SERVER_ACTIONS_LIVE_TIME_LIMIT=1, SERVER_ACTIONS_LIVE_HEARTBEAT=0.3
)


@live_config
def test_stream_sends_only_the_topics_asked_for(app, client):
    log = events(app)

    def publish():
        log.publish(["tag:other"])
        log.publish(["tag:posts", "tag:secret"], "tab-1234abcd")

    response, messages = read_stream(
        client, "topics=tag:posts+path:/live", during=publish
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/event-stream"
    bumps = [m for m in messages if m["event"] == "bump"]
    assert bumps == [
        {
            "id": f"{log.epoch}.2",
            "event": "bump",
            "data": json.dumps(
                {"t": ["tag:posts"], "o": "tab-1234abcd"}, separators=(",", ":")
            ),
        }
    ]
    assert any(m["event"] == "hb" for m in messages)
    # The time limit: the browser reconnects at once, resuming from the last id.
    assert messages[-1] == {"id": f"{log.epoch}.2", "event": "reconnect", "data": ""}


@live_config
def test_stream_resumes_after_the_last_id(app, client):
    log = events(app)
    log.publish(["tag:posts"])
    last = log.latest()
    log.publish(["tag:posts"])
    log.publish(["tag:other"])
    _, messages = read_stream(client, f"topics=tag:posts&last={last}")
    assert messages[0] == {
        "id": f"{log.epoch}.2",
        "event": "bump",
        "data": '{"t":["tag:posts"],"o":null}',
    }
    assert not [m for m in messages if m["event"] == "refetch"]


@live_config
def test_stream_resumes_from_last_event_id_header(app, client):
    log = events(app)
    last = log.latest()
    log.publish(["tag:posts"])
    _, messages = read_stream(
        client, "topics=tag:posts", headers={"Last-Event-ID": last}
    )
    assert messages[0]["event"] == "bump"


@pytest.mark.app_config(
    SERVER_ACTIONS_LIVE_TIME_LIMIT=1,
    SERVER_ACTIONS_LIVE_HEARTBEAT=0.3,
    SERVER_ACTIONS_LIVE_REPLAY=2,
)
def test_stream_says_refetch_when_it_cannot_replay(app, client):
    log = events(app)
    last = log.latest()
    for _ in range(3):
        log.publish(["tag:posts"])
    _, messages = read_stream(client, f"topics=tag:posts&last={last}")
    assert messages[0] == {"id": f"{log.epoch}.3", "event": "refetch", "data": ""}
    assert not [m for m in messages if m["event"] == "bump"]


@live_config
def test_stream_says_refetch_for_an_id_of_another_log(client):
    _, messages = read_stream(client, "topics=tag:posts&last=feedface.12")
    assert messages[0]["event"] == "refetch"


@pytest.mark.app_config(
    SERVER_ACTIONS_LIVE_PER_PROCESS=1, SERVER_ACTIONS_LIVE_TIME_LIMIT=2
)
def test_stream_over_the_process_cap_is_refused(app):
    first = app.test_client().get("/_server_actions/live?topics=tag:x", buffered=False)
    try:
        second = app.test_client().get("/_server_actions/live?topics=tag:x")
        assert second.status_code == 429
        assert second.headers["Retry-After"]
    finally:
        first.close()
    third = app.test_client().get("/_server_actions/live?topics=tag:x", buffered=False)
    assert third.status_code == 200
    third.close()


@pytest.mark.app_config(
    SERVER_ACTIONS_LIVE_PER_USER=2,
    SERVER_ACTIONS_LIVE_TIME_LIMIT=2,
    # Reports' streams are counted apart: none allowed does not stop live ones.
    SERVER_ACTIONS_STREAMS_PER_PROCESS=1,
)
def test_stream_over_the_user_cap_is_refused(client):
    opened = [
        client.get("/_server_actions/live?topics=tag:x", buffered=False)
        for _ in range(2)
    ]
    try:
        assert [r.status_code for r in opened] == [200, 200]
        assert client.get("/_server_actions/live").status_code == 429
    finally:
        for response in opened:
            response.close()


@live_config
def test_stream_ends_when_the_process_stops(app, client):
    log = events(app)
    started = time.monotonic()
    _, messages = read_stream(client, "topics=tag:x", during=log.stop)
    assert time.monotonic() - started < 0.9
    assert messages[-1]["event"] == "reconnect"


# -- event logs shared between processes -----------------------------------------


def wait_for(log, n, timeout=3.0):
    deadline = time.monotonic() + timeout
    found = []
    while time.monotonic() < deadline:
        found = log.wait(n, 0.2) or []
        if found:
            return found
    return found


def test_memory_log_keeps_the_last_events():
    log = listened_long_ago(EventLog(keep=2))
    for topic in ("tag:a", "tag:b", "tag:c"):
        log.publish([topic])
    assert [e.topics for e in log.after(1)] == [("tag:b",), ("tag:c",)]
    assert log.after(0) is None  # the first one is gone
    assert log.after(3) == []
    assert log.after(4) is None  # not from this log


def test_sqlite_log_is_shared_by_two_logs_on_one_file(tmp_path):
    path = str(tmp_path / "events.sqlite")
    writer, reader = SqliteEventLog(path), SqliteEventLog(path)
    n = reader.parse(reader.latest())
    # The writer hears that someone listens from the reader's marker.
    writer.publish(["tag:posts"], "tab-1234abcd")
    found = wait_for(reader, n)
    assert [(e.topics, e.origin) for e in found] == [(("tag:posts",), "tab-1234abcd")]
    assert writer.parse(writer.latest()) == n + 1
    assert writer.epoch == reader.epoch
    reader.stop()
    writer.stop()


def test_sqlite_log_replays_from_the_file(tmp_path):
    path = str(tmp_path / "events.sqlite")
    first = SqliteEventLog(path, keep=3)
    first.listen()
    # The oldest events are dropped at every 64th, down to the last ``keep``.
    for n in range(1, 71):
        first.publish([f"tag:t{n}"])
    later = SqliteEventLog(path, keep=3)
    assert [e.topics for e in later.after(67)] == [
        ("tag:t68",),
        ("tag:t69",),
        ("tag:t70",),
    ]
    assert [e.n for e in later.after(61)] == list(range(62, 71))
    assert later.after(60) is None
    assert later.after(0) is None
    first.stop()
    later.stop()


def redis_or_skip():
    client = redis_lib.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis_lib.exceptions.ConnectionError:
        unavailable_service("Redis is not reachable at 127.0.0.1:6379")
    return client


def test_redis_log_is_shared_by_two_logs(request):
    redis = redis_or_skip()
    prefix = f"test-live-{os.urandom(4).hex()}:"
    request.addfinalizer(lambda: [redis.delete(k) for k in redis.keys(f"{prefix}*")])
    writer = RedisEventLog(redis, prefix)
    reader = RedisEventLog(redis, prefix)
    assert writer.epoch == reader.epoch
    n = reader.parse(reader.latest())
    time.sleep(0.3)  # the reader's listener subscribes
    writer.publish(["tag:posts"])
    found = wait_for(reader, n)
    assert [e.topics for e in found] == [("tag:posts",)]
    # A third process that starts later replays from the list.
    late = RedisEventLog(redis, prefix)
    assert [e.topics for e in late.after(n)] == [("tag:posts",)]
    for log in (writer, reader, late):
        log.stop()


@pytest.fixture
def live_redis():
    """A Redis client and a key prefix of this test's own, removed afterwards."""
    redis = redis_or_skip()
    prefix = f"test-live-{os.urandom(4).hex()}:"
    yield redis, prefix
    for key in redis.keys(f"{prefix}*"):
        redis.delete(key)


def listening(redis, prefix):
    """A log whose listener has subscribed, and the newest event's number."""
    log = RedisEventLog(redis, prefix)
    n = log.parse(log.latest())
    time.sleep(0.3)  # the listener subscribes
    return log, n


def commands_of(client, thread: threading.Thread | None = None) -> list[str]:
    """The names of the commands ``client`` sends from now on (from ``thread``
    only, if given)."""
    sent: list[str] = []
    execute = client.execute_command

    def record(*args, **options):
        if thread is None or threading.current_thread() is thread:
            sent.append(str(args[0]).upper())
        return execute(*args, **options)

    client.execute_command = record
    return sent


def test_a_redis_event_is_one_round_trip_and_listeners_read_nothing(live_redis):
    _, prefix = live_redis
    url = "redis://127.0.0.1:6379/0"
    # A client each, so each one's commands can be told apart.
    writer, _ = listening(redis_lib.Redis.from_url(url), prefix)
    reader, n = listening(redis_lib.Redis.from_url(url), prefix)
    writer.publish(["tag:warm"])  # loads the script into Redis
    assert [e.topics for e in wait_for(reader, n)] == [("tag:warm",)]
    # What publish() sends; the writer's own listener may still be catching up
    # from its start (a read at most once, on a loaded machine), which is not
    # what this counts.
    written = commands_of(writer.client, threading.current_thread())
    read = commands_of(reader.client)
    writer.publish(["tag:posts"], "tab-1234abcd")
    writer.publish(["path:/blog", "tag:posts"])
    found = []
    deadline = time.monotonic() + 3
    while len(found) < 2 and time.monotonic() < deadline:
        found = reader.after(n + 1) or []
        time.sleep(0.02)
    assert [(e.topics, e.origin) for e in found] == [
        (("tag:posts",), "tab-1234abcd"),
        (("path:/blog", "tag:posts"), None),
    ]
    assert written == ["EVALSHA", "EVALSHA"]
    assert read == []  # the announcements carried the events
    # A later process still replays them from the list.
    late = RedisEventLog(redis_lib.Redis.from_url(url), prefix)
    assert [e.topics for e in late.after(n)] == [
        ("tag:warm",),
        ("tag:posts",),
        ("path:/blog", "tag:posts"),
    ]
    for log in (writer, reader, late):
        log.stop()


def test_a_number_announced_by_an_older_worker_is_read_from_the_list(live_redis):
    redis, prefix = live_redis
    reader, n = listening(redis, prefix)
    # What a worker of the previous release wrote: the record, then the number.
    redis.incr(f"{prefix}live:n")
    redis.rpush(f"{prefix}live:log", f'[{n + 1},["tag:old"],null]')
    redis.publish(f"{prefix}live:news", str(n + 1))
    assert [e.topics for e in wait_for(reader, n)] == [("tag:old",)]
    reader.stop()


def test_events_the_backend_cannot_give_leave_no_hole(live_redis):
    """Two announcements lost and the list trimmed under them: the next event
    must not sit after a hole that a stream would read past."""
    redis, prefix = live_redis
    log = RedisEventLog(redis, prefix)
    log.publish(["tag:a"])
    n = log.parse(log.latest())
    # Events n+1 and n+2 were published elsewhere, but their records are gone.
    redis.incrby(f"{prefix}live:n", 2)
    d = log.publish(["tag:d"])
    assert d is not None
    # Not the next one here: the log takes it in when its announcement arrives.
    deadline = time.monotonic() + 3
    while log.parse(log.latest()) != d.n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.after(n) is None  # a gap: the streams refetch
    assert [e.topics for e in log.after(n + 2)] == [("tag:d",)]
    log.stop()


def test_an_announcement_that_is_not_an_event_is_ignored(live_redis):
    redis, prefix = live_redis
    reader, n = listening(redis, prefix)
    redis.publish(f"{prefix}live:events", "not json")
    redis.publish(f"{prefix}live:events", '{"n": 1}')
    RedisEventLog(redis, prefix).publish(["tag:after"])
    assert [e.topics for e in wait_for(reader, n)] == [("tag:after",)]
    reader.stop()


def test_a_sqlite_log_reads_nothing_when_it_publishes(tmp_path):
    path = str(tmp_path / "events.sqlite")
    log = SqliteEventLog(path)
    log.poll = 60  # its thread stays out of the way: only publishing reads here
    log.latest()  # a reader: starts the log's thread, reads the newest
    log.publish(["tag:first"])
    reads: list[str] = []
    read_after = log._read_after
    log._read_after = lambda n: reads.append(n) or read_after(n)
    log.publish(["tag:second"])
    log.publish(["tag:third"])
    assert reads == []
    assert [e.topics for e in log.after(1)] == [("tag:second",), ("tag:third",)]
    # Another process's event in between: publishing still reads nothing ...
    other = SqliteEventLog(path)
    other.publish(["tag:elsewhere"])
    fourth = log.publish(["tag:fourth"])
    assert fourth is not None
    assert fourth.n == 5
    assert reads == []
    # ... a region rendered after it still says it shows it ...
    assert log.latest(fourth.n) == f"{log.epoch}.5"
    # ... and the log's thread reads both on its next look.
    with log._cond:
        log._catch_up_locked(log._read_newest())
    assert reads == [3]
    assert [e.topics for e in log.after(3)] == [("tag:elsewhere",), ("tag:fourth",)]
    log.stop()
    other.stop()


@pytest.mark.app_config(
    SERVER_ACTIONS_LIVE_PER_USER=1, SERVER_ACTIONS_LIVE_TIME_LIMIT=2
)
def test_visitors_behind_one_address_each_have_their_own_cap(app):
    visitors = [app.test_client() for _ in range(2)]
    for visitor in visitors:
        with visitor.session_transaction() as session:
            session["csrf_token"] = os.urandom(8).hex()
    opened = [
        v.get("/_server_actions/live?topics=tag:x", buffered=False) for v in visitors
    ]
    try:
        assert [r.status_code for r in opened] == [200, 200]
        again = visitors[0].get("/_server_actions/live?topics=tag:x")
        assert again.status_code == 429
    finally:
        for response in opened:
            response.close()


def test_regions_in_an_answer_are_rendered_after_its_event(client, app):
    # The tab that acted knows from this that its answer shows the change:
    # it refetches none of these regions when the event reaches it.
    html = add(client, "hello").text
    latest = events(app).latest()
    assert html.count(f'data-sa-live-since="{latest}"') == 2


def test_etag_follows_the_live_tags_too(app, client):
    # "stock-note" has no tags of its own, only live="stock".
    headers = {"HX-Request": "true", "HX-Target": "span#stock-note"}
    etag = client.get("/live", headers=headers).headers["ETag"]
    assert client.get("/live", headers=headers).headers["ETag"] == etag
    with app.test_request_context("/"):
        revalidate_tag("stock")
    assert client.get("/live", headers=headers).headers["ETag"] != etag


@pytest.mark.app_config(
    SERVER_ACTIONS_LIVE_PER_USER=1,
    SERVER_ACTIONS_LIVE_PER_ADDRESS=2,
    SERVER_ACTIONS_LIVE_TIME_LIMIT=2,
)
def test_new_sessions_do_not_get_around_the_cap_of_an_address(app):
    """A visitor's session is one page load away: an address has a cap too."""
    visitors = [app.test_client() for _ in range(3)]
    for visitor in visitors:
        with visitor.session_transaction() as session:
            session["csrf_token"] = os.urandom(8).hex()
    opened = [
        v.get("/_server_actions/live?topics=tag:x", buffered=False)
        for v in visitors[:2]
    ]
    try:
        assert [r.status_code for r in opened] == [200, 200]
        third = visitors[2].get("/_server_actions/live?topics=tag:x")
        assert third.status_code == 429
    finally:
        for response in opened:
            response.close()
    # Closed streams give their places back, the address's included.
    again = visitors[2].get("/_server_actions/live?topics=tag:x", buffered=False)
    try:
        assert again.status_code == 200
    finally:
        again.close()
