"""Helpers shared by the /products and /cart tests."""

from __future__ import annotations

import re

from app.models import CartLine
from app.models import Product
from app.models import db

_ADD_BUTTON = re.compile(
    r'id="cart-add-item-(\d+)".*?name="csrf_token" value="([^"]+)".*?'
    r'name="_sa_bound" value="([^"]+)"'
)


def add_buttons(client, query: str = "") -> dict[int, tuple[str, str]]:
    """{product id: (csrf token, signed product id)} from the products page."""
    html = client.get(f"/products{query}").text
    return {int(pid): (csrf, bound) for pid, csrf, bound in _ADD_BUTTON.findall(html)}


def add_to_cart(client, product_id: int, query: str = "", headers=None):
    csrf, bound = add_buttons(client, query)[product_id]
    data = {
        "csrf_token": csrf,
        "_sa_bound": bound,
        "_sa_page": f"/products{query}",
        "_sa_form": f"cart-add-item-{product_id}",
        "_sa_kind": "button",
    }
    return client.post("/cart/add", data=data, headers=headers or {})


def first_products(app, count: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(Product.id).order_by(Product.name, Product.id).limit(count)
            )
        )


def fill_cart(app, client, count: int = 4) -> list[int]:
    """Put ``count`` products in the client's cart; their product ids."""
    ids = first_products(app, count)
    for product_id in ids:
        assert add_to_cart(client, product_id).status_code == 303
    return ids


def cart_rows(app) -> list[tuple[int, int, int]]:
    """Every cart line as (line id, product id, quantity), in order."""
    with app.app_context():
        rows = db.session.execute(
            db.select(CartLine.id, CartLine.product_id, CartLine.quantity).order_by(
                CartLine.id
            )
        )
        return [tuple(row) for row in rows]
