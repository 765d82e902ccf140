"""Every page has an icon: the browser's request for it succeeds, nothing is logged.

A page that links its icon gets it fetched on every load. A page that does not makes
Chromium ask for ``/favicon.ico`` by itself: only with JavaScript on, only once per
browser (a later context is not asked again, even after a 404), and out of sight of
Playwright's request events. So each page is opened with JavaScript in a browser of
its own, and the test waits until the server has answered an icon request.
"""

from __future__ import annotations

import logging
import time

import pytest

from .conftest import CHROMIUM
from .conftest import CHROMIUM_ARGS

PAGES = ["/", "/users", "/sign-in"]


@pytest.fixture
def own_browser(browser):
    """A Chromium that has not asked for any icon yet (``browser`` skips if absent)."""
    fresh = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield fresh
    fresh.close()


def icon_requests(caplog) -> list[tuple[str, str]]:
    """``(request line, status)`` of every icon request the site has answered."""
    answered = []
    for record in caplog.records:
        if record.name != "werkzeug" or not isinstance(record.args, tuple):
            continue
        line, status = str(record.args[0]), str(record.args[1])
        if "favicon" in line:
            answered.append((line, status))
    return answered


@pytest.mark.parametrize("path", PAGES)
def test_the_icon_of_a_page_is_found(own_browser, site, caplog, path):
    caplog.set_level(logging.INFO, logger="werkzeug")
    context = own_browser.new_context(java_script_enabled=True, base_url=site.url)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error"
            else None
        ),
    )
    try:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200
        deadline = time.monotonic() + 10
        while not icon_requests(caplog) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        answered = icon_requests(caplog)
        assert answered, "the browser never asked for an icon"
        assert all(status == "200" for _, status in answered), answered
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert errors == []
