from __future__ import annotations

import re

from playwright.sync_api import expect

from .helpers import assert_no_axe_violations
from .helpers import expect_focus
from .helpers import fetches_settle
from .helpers import same_document
from .helpers import submit_and_status


def fill_cart(page, count=4):
    """Add the first ``count`` products to this browser's (new) cart."""
    page.goto("/products")
    products = page.locator("#product-results .product")
    for index in range(count):
        # Each add sets off a live refresh of the list (stock); the next click
        # waits for it, as a person does who sees the list change.
        with fetches_settle(page):
            products.nth(index).get_by_role("button", name="Add to cart").click()
            expect(page.locator("#cart-count")).to_have_text(str(index + 1))
    page.goto("/cart")
    expect(page.locator("tbody tr.cart-line")).to_have_count(count)


def quantity(page, line):
    return page.locator(f"#lines-{line - 1}-quantity")


def form(page):
    return page.locator("form#cart-batch-update-items")


def test_empty_cart_points_to_the_products(page, js):
    page.goto("/cart")
    expect(page.locator(".cart-empty")).to_contain_text("Your cart is empty.")
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Find something in the products").click()
    expect(page).to_have_url(re.compile(r"/products$"))


def test_batch_update_saves_every_line(page, js):
    fill_cart(page)
    for line, value in ((1, "2"), (2, "0"), (3, "3"), (4, "1")):
        quantity(page, line).fill(value)
    with same_document(page, js):
        status = submit_and_status(page, "Update cart")
    assert status == (200 if js else 303)
    expect(form(page).get_by_role("status")).to_have_text(
        "Cart saved: 2 lines updated and 1 removed."
    )
    expect(page.locator("tbody tr.cart-line")).to_have_count(3)
    expect(quantity(page, 1)).to_have_value("2")
    expect(quantity(page, 2)).to_have_value("3")
    expect(page.locator("#cart-count")).to_have_text("6")
    assert_no_axe_violations(page)


def test_one_wrong_line_saves_nothing_and_says_which(page, js):
    fill_cart(page)
    typed = {1: "2", 2: "5", 3: "150", 4: "0"}
    for line, value in typed.items():
        quantity(page, line).fill(value)
    with same_document(page, js):
        status = submit_and_status(page, "Update cart")
    assert status == 422
    # The error is beside line 3, and every line keeps what was typed.
    row = page.locator("tbody tr.cart-line").nth(2)
    expect(row).to_have_class(re.compile("cart-line--invalid"))
    expect(row.locator(".sa-errors")).to_have_text(
        "Enter a whole number from 0 to 99 (0 removes it)."
    )
    expect(quantity(page, 3)).to_have_attribute("aria-invalid", "true")
    expect_focus(page, "lines-2-quantity")
    for line, value in typed.items():
        expect(quantity(page, line)).to_have_value(value)
    expect(form(page).locator(".error-summary")).to_contain_text("Line 3 (")
    assert_no_axe_violations(page)
    # Nothing was written: a fresh load shows every line as it was.
    page.goto("/cart")
    for line in typed:
        expect(quantity(page, line)).to_have_value("1")
    expect(page.locator("#cart-count")).to_have_text("4")


def test_quantity_above_stock_is_refused(page, js):
    fill_cart(page, 2)
    stock = int(
        re.search(
            r"(\d+) in stock",
            page.locator("tbody tr.cart-line").first.inner_text(),
        ).group(1)
    )
    quantity(page, 1).fill(str(stock + 1))
    quantity(page, 2).fill("2")
    status = submit_and_status(page, "Update cart")
    assert status == 422
    expect(form(page).get_by_role("alert")).to_contain_text(
        "Nothing was saved: check line 1"
    )
    expect(page.locator("#lines-0-quantity-error")).to_have_text(
        f"Only {stock} in stock: enter {stock} or fewer."
    )
    page.goto("/cart")
    expect(quantity(page, 2)).to_have_value("1")


def test_pending_state_while_saving(page, js, slow):
    fill_cart(page, 2)
    quantity(page, 1).fill("2")
    slow(1.5)
    button = form(page).locator("[type=submit]")
    if js:
        button.click()
        expect(button).to_be_disabled()
        expect(button).to_have_accessible_name("Saving…")
        expect(form(page)).to_have_attribute("aria-busy", "true")
    else:
        button.click()
    expect(form(page).get_by_role("status")).to_have_text("Cart saved: 1 line updated.")
    expect(button).to_be_enabled()
    expect(page.locator("#cart-count")).to_have_text("3")
