"""Helpers shared by the /products and /cart tests."""

from __future__ import annotations

from app.models import CartLine
from app.models import Product
from app.models import db


def add_to_cart(client, product_id: int, query: str = "", mode: str = "plain"):
    """Press "Add to cart" for ``product_id`` on the products page at ``query``."""
    return client.submit(
        "cart.add_item",
        mode=mode,
        page=f"/products{query}",
        bind={"product_id": product_id},
    )


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
        assert add_to_cart(client, product_id).status == 303
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
