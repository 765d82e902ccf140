"""The site's Content-Security-Policy holds with htmx running: no violation anywhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import submit_and_status
from .helpers import unique

PAGES = ["/", "/users", "/username", "/contact", "/sign-in"]

#: Collects ``securitypolicyviolation`` events from the first moment of each page.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture
def listening(page, js):
    if js:
        page.context.add_init_script(LISTEN)
    return page


def violations(page, js) -> list[str]:
    return page.evaluate("window.__cspViolations") if js else []


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_served_with_the_policy_and_breaks_none_of_it(
    listening, js, path
):
    page = listening
    response = page.goto(path)
    assert response is not None
    assert response.status == 200
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in headers  # plain HTTP
    expect(page.locator("main h1")).to_be_visible()
    assert violations(page, js) == []


def test_an_htmx_action_with_regions_runs_under_the_policy(listening, js):
    page = listening
    page.goto("/users")
    form = page.locator("form#users-create-user")
    name = unique("Policy ")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Email").fill(f"{unique('csp-')}@example.com")
    assert submit_and_status(page, "Create user") == (200 if js else 303)
    expect(page.locator("#user-list")).to_contain_text(name)
    # Invalid input: the 422 answer is swapped in under the same policy.
    form = page.locator("form#users-create-user")
    form.get_by_label("Name").fill("x")
    assert submit_and_status(page, "Create user") == 422
    expect(form.get_by_role("alert")).to_be_visible()
    assert violations(page, js) == []


def test_the_listener_does_see_a_violation(browser, site):
    """The checks above would catch one: an inline script is refused and reported."""
    context = browser.new_context(base_url=site.url)
    try:
        context.add_init_script(LISTEN)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text))
        page.goto("/")
        page.evaluate(
            """() => { const s = document.createElement("script");
                       s.textContent = "window.__ran = true"; document.body.append(s); }"""
        )
        page.wait_for_function("window.__cspViolations.length > 0")
        assert page.evaluate("window.__ran === undefined")
        assert page.evaluate("window.__cspViolations")[0].startswith("script-src")
        assert any("Content Security Policy" in text for text in console)
    finally:
        context.close()
