from __future__ import annotations

import contextlib
import re
import time
import typing as t
import uuid
import weakref

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page
from playwright.sync_api import Request
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


def is_check(request: Request) -> bool:
    """Whether ``request`` is a validation check (a field asking while typing)."""
    return "sa-validate" in request.headers


def checks_settled(page: Page) -> None:
    """Let the validation checks that typing sets off finish before a click.

    Leaving a field checks it, and its answer puts an error list in (or takes
    one out): the button below moves. A person sees that and aims again; a test
    would press where the button was, and the click would land on nothing.
    """
    if not _JS_ENABLED.get(page.context, True):
        return
    if not page.locator("[data-sa-validate]").count():
        return
    # Quiet for longer than the checks' 500 ms debounce after the last input.
    with fetches_settle(page, quiet_ms=700):
        page.evaluate("document.activeElement && document.activeElement.blur()")


def submit_and_status(page: Page, button_name: str) -> int:
    """Click the submit button and return the status of the action's answer."""
    checks_settled(page)
    with page.expect_response(
        lambda r: r.request.method == "POST" and not is_check(r.request)
    ) as info:
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


@contextlib.contextmanager
def fetches_settle(page: Page, quiet_ms: int = 300, timeout_s: float = 10.0):
    """On leaving the block, wait until the page's own fetches (htmx requests,
    live refreshes; not the event stream) have ended and none began for
    ``quiet_ms``: what an action sets off after its answer (a live refresh of a
    region, which dims it while it runs) has run its course."""
    in_flight: set[Request] = set()
    last = [time.monotonic()]

    def started(request: Request) -> None:
        if (
            request.resource_type == "fetch"
            and "/_server_actions/live" not in request.url
        ):
            in_flight.add(request)
            last[0] = time.monotonic()

    def ended(request: Request) -> None:
        if request in in_flight:
            in_flight.discard(request)
            last[0] = time.monotonic()

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    try:
        yield
        deadline = time.monotonic() + timeout_s
        while in_flight or time.monotonic() - last[0] < quiet_ms / 1000:
            assert time.monotonic() < deadline, f"still fetching: {in_flight}"
            page.wait_for_timeout(50)
    finally:
        page.remove_listener("request", started)
        page.remove_listener("requestfinished", ended)
        page.remove_listener("requestfailed", ended)


def scripts_settled(page: Page) -> None:
    """Wait until the toolkit's optional scripts that the page asked for run.

    The toolkit's script loads them where their markup is, after a page load or
    an htmx swap (a sign-in answered with ``HX-Location``) shows it: a moment no
    person notices, but a test clicks within it.
    """
    if not _JS_ENABLED.get(page.context, True):
        return
    page.wait_for_function(
        """() => {
          const loaded = (window.serverActions && window.serverActions.loaded) || {};
          return [...document.querySelectorAll('script[src*="/server-actions-"]')]
            .map((s) => /server-actions-(\\w+)\\.min\\.js/.exec(s.src))
            .every((found) => !found || loaded[found[1]]);
        }"""
    )


#: The seeded accounts' passwords.
ACCOUNTS = {
    "ada@example.com": "analytical-engine",  # an admin
    "grace@example.com": "compiler-1952",
}


def sign_in(page: Page, email: str, next_path: str) -> None:
    """Sign in through the real form and land on ``next_path``, its scripts running."""
    page.goto(f"/sign-in?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(ACCOUNTS[email])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(
        re.compile(r"^https?://[^/]+" + re.escape(next_path) + "$")
    )
    scripts_settled(page)


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


def answer_yes_without_javascript(page, js):
    """Without JavaScript, ``confirm=`` asks on a page of its own: press its Yes."""
    if not js:
        page.get_by_role("button", name="Yes, go on").click()
