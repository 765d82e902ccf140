from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from app.cart import batch_update_items
from app.models import Product
from app.models import db
from tests.conftest import csrf_token_from

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


FORM = {"HX-Request": "true", "HX-Target": "form#cart-batch-update-items"}


def batch(client, quantities, headers=None, line_ids=None, **extra):
    """Post the cart form with one quantity per line (line ids from the database)."""
    token = csrf_token_from(client.get("/cart").text)
    data = {"csrf_token": token, "_sa_page": "/cart", **extra}
    for index, (line_id, quantity) in enumerate(zip(line_ids, quantities, strict=True)):
        data[f"lines-{index}-line_id"] = str(line_id)
        data[f"lines-{index}-quantity"] = quantity
    return client.post("/cart/update", data=data, headers=headers or {})


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
    response = batch(client, ["2", "0", "5", "1"], line_ids=lines)
    assert response.status_code == 303
    assert [(r[0], r[2]) for r in cart_rows(app)] == [
        (lines[0], 2),
        (lines[2], 5),
        (lines[3], 1),
    ]
    page = client.get("/cart").text
    assert "Cart saved: 2 lines updated and 1 removed." in page
    assert page.count('<tr class="cart-line') == 3


def test_batch_update_htmx_returns_fresh_form_and_count(app, client, lines):
    response = batch(client, ["3", "1", "1", "0"], FORM, line_ids=lines)
    assert response.status_code == 200
    assert response.text.startswith('<form id="cart-batch-update-items"')
    assert "Cart saved: 1 line updated and 1 removed." in response.text
    assert value_of(response.text, "lines-0-quantity") == "3"
    assert "lines-3-quantity" not in response.text
    assert '<span id="cart-count"' in response.text
    assert 'hx-swap-oob="outerHTML">5</span>' in response.text


def test_nothing_changed_is_reported(client, lines):
    response = batch(client, ["1", "1", "1", "1"], FORM, line_ids=lines)
    assert "Nothing to change" in response.text


@pytest.mark.parametrize("headers", [None, FORM], ids=["plain", "htmx"])
@pytest.mark.parametrize("bad", ["abc", "-1", "100", "", "2.5", "1e3"])
def test_one_invalid_line_writes_nothing(app, client, lines, headers, bad):
    before = cart_rows(app)
    response = batch(client, ["7", "8", bad, "9"], headers, line_ids=lines)
    assert response.status_code == 422
    assert cart_rows(app) == before
    html = response.text
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
    html = batch(client, ["1", "x", "1", "1"], FORM, line_ids=lines).text
    assert "autofocus" in input_tag(html, "lines-1-quantity")
    assert "autofocus" not in input_tag(html, "lines-0-quantity")


def test_quantity_above_stock_names_the_line(app, client, lines):
    with app.app_context():
        product_id = cart_rows(app)[1][1]
        db.session.get(Product, product_id).stock = 4
        db.session.commit()
    before = cart_rows(app)
    response = batch(client, ["2", "5", "3", "0"], FORM, line_ids=lines)
    assert response.status_code == 422
    assert cart_rows(app) == before
    assert "Only 4 in stock: enter 4 or fewer." in response.text
    assert "Nothing was saved: check line 2 (Birch Chef&#39;s Knife)." in response.text


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
    response = batch(client, ["2", "0", "3", "2"], FORM, line_ids=lines)
    assert response.status_code == 422
    assert cart_rows(app) == before
    assert "Nothing was saved: the shop could not store line 3" in response.text
    assert 'id="lines-2-quantity-error"' in response.text
    for index, value in enumerate(["2", "0", "3", "2"]):
        assert value_of(response.text, f"lines-{index}-quantity") == value


def test_line_from_another_cart_is_refused(app, client, lines):
    other = app.test_client()
    fill_cart(app, other, 1)
    foreign = cart_rows(app)[-1][0]
    before = cart_rows(app)
    response = batch(client, ["2", "2"], FORM, line_ids=[lines[0], foreign])
    assert response.status_code == 422
    assert cart_rows(app) == before
    assert "This item is no longer in your cart" in response.text


def test_duplicate_line_is_refused(app, client, lines):
    before = cart_rows(app)
    response = batch(client, ["2", "3"], FORM, line_ids=[lines[0], lines[0]])
    assert response.status_code == 422
    assert cart_rows(app) == before
    assert "appears twice" in response.text


def test_forged_line_id_is_a_validation_error(app, client, lines):
    before = cart_rows(app)
    response = batch(client, ["2"], FORM, line_ids=["<b>x</b>"])
    assert response.status_code == 422
    assert cart_rows(app) == before
    assert "<b>x</b>" not in response.text


def test_json_caller_gets_per_line_errors(client, lines):
    response = batch(
        client,
        ["1", "1", "abc", "1"],
        {"Accept": "application/json"},
        line_ids=lines,
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"] == {
        "lines-2-quantity": ["Enter a whole number from 0 to 99 (0 removes it)."]
    }
    assert body["values"]["lines-2-quantity"] == "abc"
    assert body["values"]["lines-0-line_id"] == str(lines[0])


def test_batch_update_without_csrf_writes_nothing(app, client, lines):
    before = cart_rows(app)
    response = client.post(
        "/cart/update",
        data={"lines-0-line_id": str(lines[0]), "lines-0-quantity": "9"},
    )
    assert response.status_code == 400
    assert cart_rows(app) == before


def test_batch_update_oversized_body_is_refused(app, client, lines):
    before = cart_rows(app)
    response = batch(client, ["1" * 70_000], FORM, line_ids=[lines[0]])
    assert response.status_code == 413
    assert cart_rows(app) == before


def test_call_from_python_runs_the_same_validation(app, client, lines):
    with app.app_context():
        state = batch_update_items.call(
            {"lines-0-line_id": str(lines[0]), "lines-0-quantity": "x"}
        )
    assert not state.ok
    assert state.status == 422
    assert list(state.errors) == ["lines-0-quantity"]
