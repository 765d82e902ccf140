"""Live regions between real browsers: two users, one user in several tabs."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from .helpers import remember_js
from .helpers import sign_in as sign_in_through_the_form
from .helpers import unique

BODY = "Written in a real browser, with the text long enough."


@pytest.fixture
def new_page(browser, site, js):
    """Pages in browser contexts of their own (another user), or in one context (tabs)."""
    contexts = []
    errors: list[str] = []

    def open_page(context=None):
        if context is None:
            context = browser.new_context(java_script_enabled=js, base_url=site.url)
            remember_js(context, js)
            context.region_gets = []
            context.streams = []
            context.on("request", lambda r, c=context: record(c, r))
            contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def record(context, request):
    if "/_server_actions/live" in request.url:
        context.streams.append(request.url)
    target = request.headers.get("hx-target")
    if request.method == "GET" and target:
        context.region_gets.append((request.frame.page, target))


def sign_in(page, email, next_path="/posts"):
    sign_in_through_the_form(page, email, next_path)


def wait_live(page, js):
    if js:
        expect(page.locator("html")).to_have_attribute("data-sa-live-state", "live")


def test_a_new_post_reaches_another_users_open_page(new_page, js):
    ada = new_page()
    grace = new_page()
    sign_in(ada, "ada@example.com")
    sign_in(grace, "grace@example.com")
    wait_live(grace, js)
    # Grace is half-way through typing a title, with the page scrolled.
    title_field = grace.locator("form#posts-create-post").get_by_label("Title")
    title_field.fill("Half a title")
    title_field.evaluate("el => { el.focus(); el.setSelectionRange(4, 4); }")
    grace.evaluate("window.scrollTo(0, 120)")
    scrolled = grace.evaluate("window.scrollY")
    grace.evaluate("window.__stayed = true")

    title = unique("Live from Ada ")
    form = ada.locator("form#posts-create-post")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Text").fill(BODY)
    form.get_by_role("button", name="Publish").click()
    expect(ada.get_by_role("heading", level=1)).to_have_text(title)
    published = time.monotonic()

    latest = grace.locator("#post-list li").first
    if js:
        expect(latest).to_contain_text(title, timeout=2_000)
        assert time.monotonic() - published < 2.0
        expect(grace.locator("#popular-posts")).to_contain_text(title)
        # Nothing Grace was doing moved: same document, caret, focus, scroll.
        assert grace.evaluate("window.__stayed === true")
        assert title_field.input_value() == "Half a title"
        assert title_field.evaluate(
            "el => document.activeElement === el && el.selectionStart === 4"
            " && el.selectionEnd === 4"
        )
        assert grace.evaluate("window.scrollY") == scrolled
    else:
        # Without JavaScript nothing changes until the page is loaded again.
        grace.wait_for_timeout(1_000)
        expect(latest).not_to_contain_text(title)
        grace.reload()
        expect(grace.locator("#post-list li").first).to_contain_text(title)
    # The admins' region is not on Grace's page, and she never asked for it.
    expect(grace.locator("#post-moderation")).to_have_count(0)
    expect(ada.locator("#post-moderation")).to_have_count(0)  # Ada is on the post
    targets = [target for _, target in grace.context.region_gets]
    assert not any("post-moderation" in t for t in targets)


def test_admin_region_is_refreshed_for_the_admin_only(new_page, js):
    ada = new_page()
    grace = new_page()
    sign_in(ada, "ada@example.com")
    sign_in(grace, "grace@example.com")
    wait_live(ada, js)
    expect(ada.locator("#post-moderation")).to_be_visible()
    before = ada.locator("#post-moderation").inner_text()

    form = grace.locator("form#posts-create-post")
    form.get_by_label("Title").fill(unique("Live from Grace "))
    form.get_by_label("Text").fill(BODY)
    form.get_by_role("button", name="Publish").click()
    expect(grace.get_by_role("heading", level=1)).to_contain_text("Live from Grace")

    if js:
        expect(ada.locator("#post-moderation")).not_to_have_text(before, timeout=2_000)
    else:
        ada.wait_for_timeout(500)
        expect(ada.locator("#post-moderation")).to_have_text(before)
    assert not any("post-moderation" in t for _, t in grace.context.region_gets)


def test_three_tabs_share_one_stream_and_a_todo_reaches_them(new_page, js):
    first = new_page()
    context = first.context
    first.goto("/todos")
    others = [new_page(context) for _ in range(2)]
    for tab in others:
        tab.goto("/todos")
    for tab in [first, *others]:
        wait_live(tab, js)
    first.wait_for_timeout(500)
    assert len(context.streams) == (1 if js else 0)

    text = unique("Water the plants ")
    # A person clicks in the tab in front; Chromium holds back animation
    # frames of the others, so Playwright's "stable" check would wait seconds.
    first.bring_to_front()
    first.get_by_role("textbox", name="New to-do").fill(text)
    first.get_by_role("button", name="Add").click()
    expect(first.locator("#todo-list")).to_contain_text(text)
    if js:
        for tab in others:
            expect(tab.locator("#todo-list")).to_contain_text(text, timeout=2_000)
        # The tab that added it had its answer already: it fetched nothing again.
        first.wait_for_timeout(300)
        assert not [t for page, t in context.region_gets if page == first]
        # One stream for the three tabs, still.
        assert len(context.streams) == 1

        # The tab holding the stream closes: another takes it over.
        leader = next(
            tab
            for tab in [first, *others]
            if tab.evaluate("window.__saLive.isLeader()")
        )
        rest = [tab for tab in [first, *others] if tab is not leader]
        leader.close()
        deadline = time.monotonic() + 5
        while len(context.streams) < 2 and time.monotonic() < deadline:
            rest[0].wait_for_timeout(100)
        assert len(context.streams) == 2
        more = unique("Feed the cat ")
        rest[0].bring_to_front()
        rest[0].get_by_role("textbox", name="New to-do").fill(more)
        rest[0].get_by_role("button", name="Add").click()
        expect(rest[1].locator("#todo-list")).to_contain_text(more, timeout=2_000)
    else:
        for tab in others:
            expect(tab.locator("#todo-list")).not_to_contain_text(text)


def test_a_cart_update_shows_in_another_shoppers_product_list(new_page, js):
    shopper = new_page()
    other = new_page()
    shopper.goto("/products")
    other.goto("/products")
    wait_live(other, js)
    stock = other.locator(".product__stock").first
    before = stock.inner_text()
    shopper.locator(".product").first.get_by_role("button", name="Add to cart").click()
    expect(shopper.locator("#cart-summary")).not_to_contain_text("0 items")
    if js:
        expect(stock).not_to_have_text(before, timeout=2_000)
        expect(stock).to_contain_text("in shoppers’ carts")
    else:
        other.wait_for_timeout(500)
        expect(stock).to_have_text(before)
        other.reload()
        expect(other.locator(".product__stock").first).not_to_have_text(before)


def test_a_live_swap_keeps_the_focus_inside_the_region(new_page, js):
    one = new_page()
    two = new_page(one.context)
    one.goto("/todos")
    # The tab being typed in is in front (see the three-tabs test).
    one.bring_to_front()
    for i in range(3):
        one.get_by_role("textbox", name="New to-do").fill(unique(f"Item {i} "))
        one.get_by_role("button", name="Add").click()
        expect(one.locator("#todo-list li.todo")).to_have_count(i + 1)
    two.bring_to_front()
    two.goto("/todos")
    wait_live(two, js)
    toggle = two.locator("#todo-list li.todo").first.get_by_role("button", name="Done")
    toggle.focus()
    assert (
        two.evaluate(
            "window.__focused = document.activeElement, document.activeElement.tagName"
        )
        == "BUTTON"
    )
    two.evaluate("window.__stayed = true")

    text = unique("Added in the other tab ")
    one.bring_to_front()
    one.get_by_role("textbox", name="New to-do").fill(text)
    one.get_by_role("button", name="Add").click()
    expect(one.locator("#todo-list")).to_contain_text(text)
    if js:
        expect(two.locator("#todo-list")).to_contain_text(text, timeout=2_000)
        # Morphed, not replaced: the same button element keeps the focus.
        assert two.evaluate("document.activeElement === window.__focused")
        assert two.evaluate("window.__focused.isConnected")
        assert two.evaluate("window.__stayed === true")
    else:
        expect(two.locator("#todo-list")).not_to_contain_text(text)


def test_only_pages_with_live_regions_load_the_live_script(new_page, js):
    page = new_page()
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url.rsplit("/", 1)[-1]))
    page.goto("/users")
    page.wait_for_timeout(300)
    assert "server-actions-live.min.js" not in loaded
    assert not page.context.streams
    page.goto("/posts")
    wait_live(page, js)
    assert ("server-actions-live.min.js" in loaded) is js
    assert bool(page.context.streams) is js
