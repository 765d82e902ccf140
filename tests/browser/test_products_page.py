from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from .helpers import assert_no_axe_violations
from .helpers import fetches_settle
from .helpers import same_document


def search_box(page):
    return page.locator("#product-search").get_by_label("Search products")


def results(page):
    return page.locator("#product-results")


def heading(page):
    return results(page).get_by_role("heading", level=2)


def search(page, js, text):
    """Type ``text`` and, without JavaScript, press the Search button."""
    search_box(page).fill(text)
    if not js:
        page.locator("#product-search").get_by_role("button", name="Search").click()


def wait_until(condition, timeout=10.0):
    """Poll a condition on the server side (not a sleep for correctness)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_search_shows_results_and_bookmarkable_url(page, js):
    page.goto("/products")
    expect(heading(page)).to_have_text("All 330 products")
    with same_document(page, js):
        search(page, js, "lamp")
        expect(heading(page)).to_have_text("30 products match “lamp”")
    # Without JavaScript the browser's own GET also carries the empty category.
    expect(page).to_have_url(re.compile(r"/products\?q=lamp(&category=)?$"))
    expect(results(page).locator(".product mark").first).to_have_text("Lamp")
    # The bookmarked URL gives the same page, in either mode.
    page.goto(page.url)
    expect(heading(page)).to_have_text("30 products match “lamp”")
    expect(search_box(page)).to_have_value("lamp")
    assert_no_axe_violations(page)


def test_same_results_with_and_without_javascript(page, js):
    page.goto("/products")
    search(page, js, "copper")
    expect(heading(page)).to_have_text("22 products match “copper”")
    names = results(page).locator(".product__name").all_inner_texts()
    assert names[:3] == ["Copper Bird Feeder", "Copper Chef's Knife", "Copper Cushion"]


def test_category_narrows_the_search(page, js):
    page.goto("/products?q=oak")
    page.locator("#product-search").get_by_label("Category").select_option("Garden")
    if not js:
        page.locator("#product-search").get_by_role("button", name="Search").click()
    expect(heading(page)).to_have_text("4 products match “oak” in Garden")
    expect(page).to_have_url(re.compile(r"/products\?q=oak&category=Garden$"))


def test_short_query_gets_a_hint(page, js):
    page.goto("/products")
    search_box(page).fill("la")
    search_box(page).press("Enter")
    expect(results(page).locator(".notice")).to_contain_text(
        "“la” is too short to search."
    )
    expect(results(page).locator(".product")).to_have_count(24)


def test_no_match_explains_what_to_do(page, js):
    page.goto("/products")
    search(page, js, "zebra")
    expect(heading(page)).to_have_text("No products match “zebra”")
    results(page).get_by_role("link", name="see every product").click()
    expect(heading(page)).to_have_text("All 330 products")


def test_pages_through_results(page, js):
    page.goto("/products?q=lamp")
    pager = results(page).get_by_role("navigation", name="Result pages")
    expect(pager).to_contain_text("Page 1 of 2")
    pager.get_by_role("link", name="Next →").click()
    expect(pager).to_contain_text("Page 2 of 2")
    expect(page).to_have_url(re.compile(r"/products\?q=lamp&page=2$"))
    expect(results(page).locator(".product")).to_have_count(6)


def test_pending_state_while_search_is_in_flight(page, js, slow_search):
    page.goto("/products")
    slow_search({"lamp": 1.5})
    if not js:
        # The browser shows its own loading state; the slow page still arrives.
        search(page, js, "lamp")
        expect(heading(page)).to_have_text("30 products match “lamp”")
        return
    search_box(page).fill("lamp")
    expect(results(page)).to_have_attribute("aria-busy", "true")
    expect(results(page).get_by_text("Searching…")).to_be_visible()
    expect(heading(page)).to_have_text("30 products match “lamp”")
    expect(results(page)).not_to_have_attribute("aria-busy", "true")
    expect(results(page).get_by_text("Searching…")).to_be_hidden()


def test_stale_answer_never_replaces_a_newer_one(page, js, slow_search, site):
    page.goto("/products")
    if not js:
        # Each search is a navigation; the newer one cancels the older load.
        slow_search({"lamp": 1.5})
        search_box(page).fill("lamp")
        page.locator("#product-search").get_by_role("button", name="Search").click(
            no_wait_after=True
        )
        search(page, js, "lamps")
        expect(heading(page)).to_have_text("15 products match “lamps”")
        expect(page).to_have_url(re.compile(r"/products\?q=lamps(&category=)?$"))
        return
    page.evaluate(
        """() => {
        window.__swapped = [];
        document.addEventListener("htmx:after:swap", (evt) => {
            const action = evt.detail.ctx.request.action;
            window.__swapped.push(new URL(action, location.href).searchParams.get("q"));
        });
    }"""
    )
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    slow_search({"lamp": 1.5})
    answered_before = site.answered_queries.count("lamp")
    with page.expect_request(lambda r: "q=lamp" in r.url and "lamps" not in r.url):
        search_box(page).press_sequentially("lamp")
    # The older search is still on the server when the newer one starts.
    search_box(page).press("s")
    expect(heading(page)).to_have_text("15 products match “lamps”")
    expect(page).to_have_url(re.compile(r"/products\?q=lamps$"))
    # Let the slow answer finish on the server; it must not reach the page.
    wait_until(lambda: site.answered_queries.count("lamp") > answered_before)
    page.wait_for_function("() => window.__swapped.length >= 1")
    expect(heading(page)).to_have_text("15 products match “lamps”")
    assert page.evaluate("window.__swapped") == ["lamps"]
    assert any(re.search(r"q=lamp($|&)", url) for url in failed), failed


def test_add_to_cart_updates_the_count(page, js):
    page.goto("/products?q=kettle")
    first = results(page).locator(".product").first
    name = first.locator(".product__name").inner_text()
    with same_document(page, js), fetches_settle(page):
        first.get_by_role("button", name="Add to cart").click()
        expect(page.locator("#cart-count")).to_have_text("1")
    if js:
        expect(first.get_by_role("status")).to_have_text(
            f"Added {name} (1 in your cart)."
        )
    else:
        expect(page.locator(".sa-message")).to_have_text(
            f"Added {name} (1 in your cart)."
        )
        expect(page).to_have_url(re.compile(r"/products\?q=kettle$"))
    first = results(page).locator(".product").first
    # The stock shown is live: the add sets off a refresh that dims the list
    # while it runs; the page is checked once it has settled.
    with fetches_settle(page):
        first.get_by_role("button", name="Add to cart").click()
        expect(page.locator("#cart-count")).to_have_text("2")
    assert_no_axe_violations(page)


def test_the_message_and_focus_stay_on_the_button_after_the_live_refresh(page, js):
    """The results are live (stock): refreshing them must not wipe the answer."""
    page.goto("/products?q=lamp")
    first = results(page).locator(".product").first
    name = first.locator(".product__name").inner_text()
    button = first.get_by_role("button", name="Add to cart")
    button.focus()
    with same_document(page, js):
        page.keyboard.press("Enter")
    added = f"Added {name} (1 in your cart)."
    if not js:
        expect(page.locator(".sa-message")).to_have_text(added)
        return
    status = results(page).locator(".product").first.get_by_role("status")
    expect(status).to_have_text(added)
    # The live refresh of the results follows within moments of the answer.
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    expect(status).to_have_text(added)
    focused = page.evaluate(
        "document.activeElement && document.activeElement.textContent"
    )
    assert focused is not None
    assert "Add to cart" in focused
