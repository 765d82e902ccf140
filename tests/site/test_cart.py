from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from app.cart import batch_update_items
from app.models import Product
from app.models import db

from .shop import cart_rows
from .shop import fill_cart


def value_of(html: str, name: str) -> str | None:
    """The value of the input called ``name`` in ``html``."""
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    if tag is None:
        return None
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def input_tag(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert tag is not None, name
    return tag.group(0)


def batch(client, quantities, line_ids, mode="htmx"):
    """Submit the cart form with these lines (the page's own lines left out)."""
    fields = {f"lines-{index}-line_id": None for index in range(10)}
    for index, (line_id, quantity) in enumerate(zip(line_ids, quantities, strict=True)):
        fields[f"lines-{index}-line_id"] = str(line_id)
        fields[f"lines-{index}-quantity"] = quantity
    return client.submit("cart.batch_update_items", fields, mode=mode)


@pytest.fixture
def lines(app, client):
    """A cart of four lines, one of each product; their line ids."""
    fill_cart(app, client, 4)
    return [row[0] for row in cart_rows(app)]


def test_empty_cart_says_so(client):
    page = client.get("/cart").text
    assert "Your cart is empty." in page
    assert '<span class="sa-submit__idle">Update cart</span>' not in page


def test_cart_page_lists_lines_with_quantities(client, lines):
    page = client.get("/cart").text
    assert page.count('<tr class="cart-line') == 4
    assert 'name="lines-3-quantity"' in page
    assert value_of(page, "lines-0-line_id") == str(lines[0])
    assert value_of(page, "lines-0-quantity") == "1"
    assert "Birch Bird Feeder" in page


def test_batch_update_writes_every_line_plain(app, client, lines):
    result = batch(client, ["2", "0", "5", "1"], lines, mode="plain")
    assert result.status == 303
    assert [(r[0], r[2]) for r in cart_rows(app)] == [
        (lines[0], 2),
        (lines[2], 5),
        (lines[3], 1),
    ]
    page = client.get("/cart").text
    assert "Cart saved: 2 lines updated and 1 removed." in page
    assert page.count('<tr class="cart-line') == 3


def test_batch_update_htmx_returns_fresh_form_and_count(app, client, lines):
    result = batch(client, ["3", "1", "1", "0"], lines)
    assert result.status == 200
    assert result.text.startswith('<form id="cart-batch-update-items"')
    assert "Cart saved: 1 line updated and 1 removed." in result.text
    assert value_of(result.text, "lines-0-quantity") == "3"
    assert "lines-3-quantity" not in result.text
    assert '<span id="cart-count"' in result.text
    assert 'hx-swap-oob="outerHTML">5</span>' in result.text


def test_nothing_changed_is_reported(client, lines):
    result = batch(client, ["1", "1", "1", "1"], lines)
    assert "Nothing to change" in result.text


@pytest.mark.parametrize("mode", ["plain", "htmx"])
@pytest.mark.parametrize("bad", ["abc", "-1", "100", "", "2.5", "1e3"])
def test_one_invalid_line_writes_nothing(app, client, lines, mode, bad):
    before = cart_rows(app)
    result = batch(client, ["7", "8", bad, "9"], lines, mode=mode)
    assert result.status == 422
    assert cart_rows(app) == before
    html = result.text
    # The error sits beside line 3, and every line keeps what was typed.
    assert 'id="lines-2-quantity-error"' in html
    assert "Enter a whole number from 0 to 99 (0 removes it)." in html
    assert 'aria-invalid="true"' in input_tag(html, "lines-2-quantity")
    for index, value in enumerate(["7", "8", bad, "9"]):
        assert value_of(html, f"lines-{index}-quantity") == value
    assert "lines-0-quantity-error" not in html
    assert "Nothing was saved. Change these lines" in html
    assert "Line 3 (" in html


def test_invalid_line_gets_the_focus(client, lines):
    html = batch(client, ["1", "x", "1", "1"], lines).text
    assert "autofocus" in input_tag(html, "lines-1-quantity")
    assert "autofocus" not in input_tag(html, "lines-0-quantity")


def test_quantity_above_stock_names_the_line(app, client, lines):
    with app.app_context():
        product_id = cart_rows(app)[1][1]
        db.session.get(Product, product_id).stock = 4
        db.session.commit()
    before = cart_rows(app)
    result = batch(client, ["2", "5", "3", "0"], lines)
    assert result.status == 422
    assert cart_rows(app) == before
    assert "Only 4 in stock: enter 4 or fewer." in result.text
    assert "Nothing was saved: check line 2 (Birch Chef&#39;s Knife)." in result.text


def test_database_failure_mid_batch_undoes_earlier_lines(app, client, lines):
    """Lines 1 and 2 are written before the database refuses line 3."""
    refused = cart_rows(app)[2][1]
    with app.app_context():
        db.session.execute(
            text(
                "CREATE TRIGGER refuse_line BEFORE UPDATE ON cart_lines"
                f" WHEN NEW.product_id = {refused}"
                " BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            )
        )
        db.session.commit()
    before = cart_rows(app)
    result = batch(client, ["2", "0", "3", "2"], lines)
    assert result.status == 422
    assert cart_rows(app) == before
    assert "Nothing was saved: the shop could not store line 3" in result.text
    assert 'id="lines-2-quantity-error"' in result.text
    for index, value in enumerate(["2", "0", "3", "2"]):
        assert value_of(result.text, f"lines-{index}-quantity") == value


def test_line_from_another_cart_is_refused(app, client, lines):
    other = app.test_client()
    fill_cart(app, other, 1)
    foreign = cart_rows(app)[-1][0]
    before = cart_rows(app)
    result = batch(client, ["2", "2"], [lines[0], foreign])
    assert result.status == 422
    assert cart_rows(app) == before
    assert "This item is no longer in your cart" in result.text


def test_duplicate_line_is_refused(app, client, lines):
    before = cart_rows(app)
    result = batch(client, ["2", "3"], [lines[0], lines[0]])
    assert result.status == 422
    assert cart_rows(app) == before
    assert "appears twice" in result.text


def test_forged_line_id_is_a_validation_error(app, client, lines):
    before = cart_rows(app)
    result = batch(client, ["2"], ["<b>x</b>"])
    assert result.status == 422
    assert cart_rows(app) == before
    assert "<b>x</b>" not in result.text


def test_json_caller_gets_per_line_errors(client, lines):
    result = batch(client, ["1", "1", "abc", "1"], lines, mode="json")
    assert result.status == 422
    body = result.json
    assert body["errors"] == {
        "lines-2-quantity": ["Enter a whole number from 0 to 99 (0 removes it)."]
    }
    assert body["values"]["lines-2-quantity"] == "abc"
    assert body["values"]["lines-0-line_id"] == str(lines[0])


def test_batch_update_without_csrf_writes_nothing(app, client, lines):
    before = cart_rows(app)
    result = client.submit(
        "cart.batch_update_items",
        {"lines-0-quantity": "9", "csrf_token": None},
        mode="plain",
    )
    assert result.status == 400
    assert cart_rows(app) == before


def test_batch_update_oversized_body_is_refused(app, client, lines):
    before = cart_rows(app)
    result = batch(client, ["1" * 70_000], [lines[0]])
    assert result.status == 413
    assert cart_rows(app) == before


def test_call_from_python_runs_the_same_validation(app, client, lines):
    with app.app_context():
        state = batch_update_items.call(
            {"lines-0-line_id": str(lines[0]), "lines-0-quantity": "x"}
        )
    assert not state.ok
    assert state.status == 422
    assert list(state.errors) == ["lines-0-quantity"]
