from __future__ import annotations

import re

from playwright.sync_api import expect

from .helpers import assert_no_axe_violations
from .helpers import same_document
from .helpers import sign_in as sign_in_through_the_form
from .helpers import submit_and_status
from .helpers import unique

BODY = "Written in a real browser, with the text long enough."


def sign_in_to_posts(page):
    sign_in_through_the_form(page, "grace@example.com", "/posts")


def test_create_post_lands_on_the_post_and_every_list_shows_it(page, js):
    sign_in_to_posts(page)
    # The list and the box are now in the hour-long cache.
    expect(page.locator("#popular-posts")).to_contain_text("Just published")
    title = unique("A post from the browser ")
    form = page.locator("form#posts-create-post")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Text").fill(BODY)
    status = submit_and_status(page, "Publish")
    assert status == (200 if js else 303)
    expect(page).to_have_url(re.compile(r"/posts/a-post-from-the-browser-[0-9a-f]{8}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".sa-message")).to_have_text("Your post is published.")
    expect(page.locator(".post__body")).to_contain_text(BODY)
    expect(page.locator("#popular-posts .popular__newest")).to_contain_text(title)
    page.get_by_role("link", name="← All posts").click()
    expect(page).to_have_url(re.compile(r"/posts$"))
    expect(page.locator("#post-list li").first).to_contain_text(title)
    expect(page.locator("#popular-posts .popular__newest")).to_contain_text(title)


def test_create_post_invalid_keeps_input(page, js):
    sign_in_to_posts(page)
    form = page.locator("form#posts-create-post")
    form.get_by_label("Title").fill("Hi")
    form.get_by_label("Text").fill("Too short.")
    with same_document(page, js):
        status = submit_and_status(page, "Publish")
    assert status == 422
    form = page.locator("form#posts-create-post")
    expect(form.get_by_label("Title")).to_have_value("Hi")
    expect(form.get_by_label("Text")).to_have_value("Too short.")
    expect(page.locator("#title-error")).to_have_text(
        "The title must be 3 to 120 characters long."
    )
    expect(page.locator("#body-error")).to_have_text(
        "The text must be 20 to 10,000 characters long."
    )
    expect(form.get_by_label("Title")).to_be_focused()
    assert_no_axe_violations(page, js=js)


def test_signed_out_visitor_is_asked_to_sign_in(page, js):
    page.goto("/posts")
    expect(page.locator("form#posts-create-post")).to_have_count(0)
    page.get_by_role("link", name="Sign in to write a post").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/posts$"))


def test_post_page_and_unknown_post(page, js):
    page.goto("/posts/why-a-compiler")
    expect(page.get_by_role("heading", level=1)).to_have_text("Why a compiler?")
    expect(page.locator("#popular-posts")).to_contain_text("Most read")
    assert_no_axe_violations(page, js=js)
    response = page.goto("/posts/no-such-post")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
