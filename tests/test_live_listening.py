"""Live events are stored only once someone listens, and pages rendered just then.

A site that renders no live region must not pay for live events (a write per
action, a file, a thread per worker); a page rendered while events were not
yet stored must not miss a change.
"""

from __future__ import annotations

import threading

import pytest

from flask_server_actions.events import LISTEN_GRACE
from flask_server_actions.events import LISTENED_FILE
from flask_server_actions.events import SKIPPED_FILE
from flask_server_actions.events import UNKNOWN_ID
from flask_server_actions.events import SqliteEventLog

from .test_live import add
from .test_live import events
from .test_live import live_config
from .test_live import live_site
from .test_live import read_stream

#: A browser without JavaScript: the answer is a 303, no region is rendered.
PLAIN: dict[str, str] = {}


@pytest.fixture
def app(app):
    # Nothing in the action reads the log: only pages and streams listen.
    return live_site(app, watch=False)


def live_threads() -> int:
    return sum(t.name == "server-actions-live" for t in threading.enumerate())


def test_an_action_stores_no_event_until_a_live_region_is_rendered(app, client):
    log = events(app)
    assert add(client, "before anyone listens", PLAIN).status_code == 303
    assert not log.listened()
    client.get("/live")  # its live regions listen
    assert log.listened()
    n = log.parse(log.latest())
    assert n == 0  # the first action stored nothing
    add(client, "after", PLAIN)
    assert [e.topics for e in log.after(n)] == [("tag:counts", "tag:posts")]


@live_config
def test_a_page_rendered_just_after_the_first_listen_refetches_once(app, client):
    log = events(app)
    add(client, "while nobody listens", PLAIN)
    html = client.get("/live").text
    # That action may have changed the data while this page read it, and
    # stored no event: its live regions carry an id of no log ...
    assert f'data-sa-live-since="{UNKNOWN_ID}"' in html
    assert f'data-sa-live-since="{log.epoch}.' not in html
    # ... so the stream starts with a refetch, as it does for any page that
    # connects then, whatever id it resumes from.
    _, messages = read_stream(client, f"topics=tag:posts&last={UNKNOWN_ID}")
    assert messages[0]["event"] == "refetch"
    _, messages = read_stream(client, f"topics=tag:posts&last={log.latest()}")
    assert messages[0]["event"] == "refetch"
    # Later, pages carry the log's own id and resume without a refetch.
    log.stored_since -= LISTEN_GRACE
    html = client.get("/live").text
    assert f'data-sa-live-since="{log.latest()}"' in html
    _, messages = read_stream(client, f"topics=tag:posts&last={log.latest()}")
    assert not [m for m in messages if m["event"] == "refetch"]


@live_config
def test_a_page_needs_no_refetch_when_no_event_was_skipped(app, client):
    log = events(app)
    html = client.get("/live").text  # the first listen, and no action before it
    assert f'data-sa-live-since="{log.latest()}"' in html
    _, messages = read_stream(client, f"topics=tag:posts&last={log.latest()}")
    assert not [m for m in messages if m["event"] == "refetch"]


def test_a_sqlite_log_has_no_file_and_no_thread_before_a_reader(tmp_path):
    folder = tmp_path / "cache"
    path = folder / "live-events.sqlite"
    publisher = SqliteEventLog(str(path))  # a worker that only answers actions
    assert publisher.publish(["tag:posts"]) is None
    assert not path.exists()
    assert not (folder / LISTENED_FILE).exists()
    assert (folder / SKIPPED_FILE).exists()  # for the grace after the first listen
    threads = live_threads()
    reader = SqliteEventLog(str(path))  # another worker renders a live page
    n = reader.parse(reader.latest())
    assert (folder / LISTENED_FILE).exists()
    assert live_threads() == threads + 1  # the reader's
    # The publisher hears of the reader from the marker, and still needs no
    # thread of its own.
    event = publisher.publish(["tag:posts"], "tab-1234abcd")
    assert event is not None
    assert event.n == n + 1
    assert live_threads() == threads + 1
    assert publisher.stored_since == reader.stored_since > 0
    assert reader.in_grace()  # it heard of the publisher's skipped event
    # A later reader finds the marker as it was: events are stored since then.
    later = SqliteEventLog(str(path))
    later.latest()
    assert later.stored_since == reader.stored_since
    reader.stop()
    later.stop()


def test_a_sqlite_log_read_first_has_no_grace(tmp_path):
    reader = SqliteEventLog(str(tmp_path / "live-events.sqlite"))
    reader.latest()
    assert not reader.in_grace()
    assert reader.cursor() == reader.latest()
    reader.stop()
