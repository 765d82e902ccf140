"""Issue 8: forms every person can operate, with JavaScript on and off.

axe-core checks every page and every kind of swap; the rest checks what axe
cannot: where focus goes, what is announced, and that a keyboard alone works.
"""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from .helpers import assert_no_axe_violations
from .helpers import expect_focus
from .helpers import focused_id
from .helpers import same_document
from .helpers import submit_and_status
from .helpers import unique

PAGES = [
    "/",
    "/users",
    "/posts",
    "/posts/why-a-compiler",
    "/username",
    "/contact",
    "/sign-in",
    "/no-such-page",
]


def fill_user(page: Page, name: str, email: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)


def valid_user(page: Page) -> str:
    name = unique("Axe ")
    fill_user(page, name, f"{name.split()[1]}@example.com")
    return name


BROKEN = (
    '<!doctype html><html lang="en"><head><title>Broken</title>'
    '<link rel="stylesheet" href="/static/site.css"></head><body><main>'
    '<h1>Broken</h1><input type="text" name="unlabelled">'
    '<p style="color:#ccc;background:#fff">Too faint to read.</p>'
    "</main></body></html>"
)


def test_axe_helper_finds_violations(page, js):
    """The helper is not vacuous: in both modes it sees what is wrong."""
    page.route(
        "**/broken", lambda route: route.fulfill(body=BROKEN, content_type="text/html")
    )
    page.goto("/broken")
    with pytest.raises(AssertionError) as info:
        assert_no_axe_violations(page)
    report = str(info.value)
    assert "label" in report
    assert "color-contrast" in report
    assert f"JavaScript {'on' if js else 'off'}" in report


@pytest.mark.parametrize("path", PAGES)
def test_page_has_no_axe_violations(page, js, path):
    page.goto(path)
    assert_no_axe_violations(page)


def test_users_invalid_submit_has_no_axe_violations(page, js):
    page.goto("/users")
    fill_user(page, "A", "not-an-email")
    assert submit_and_status(page, "Create user") == 422
    expect(page.locator("#name-error")).to_be_visible()
    assert_no_axe_violations(page)


def test_users_successful_submit_and_region_update_have_no_axe_violations(page, js):
    page.goto("/users")
    name = valid_user(page)
    with same_document(page, js):
        assert submit_and_status(page, "Create user") == (200 if js else 303)
    # The out-of-band regions came back too: the list and the count.
    expect(page.locator("#user-list")).to_contain_text(name)
    expect(page.locator("#users-create-user-status")).to_contain_text("was created")
    assert_no_axe_violations(page)


