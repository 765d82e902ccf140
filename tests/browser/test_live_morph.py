"""A live swap keeps what the user is doing inside the region; bursts coalesce (#16).

A small app of its own: a live region holding a scrolled list, an open
``<details>`` and a half-filled form. Another client revalidates the region's tag
(once, or many times in a burst) through a plain POST.
"""

from __future__ import annotations

import pytest
from flask import Blueprint
from flask import Flask

from flask_server_actions import ServerActions
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

from .conftest import LiveServer

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Live</title>
{{ server_actions_assets() }}</head>
<body {{ csrf_headers() }}>
<main>
{% region "board", tags=["board"], live=True %}
  <p id="version">Version {{ version }}</p>
  <ul id="scroller" style="height: 80px; overflow: auto">
    {% for i in range(40) %}<li>Line {{ i }}</li>{% endfor %}
  </ul>
  <details id="more"><summary>More</summary><p>Hidden until opened.</p></details>
  <form id="draft"><label>Draft <input id="draft-text" name="text"></label></form>
{% endregion %}
</main>
</body></html>
"""


def make_app(templates) -> Flask:
    (templates / "live.html").write_text(PAGE)
    app = Flask(__name__, template_folder=str(templates))
    app.config.update(SECRET_KEY="browser tests of live morphing")
    app.config["WTF_CSRF_ENABLED"] = False
    app.version = 0  # type: ignore[attr-defined]
    bp = Blueprint("live", __name__)

    @bp.get("/")
    def index():
        return render_page("live.html", version=app.version)

    # A change made elsewhere (another user, a job): revalidate ``times`` times.
    @bp.post("/bump/<int:times>")
    def bump(times: int):
        for _ in range(times):
            app.version += 1
            revalidate_tag("board")
        return "", 204

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    server = LiveServer(make_app(tmp_path_factory.mktemp("templates")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_page(browser, live_server, js):
    context = browser.new_context(java_script_enabled=js, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.region_gets = []
    page.on(
        "request",
        lambda r: (
            page.region_gets.append(r.url) if r.headers.get("hx-target") else None
        ),
    )
    page.goto("/")
    yield page
    context.close()
    assert errors == []


def bump(page, server, times=1):
    page.request.post(f"{server.url}/bump/{times}")
    return server.app.version


def test_a_live_swap_keeps_scroll_details_and_a_half_filled_form(
    live_page, live_server, js
):
    page = live_page
    if js:
        page.wait_for_selector("html[data-sa-live-state=live]")
    page.evaluate("document.getElementById('scroller').scrollTop = 300")
    page.locator("#more summary").click()
    page.locator("#draft-text").fill("Half a sentence")
    page.locator("#draft-text").evaluate(
        "el => { el.focus(); el.setSelectionRange(5, 5); }"
    )
    before = page.locator("#version").inner_text()
    version = bump(page, live_server)
    if not js:
        page.wait_for_timeout(500)
        assert page.locator("#version").inner_text() == before
        return
    page.wait_for_function(
        f"document.getElementById('version').textContent === 'Version {version}'",
        timeout=2_000,
    )
    assert page.evaluate("document.getElementById('scroller').scrollTop") == 300
    assert page.evaluate("document.getElementById('more').open")
    assert page.locator("#draft-text").input_value() == "Half a sentence"
    assert page.locator("#draft-text").evaluate(
        "el => document.activeElement === el && el.selectionStart === 5"
    )


def test_a_burst_of_revalidations_is_one_or_two_fetches(live_page, live_server, js):
    page = live_page
    if not js:
        return
    page.wait_for_selector("html[data-sa-live-state=live]")
    version = bump(page, live_server, times=20)
    page.wait_for_function(
        f"document.getElementById('version').textContent === 'Version {version}'",
        timeout=2_000,
    )
    page.wait_for_timeout(300)
    # Twenty events, coalesced: the first fetch, and at most one more for the
    # events that came while it was in flight.
    assert 1 <= len(page.region_gets) <= 2


def test_an_unchanged_region_is_answered_304(live_page, live_server, js):
    page = live_page
    if not js:
        return
    page.wait_for_selector("html[data-sa-live-state=live]")
    statuses = []
    page.on(
        "response",
        lambda r: (
            statuses.append(r.status) if r.request.headers.get("hx-target") else None
        ),
    )
    # The page asks for every live region once (a gap the server cannot replay):
    # nothing changed, so each answer is a 304 with no body.
    page.evaluate(
        """() => {
          const el = document.getElementById('board');
          return htmx.ajax('GET', '/', {source: el, target: el, swap: 'outerMorph',
            headers: {'If-None-Match': el.getAttribute('data-sa-etag')}});
        }"""
    )
    page.wait_for_timeout(300)
    assert statuses == [304]
    assert page.locator("#version").is_visible()
