"""/likes in a real browser: a like button and a view counter (issue 5)."""

from __future__ import annotations

import re

from playwright.sync_api import Page
from playwright.sync_api import expect

from .helpers import assert_no_axe_violations
from .helpers import same_document


def like_count(page: Page) -> int:
    text = page.locator("#like-count").inner_text()
    match = re.search(r"\d+", text)
    assert match, text
    return int(match.group(0))


def likes_text(n: int) -> str:
    return f"{n} like" if n == 1 else f"{n} likes"


def views(page: Page) -> int:
    match = re.search(r"Read (\d+) time", page.locator(".views").inner_text())
    assert match
    return int(match.group(1))


def test_like_updates_the_count(page, js):
    page.goto("/likes")
    before = like_count(page)
    button = page.locator("form#like-likes-demo [type=submit]")
    expect(button).to_have_accessible_name("♥ Like")
    with same_document(page, js):
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            button.click()
        page.wait_for_load_state()
    assert answer.value.status == (200 if js else 303)
    expect(page.locator("#like-count")).to_have_text(likes_text(before + 1))
    thanks = (
        page.locator("#like-likes-demo").get_by_role("status")
        if js
        else page.locator(".sa-message")
    )
    expect(thanks).to_have_text("Thanks for the like!")
    assert_no_axe_violations(page)


def test_clicks_in_flight_are_queued_not_lost(page, js, slow):
    page.goto("/likes")
    before = like_count(page)
    button = page.locator("form#like-likes-demo [type=submit]")
    if js:
        slow(0.6)
        button.click()
        # Pending, but still clickable: further clicks wait their turn.
        expect(button).to_have_accessible_name("Liking…")
        expect(button).to_be_enabled()
        button.click()
        button.click()
        expect(page.locator("#like-count")).to_have_text(
            likes_text(before + 3), timeout=10_000
        )
        expect(button).to_have_accessible_name("♥ Like")
    else:
        # Without JavaScript each click is a page load; each one counts.
        for _ in range(2):
            button.click()
            page.wait_for_load_state()
        expect(page.locator("#like-count")).to_have_text(likes_text(before + 2))


def test_views_count_once_per_session(page, js):
    page.goto("/likes")
    first = views(page)
    page.reload()
    assert views(page) == first
    other = page.context.browser.new_context(java_script_enabled=js)
    try:
        reader = other.new_page()
        reader.goto(page.url)
        assert views(reader) == first + 1
    finally:
        other.close()