def test_username_invalid_and_taken_submits_have_no_axe_violations(page, js):
    page.goto("/username")
    page.get_by_label("Username").fill("No Spaces!")
    assert submit_and_status(page, "Request") == 422
    expect(page.locator("#username-error")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label("Username").fill("admin")
    assert submit_and_status(page, "Request") == 409
    expect(page.get_by_role("alert")).to_contain_text("taken")
    assert_no_axe_violations(page)


def test_username_successful_submit_has_no_axe_violations(page, js):
    page.goto("/username")
    page.get_by_label("Username").fill(unique("axe_"))
    assert submit_and_status(page, "Request") == (200 if js else 303)
    expect(page.get_by_test_id("last-result")).to_have_text("successful")
    assert_no_axe_violations(page)


# Focus -----------------------------------------------------------------------


def test_users_focus_goes_to_first_invalid_field(page, js):
    page.goto("/users")
    # The name is fine, so the first invalid field is the email.
    fill_user(page, "Grace Hopper", "not-an-email")
    assert submit_and_status(page, "Create user") == 422
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_focused()
    expect_focus(page, "email")
    # Both fields wrong: the first of them, in the form's order.
    fill_user(page, "", "still-not-an-email")
    assert submit_and_status(page, "Create user") == 422
    expect(page.get_by_label("Name")).to_be_focused()
    expect_focus(page, "name")


def test_users_focus_stays_on_first_field_after_success(page, js):
    page.goto("/users")
    valid_user(page)
    assert submit_and_status(page, "Create user") == (200 if js else 303)
    expect(page.locator("#users-create-user-status")).to_contain_text("was created")
    expect(page.get_by_label("Name")).to_be_focused()
    expect_focus(page, "name")


def test_username_focus_after_invalid_taken_and_valid(page, js):
    page.goto("/username")
    field = page.get_by_label("Username")
    field.fill("No Spaces!")
    assert submit_and_status(page, "Request") == 422
    expect(field).to_be_focused()
    expect_focus(page, "username")
    # A failure with no field error: focus stays in the form, on its field.
    field.fill("admin")
    assert submit_and_status(page, "Request") == 409
    expect(page.get_by_role("alert")).to_contain_text("taken")
    expect(field).to_be_focused()
    expect_focus(page, "username")
    field.fill(unique("f_"))
    assert submit_and_status(page, "Request") == (200 if js else 303)
    expect(page.get_by_test_id("last-result")).to_have_text("successful")
    expect(field).to_be_focused()
    expect_focus(page, "username")


# Announcements ---------------------------------------------------------------


def test_form_message_is_announced(page, js):
    page.goto("/users")
    status = page.locator("#users-create-user-status")
    if js:
        # The live region exists before the first message, or it is not read out.
        expect(page.locator("#sa-announcer")).to_be_attached()
        expect(page.locator("#sa-announcer")).to_have_text("")
    fill_user(page, "A", "not-an-email")
    assert submit_and_status(page, "Create user") == 422
    expect(status).not_to_be_empty()
    message = status.inner_text().strip()
    if js:
        # The form was swapped; the persistent live region speaks its message.
        announcer = page.locator("#sa-announcer")
        expect(announcer).to_have_text(message)
        expect(announcer).to_have_attribute("aria-live", "polite")
    else:
        # A new page: the message is the first thing in the form, as an alert.
        first = page.locator("#users-create-user > :not(input[type=hidden])").first
        expect(first).to_have_id("users-create-user-status")
        expect(first).to_have_attribute("role", "alert")
    name = valid_user(page)
    assert submit_and_status(page, "Create user") == (200 if js else 303)
    expect(status).to_have_text(f"{name} was created.")
    if js:
        expect(page.locator("#sa-announcer")).to_have_text(f"{name} was created.")
    else:
        first = page.locator("#users-create-user > :not(input[type=hidden])").first
        expect(first).to_have_id("users-create-user-status")
        expect(first).to_have_attribute("role", "status")


# Structure and keyboard ------------------------------------------------------


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.levels: list[int] = []

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.levels.append(int(tag[1]))


@pytest.mark.parametrize("path", PAGES)
def test_headings_in_order_and_skip_link(page, js, path):
    page.goto(path)
    parser = _Headings()
    parser.feed(page.content())
    levels = parser.levels
    assert levels, f"no headings on {path}"
    assert levels[0] == 1, levels
    assert levels.count(1) == 1, levels
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, f"heading level skips on {path}: {levels}"
    # The first Tab reaches the skip link, which is then visible.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    if js:
        # Shown on focus, the skip link must be readable too (axe skips it hidden).
        assert_no_axe_violations(page)
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_create_user_with_keyboard_only(page, js):
    page.goto("/users")
    for _ in range(15):
        page.keyboard.press("Tab")
        if focused_id(page) == "name":
            break
    else:
        pytest.fail("Tab never reached the Name field")
    name = unique("Keys ")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    expect_focus(page, "email")
    page.keyboard.type(f"{name.split()[1]}@example.com")
    # A visitor has no Role field (an admin's choice): the button comes next.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Create user")).to_be_focused()
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.keyboard.press("Enter")
    assert info.value.status == (200 if js else 303)
    expect(page.locator("#users-create-user-status")).to_have_text(
        f"{name} was created."
    )
    expect(page.locator("#user-list")).to_contain_text(name)
    # htmx focuses the autofocus field once the swap settles: wait for it.
    expect(page.get_by_label("Name")).to_be_focused()
    expect_focus(page, "name")


def test_admin_page_and_delete_refusal_have_no_axe_violations(page, js):
    page.goto("/sign-in?next=/admin/users")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("analytical-engine")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/admin/users$"))
    assert_no_axe_violations(page)
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(".person", has_text="Ada Lovelace")
    if not js:
        row.get_by_role("button", name="Delete").click()
        page.get_by_role("heading", name="Delete Ada Lovelace?").wait_for()
        assert_no_axe_violations(page)
    press = row.get_by_role("button", name="Delete")
    if not js:
        press = page.get_by_role("button", name="Yes, go on")
    with page.expect_response(lambda r: r.request.method == "POST"):
        press.click()
    page.get_by_role("alert").filter(has_text="You cannot delete yourself.").wait_for()
    assert_no_axe_violations(page)


def test_sign_in_failure_has_no_axe_violations(page, js):
    page.goto("/sign-in")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("not it")
    assert submit_and_status(page, "Sign in") == 400
    expect_focus(page, "email")
    assert_no_axe_violations(page)
