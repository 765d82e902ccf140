"""A real server and a real Chromium, for every page with JavaScript on and off."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.models import db
from tests.services import unavailable_service

from .helpers import remember_js
from .helpers import scripts_settled

CHROMIUM = "/usr/bin/chromium"
# Flags that keep Chromium off the network and quiet in a sandboxed machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable_service(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class LiveServer:
    def __init__(self, app) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    os.environ["SITE_INSTANCE_PATH"] = str(instance)
    app = create_app(
        {
            "SECRET_KEY": "browser tests",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'site.db'}",
            "TEST_ACTION_DELAY": 0.0,
            "TEST_QUERY_DELAYS": {},
            # One shared server signs in far more often than a person would.
            "SITE_SIGN_IN_RATE_LIMIT": "1000/minute",
        }
    )
    answered_queries: list[str] = []

    # Test-only: lets a test hold actions in flight to see the pending state.
    @app.before_request
    def slow_actions():
        from flask import request

        delay = app.config["TEST_ACTION_DELAY"]
        if delay and request.method == "POST":
            time.sleep(delay)

    # Test-only: holds GETs by their ``q`` (a search), so one search can be
    # slower than the next, and records each answered one (even if aborted).
    @app.before_request
    def slow_queries():
        from flask import request

        query = request.args.get("q")
        if request.method != "GET" or query is None:
            return
        delay = app.config["TEST_QUERY_DELAYS"].get(query)
        if delay:
            time.sleep(delay)

    @app.after_request
    def record_query(response):
        from flask import request

        if request.method == "GET" and "q" in request.args:
            answered_queries.append(request.args["q"])
        return response

    server = LiveServer(app)
    server.answered_queries = answered_queries
    server.start()
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def slow(site):
    """Hold every POST for ``seconds`` while the test runs."""

    def set_delay(seconds: float) -> None:
        site.app.config["TEST_ACTION_DELAY"] = seconds

    yield set_delay
    site.app.config["TEST_ACTION_DELAY"] = 0.0


@pytest.fixture
def slow_search(site):
    """Hold GETs whose ``q`` is a key of ``delays`` for that many seconds."""

    def set_delays(delays: dict[str, float]) -> None:
        site.app.config["TEST_QUERY_DELAYS"] = dict(delays)

    yield set_delays
    site.app.config["TEST_QUERY_DELAYS"] = {}


@pytest.fixture(params=["js", "nojs"])
def js(request):
    """Run the test twice: JavaScript on, then off."""
    return request.param == "js"


@pytest.fixture
def page(browser, site, js):
    context = browser.new_context(java_script_enabled=js, base_url=site.url)
    remember_js(context, js)
    page = context.new_page()
    page.set_default_timeout(10_000)
    goto = page.goto

    def goto_settled(url: str, **kwargs):
        # A person reads the page before using it; a test acts at once, so it
        # waits the moment the toolkit's optional scripts take to start.
        response = goto(url, **kwargs)
        scripts_settled(page)
        return response

    page.goto = goto_settled
    errors: list[str] = []
    page.on(
        "pageerror",
        lambda exc: errors.append(getattr(exc, "stack", None) or str(exc)),
    )
    # Chromium reports every Content-Security-Policy violation on the console.
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            violations.append(msg.text)
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
    assert violations == [], f"Content-Security-Policy violations: {violations}"
