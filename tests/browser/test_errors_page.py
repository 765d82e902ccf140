"""Refusals and failures in a form, in a real browser, with JavaScript on and off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.contact import send_message
from app.models import ContactMessage
from app.models import User
from app.models import db
from tests.breakage import broken

from .helpers import answer_yes_without_javascript
from .helpers import same_document
from .helpers import submit_and_status
from .helpers import unique

FORM = "#contact-send-message"


def fill_contact(page, message):
    form = page.locator(FORM)
    form.get_by_label("Your name").fill("Ann")
    form.get_by_label("Email").fill("ann@example.com")
    form.get_by_label("Message").fill(message)


def messages_with(site, text):
    with site.app.app_context():
        return db.session.scalar(
            db.select(db.func.count())
            .select_from(ContactMessage)
            .where(ContactMessage.message == text)
        )


@pytest.fixture
def tiny_body_limit():
    """The contact action accepts 300 bytes for the test (16 KB normally)."""
    saved = send_message.max_body
    send_message.max_body = 300
    yield
    send_message.max_body = saved


def test_unexpected_error_shows_an_id_and_try_again_keeps_the_message(page, js, site):
    text = unique("Please call me back about order ")
    page.goto("/contact")
    fill_contact(page, text)
    with broken(send_message), same_document(page, js):
        assert submit_and_status(page, "Send message") == 500
    boundary = page.locator(f"{FORM}.sa-boundary")
    expect(boundary.get_by_role("heading")).to_have_text("Your message was not sent")
    expect(boundary.locator("code")).to_have_text(re.compile(r"^[0-9a-f]{8}$"))
    expect(page.locator("body")).not_to_contain_text("hunter2")
    expect(page.locator("body")).not_to_contain_text("RuntimeError")
    assert messages_with(site, text) == 0

    with same_document(page, js):
        assert submit_and_status(page, "Try again") == 200
    form = page.locator(f"form{FORM}")
    expect(form.get_by_label("Your name")).to_have_value("Ann")
    expect(form.get_by_label("Email")).to_have_value("ann@example.com")
    expect(form.get_by_label("Message")).to_have_value(text)
    expect(form.get_by_label("Your name")).to_be_focused()

    assert submit_and_status(page, "Send message") == (200 if js else 303)
    expect(
        form.get_by_role("status").filter(has_text="We got your message")
    ).to_be_visible()
    assert messages_with(site, text) == 1


def test_oversized_message_is_413_in_the_form(page, js, site, tiny_body_limit):
    text = "A long story. " * 40
    page.goto("/contact")
    fill_contact(page, text)
    with same_document(page, js):
        assert submit_and_status(page, "Send message") == 413
    expect(page.locator(FORM).get_by_role("alert")).to_have_text(
        "What you sent is larger than this form accepts (300 bytes), so nothing"
        " was saved. Make it smaller and try again."
    )
    if js:  # the body could not be read back, so htmx keeps the form as it is
        expect(page.locator(FORM).get_by_label("Message")).to_have_value(text)
    assert messages_with(site, text) == 0


def admin_page_with_temp_user(page, site, email="ada@example.com", password=None):
    name = unique("Temp ")
    with site.app.app_context():
        db.session.add(User(name=name, email=f"{name.split()[1]}@example.com"))
        db.session.commit()
    page.goto("/sign-in?next=/admin/users")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password or "analytical-engine")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/admin/users$"))
    return name


def signed_out_elsewhere(page):
    """Sign out in another tab of the same browser (same cookies)."""
    other = page.context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Sign out").click()
    expect(
        other.get_by_role("banner").get_by_role("link", name="Sign in")
    ).to_be_visible()
    other.close()


def user_exists(site, name):
    with site.app.app_context():
        return (
            db.session.scalar(db.select(User.id).where(User.name == name)) is not None
        )


def test_signed_out_delete_goes_to_sign_in_and_back(page, js, site):
    name = admin_page_with_temp_user(page, site)
    signed_out_elsewhere(page)
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(".person", has_text=name)
    row.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fadmin%2Fusers$"))
    expect(page.get_by_text("Please sign in to do this.")).to_be_visible()
    assert user_exists(site, name)

    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("analytical-engine")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/admin/users$"))
    row = page.locator(".person", has_text=name)
    row.get_by_role("button", name="Delete").click()
    answer_yes_without_javascript(page, js)
    expect(page.locator("#admin-user-list")).not_to_contain_text(name)
    assert not user_exists(site, name)


def test_member_delete_is_403_in_the_button(page, js, site):
    name = admin_page_with_temp_user(page, site)
    other = page.context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Sign out").click()
    other.goto("/sign-in")
    other.get_by_label("Email").fill("grace@example.com")
    other.get_by_label("Password").fill("compiler-1952")
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_text("Welcome back, Grace Hopper.")).to_be_visible()
    other.close()

    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(".person", has_text=name)
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        row.get_by_role("button", name="Delete").click()
    assert info.value.status == 403
    if js:
        expect(row.get_by_role("alert")).to_have_text("You are not allowed to do this.")
    else:
        # The admin page now refuses this user too, so the answer is the
        # toolkit's own "not saved" page with the reason.
        expect(page.get_by_role("heading", name="Not saved yet")).to_be_visible()
        expect(page.get_by_text("You are not allowed to do this.")).to_be_visible()
    assert user_exists(site, name)
