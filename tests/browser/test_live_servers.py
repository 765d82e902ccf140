"""Live regions across two real gunicorn servers sharing one Redis, and a stopped worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.site_servers import flask_cli
from tests.site_servers import site_env
from tests.site_servers import sites_on_redis
from tests.site_servers import start_site
from tests.site_servers import stop
from tests.test_cache import redis_or_skip

from .helpers import remember_js
from .helpers import sign_in
from .helpers import unique

BODY = "Written in a real browser, with the text long enough."


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    redis_or_skip()
    folder = tmp_path_factory.mktemp("live-servers")
    with sites_on_redis(
        2,
        DATABASE_URL=f"sqlite:///{folder / 'site.db'}",
        SITE_INSTANCE_PATH=str(folder),
    ) as found:
        yield found


def workers_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


@pytest.fixture
def open_page(browser, js):
    contexts = []

    def opener(base_url):
        context = browser.new_context(java_script_enabled=js, base_url=base_url)
        remember_js(context, js)
        context.streams = []
        context.on(
            "request",
            lambda r, c=context: (
                c.streams.append(r.url) if "/_server_actions/live" in r.url else None
            ),
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield opener
    for context in contexts:
        context.close()


def publish(page, title):
    form = page.locator("form#posts-create-post")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Text").fill(BODY)
    form.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.goto("/posts")


def test_an_action_on_one_server_refreshes_a_browser_on_the_other(
    servers, open_page, js
):
    procs, (one, two) = servers
    author = open_page(one)
    sign_in(author, "grace@example.com", "/posts")
    reader = open_page(two)
    reader.goto("/posts")
    if js:
        expect(reader.locator("html")).to_have_attribute("data-sa-live-state", "live")

    title = unique("Across servers ")
    publish(author, title)
    latest = reader.locator("#post-list li").first
    if not js:
        reader.wait_for_timeout(500)
        expect(latest).not_to_contain_text(title)
        return
    expect(latest).to_contain_text(title, timeout=2_000)

    # The worker holding the reader's stream stops: its stream ends at once,
    # the reader reconnects (to the worker gunicorn starts in its place) and
    # catches up on what was published meanwhile.
    (worker,) = workers_of(procs[1].pid)
    streams = len(reader.context.streams)
    os.kill(worker, signal.SIGTERM)
    missed = unique("While reconnecting ")
    publish(author, missed)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{worker}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{worker}"), "the worker did not stop"
    expect(latest).to_contain_text(missed, timeout=10_000)
    assert len(reader.context.streams) > streams
    expect(reader.locator("html")).to_have_attribute("data-sa-live-state", "live")


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """One server, two workers, no Redis: events go through the shared SQLite file."""
    folder = tmp_path_factory.mktemp("live-workers")
    env = site_env(
        DATABASE_URL=f"sqlite:///{folder / 'site.db'}",
        SITE_INSTANCE_PATH=str(folder),
        CACHE_BACKEND="filesystem",
        CACHE_DIR=str(folder / "cache"),
        WEB_CONCURRENCY="2",
    )
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "seed")
    proc, url = start_site(env)
    try:
        yield proc, url
    finally:
        stop(proc)


def test_workers_without_redis_share_events_through_sqlite(two_workers, open_page, js):
    proc, url = two_workers
    deadline = time.monotonic() + 15
    while len(workers_of(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers_of(proc.pid)) == 2
    author = open_page(url)
    sign_in(author, "grace@example.com", "/posts")
    reader = open_page(url)
    reader.goto("/posts")
    latest = reader.locator("#post-list li").first
    if not js:
        title = unique("Without Redis ")
        publish(author, title)
        expect(latest).not_to_contain_text(title)
        return
    expect(reader.locator("html")).to_have_attribute("data-sa-live-state", "live")
    # Several posts: the kernel spreads them over both workers, so some are
    # published by the worker that does not hold the reader's stream.
    for _ in range(3):
        title = unique("Without Redis ")
        publish(author, title)
        expect(latest).to_contain_text(title, timeout=2_000)


def test_a_killed_worker_is_reconnected_to_with_backoff(servers, open_page, js):
    procs, (one, two) = servers
    if not js:
        # The stream is JavaScript's: without it there is none to lose.
        reader = open_page(two)
        reader.goto("/posts")
        assert reader.context.streams == []
        return
    author = open_page(one)
    sign_in(author, "grace@example.com", "/posts")
    reader = open_page(two)
    reader.goto("/posts")
    expect(reader.locator("html")).to_have_attribute("data-sa-live-state", "live")
    reader.evaluate(
        "window.__states = [];"
        " document.addEventListener('sa:live-state', e => __states.push(e.detail.state))"
    )
    # No goodbye this time: the connection just breaks.
    (worker,) = workers_of(procs[1].pid)
    os.kill(worker, signal.SIGKILL)
    missed = unique("After a crash ")
    publish(author, missed)
    latest = reader.locator("#post-list li").first
    expect(latest).to_contain_text(missed, timeout=15_000)
    states = reader.evaluate("window.__states")
    assert "reconnecting" in states
    assert states[-1] == "live"
