from __future__ import annotations

from playwright.sync_api import expect

from .helpers import same_document
from .helpers import submit_and_status
from .helpers import unique


def test_request_available_username(page, js):
    page.goto("/username")
    wanted = unique("n_")
    page.get_by_label("Username").fill(wanted)
    with same_document(page, js):
        status = submit_and_status(page, "Request")
    assert status == (200 if js else 303)
    expect(
        page.locator("#username-request-username")
        .get_by_role("status")
        .filter(has_text=f"“{wanted}” is yours.")
    ).to_be_visible()
    expect(page.get_by_test_id("last-result")).to_have_text("successful")
    expect(page.get_by_label("Username")).to_have_value("")


def test_request_taken_username_keeps_it(page, js):
    page.goto("/username")
    page.get_by_label("Username").fill("admin")
    with same_document(page, js):
        status = submit_and_status(page, "Request")
    assert status == 409
    expect(page.get_by_role("alert")).to_have_text(
        "Sorry, “admin” is taken. Try another one."
    )
    expect(page.get_by_test_id("last-result")).to_have_text("failed")
    expect(page.get_by_label("Username")).to_have_value("admin")


def test_request_invalid_username_shows_field_error(page, js):
    page.goto("/username")
    page.get_by_label("Username").fill("No Spaces!")
    status = submit_and_status(page, "Request")
    assert status == 422
    expect(page.locator("#username-error")).to_have_text(
        "Use lowercase letters, digits and _ only."
    )
    expect(page.get_by_label("Username")).to_have_value("no spaces!")
    expect(page.get_by_label("Username")).to_be_focused()


def test_request_pending_label(page, js, slow):
    if not js:
        return
    page.goto("/username")
    page.get_by_label("Username").fill(unique("p_"))
    slow(1.5)
    button = page.locator("form#username-request-username [type=submit]")
    button.click()
    expect(button).to_have_accessible_name("Checking…")
    expect(button).to_be_disabled()
    expect(page.get_by_test_id("last-result")).to_have_text("successful")
