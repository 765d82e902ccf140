from __future__ import annotations

import contextlib
import typing as t
import uuid
import weakref

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page
from playwright.sync_api import Route
from playwright.sync_api import expect

_AXE = Axe()
#: Every rule axe-core ships except experimental ones: WCAG 2.0-2.2 A and AA
#: and best practices (landmarks, heading order, ...).
_AXE_OPTIONS: dict[str, t.Any] = {"resultTypes": ["violations"]}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def same_document(page: Page, js: bool):
    """With JavaScript, assert the action did not reload the page."""
    if js:
        page.evaluate("window.__stayed = true")
    yield
    if js:
        assert page.evaluate("window.__stayed === true"), "the page reloaded"


def submit_and_status(page: Page, button_name: str) -> int:
    """Click the submit button and return the status of the action's answer."""
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.get_by_role("button", name=button_name).click()
    status = info.value.status
    page.wait_for_load_state()
    return status


#: Which browser contexts run JavaScript, recorded by the ``page`` fixture, so
#: helpers know whether they may evaluate script in the page.
_JS_ENABLED: weakref.WeakKeyDictionary[BrowserContext, bool] = (
    weakref.WeakKeyDictionary()
)


def remember_js(context: BrowserContext, js: bool) -> None:
    _JS_ENABLED[context] = js


def expect_focus(page: Page, element_id: str) -> None:
    """Wait (as Playwright's expect does) until the element ``element_id`` has focus.

    Focus moves after the swap or page load settles, a moment after the response.
    """
    expect(page.locator(f"[id='{element_id}']")).to_be_focused()


def focused_id(page: Page) -> str | None:
    """The id of the focused element, or ``None`` when focus is on ``<body>``.

    Works with JavaScript off too: locators run in Playwright's own world,
    while ``page.evaluate`` would wait forever for a script that may not run.
    """
    focused = page.locator(":focus")
    if focused.count() == 0:
        return None
    return focused.first.get_attribute("id")


def _axe_results(page: Page) -> dict[str, t.Any]:
    # Colours are judged as they settle, not mid fade-in: with reduced motion the
    # site's entrance animations (a streamed report's months) are off.
    page.emulate_media(reduced_motion="reduce")
    return dict(_AXE.run(page, options=_AXE_OPTIONS).response)


def _axe_on_snapshot(page: Page) -> dict[str, t.Any]:
    """Run axe on the DOM of a page that runs no script.

    With JavaScript off, Chromium never runs ``page.evaluate``, so axe cannot run
    there. Instead the page's HTML is served again, at the same URL (so its
    stylesheets load and colours count), to a JavaScript-enabled context that
    blocks the page's own scripts: axe sees the no-JS page, and only axe runs.
    """
    html = page.content()
    url = page.url
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(
        java_script_enabled=True,
        viewport=page.viewport_size,
        # The page is drawn anew here: skip its entrance animations (see above).
        reduced_motion="reduce",
    )

    def serve(route: Route) -> None:
        request = route.request
        if request.url == url and request.resource_type == "document":
            route.fulfill(body=html, content_type="text/html; charset=utf-8")
        elif request.resource_type == "script":
            route.abort()
        else:
            route.continue_()

    try:
        context.route("**/*", serve)
        snapshot = context.new_page()
        snapshot.goto(url)
        return _axe_results(snapshot)
    finally:
        context.close()


def assert_no_axe_violations(page: Page, *, js: bool | None = None) -> None:
    """Fail with a readable list if axe-core finds any violation on ``page``.

    ``js`` says whether the page runs JavaScript; pages made by the ``page``
    fixture are known, so it is only needed for contexts made elsewhere.
    """
    if js is None:
        try:
            js = _JS_ENABLED[page.context]
        except KeyError:
            raise ValueError(
                "Pass js= for a page the 'page' fixture did not make."
            ) from None
    results = _axe_results(page) if js else _axe_on_snapshot(page)
    violations = results["violations"]
    report = [
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(
            f"    {node['target']}: {node.get('failureSummary', '')}"
            for node in v["nodes"]
        )
        for v in violations
    ]
    assert not violations, (
        f"axe-core found {len(violations)} violation(s) on {page.url}"
        f" (JavaScript {'on' if js else 'off'}):\n" + "\n".join(report)
    )
