"""A double submit in a real browser writes one row, with JavaScript on and off."""

from __future__ import annotations

from playwright.sync_api import expect

from app.models import ContactMessage
from app.models import db

from .helpers import is_check
from .helpers import unique


def stored(site, text: str) -> int:
    with site.app.app_context():
        return int(db.session.query(ContactMessage).filter_by(message=text).count())


def fill(page, text: str) -> None:
    page.get_by_label("Your name").fill("Ann")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Message").fill(text)


def test_second_click_while_sending_writes_once(page, site, js, slow):
    text = unique("Sent twice by an impatient click ")
    page.goto("/contact")
    fill(page, text)
    posts: list[str] = []
    # Validation checks (the message is checked as it loses focus) are not submissions.
    page.on(
        "request",
        lambda r: (
            posts.append(r.url) if r.method == "POST" and not is_check(r) else None
        ),
    )
    slow(1.0)  # hold each POST, so the second click lands while the first is in flight
    button = page.locator("form", has=page.get_by_label("Message")).get_by_role(
        "button", name="Send message"
    )
    if js:
        # htmx disables the button and drops a second request from the same form.
        button.dblclick()
    else:
        # Enter in a field submits the form; pressed again while the first
        # request is held, the browser abandons it and sends the form again.
        # The server still receives both, with the same submission key.
        page.get_by_label("Your name").focus()
        with page.expect_request(lambda r: r.method == "POST"):
            page.keyboard.press("Enter")
        with page.expect_request(lambda r: r.method == "POST"):
            page.keyboard.press("Enter")
    expect(
        page.locator("form")
        .get_by_role("status")
        .filter(has_text="We got your message")
    ).to_be_visible()
    assert len(posts) == (1 if js else 2)
    slow(0.0)
    assert stored(site, text) == 1
