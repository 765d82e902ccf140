"""``/cart``: the seed's ``batchUpdateItems``, every line in one transaction.

The cart belongs to the browser session: its id is a random token kept in the
signed session cookie, so a visitor can shop without an account and nobody can
reach another visitor's lines. One form updates every line's quantity (0
removes the line). The action runs in the site's transaction
(``ServerActions(app, transaction=session_transaction(db.session))``): when any
line is wrong, or the database refuses a write, nothing is written and the form
shows the error beside that line, with every line's input kept.
"""

from __future__ import annotations

import secrets
import typing as t

from flask import Blueprint
from flask import session
from flask_wtf import FlaskForm
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from wtforms import FieldList
from wtforms import Form
from wtforms import FormField
from wtforms import IntegerField
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Regexp
from wtforms.widgets import HiddenInput
from wtforms.widgets import NumberInput

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

from .models import CartLine
from .models import Product
from .models import db

bp = Blueprint("cart", __name__)

SESSION_KEY = "cart_id"
MAX_QUANTITY = 99
#: A cart never has more lines than this; extra posted lines are ignored.
MAX_LINES = 100
QUANTITY_MESSAGE = f"Enter a whole number from 0 to {MAX_QUANTITY} (0 removes it)."


def strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class LineForm(Form):
    """One line of the cart: which line (hidden) and its new quantity."""

    line_id = IntegerField(
        widget=HiddenInput(), validators=[InputRequired("This line is missing.")]
    )
    quantity = StringField(
        "Quantity",
        widget=NumberInput(min=0, max=MAX_QUANTITY),
        filters=[strip],
        validators=[
            InputRequired(QUANTITY_MESSAGE),
            Regexp(r"^[0-9]{1,2}$", message=QUANTITY_MESSAGE),
        ],
    )


class BatchUpdateForm(FlaskForm):
    """The seed's ``items`` list, as form fields ``lines-0-quantity``, …"""

    lines = FieldList(FormField(LineForm), max_entries=MAX_LINES)


def current_cart_id(*, create: bool = False) -> str | None:
    cart_id = session.get(SESSION_KEY)
    if isinstance(cart_id, str):
        return cart_id
    if not create:
        return None
    cart_id = secrets.token_urlsafe(16)
    session[SESSION_KEY] = cart_id
    return cart_id


def drop_cart() -> None:
    """Delete this browser session's cart (at sign-out): nobody can reach it after."""
    cart_id = current_cart_id()
    if cart_id is not None:
        db.session.execute(delete(CartLine).where(CartLine.cart_id == cart_id))


def cart_lines() -> list[tuple[CartLine, Product]]:
    """The current visitor's lines with their products, oldest first."""
    cart_id = current_cart_id()
    if cart_id is None:
        return []
    rows = db.session.execute(
        db.select(CartLine, Product)
        .join(Product, CartLine.product_id == Product.id)
        .where(CartLine.cart_id == cart_id)
        .order_by(CartLine.id)
    )
    return [(line, product) for line, product in rows]


def cart_count() -> int:
    cart_id = current_cart_id()
    if cart_id is None:
        return 0
    total = db.session.scalar(
        db.select(func.sum(CartLine.quantity)).where(CartLine.cart_id == cart_id)
    )
    return int(total or 0)


def format_cents(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


@bp.get("/cart")
def index() -> str:
    lines = lazy(cart_lines)

    def form_data() -> dict[str, t.Any]:
        return {
            "lines": [
                {"line_id": line.id, "quantity": str(line.quantity)}
                for line, _ in lines()
            ]
        }

    def total() -> str:
        return format_cents(sum(p.price_cents * ln.quantity for ln, p in lines()))

    return render_page(
        "cart/index.html",
        lines=lines,
        by_line_id=lazy(lambda: {line.id: (line, p) for line, p in lines()}),
        form_data=lazy(form_data),
        total=lazy(total),
        cart_count=lazy(cart_count),
        format_cents=format_cents,
    )


def _line_label(position: int, product: Product | None) -> str:
    return f"line {position} ({product.name})" if product else f"line {position}"


@action(
    bp,
    page=index,
    form=BatchUpdateForm,
    allow=allow.public,
    rule="/cart/update",
    max_body="64 KB",
)
def batch_update_items(form: BatchUpdateForm) -> ActionState:
    """The seed's ``batchUpdateItems``: every line's quantity, all or nothing."""
    cart_id = current_cart_id()
    owned = {line.id: (line, product) for line, product in cart_lines()}
    errors: dict[str, list[str]] = {}
    wrong: list[str] = []
    seen: set[int] = set()
    changes: list[tuple[str, str, CartLine, int]] = []
    # Check every line before writing any, so the answer names each wrong one.
    for position, entry in enumerate(form.lines, start=1):
        name = str(entry.quantity.name)
        line_id = entry.line_id.data
        quantity = int(entry.quantity.data)
        found = owned.get(line_id) if cart_id is not None else None
        if found is None:
            problem = "This item is no longer in your cart; reload the page."
        elif line_id in seen:
            problem = "This item appears twice in the form; reload the page."
        elif quantity > found[1].stock:
            problem = (
                f"Only {found[1].stock} in stock: enter {found[1].stock} or fewer."
            )
        else:
            label = _line_label(position, found[1])
            changes.append((name, label, found[0], quantity))
            seen.add(line_id)
            continue
        errors[name] = [problem]
        wrong.append(_line_label(position, found[1] if found else None))
    if errors:
        raise ActionError(
            f"Nothing was saved: check {', '.join(wrong)}.", status=422, errors=errors
        )
    # Write line by line, as the seed's transaction does; the database may
    # still refuse one (a constraint), and then every earlier write is undone.
    # Labels are made beforehand: after a failed flush the rows cannot be read.
    removed = updated = 0
    for name, label, line, quantity in changes:
        try:
            if quantity == 0:
                db.session.delete(line)
                removed += 1
            elif quantity != line.quantity:
                line.quantity = quantity
                updated += 1
            db.session.flush()
        except IntegrityError as exc:
            raise ActionError(
                f"Nothing was saved: the shop could not store {label}.",
                status=422,
                errors={name: ["The shop could not store this quantity."]},
            ) from exc
    # The products page shows how many are in carts (live, in every browser).
    revalidate_tag("cart", "stock")
    if not removed and not updated:
        return ActionState.success("Nothing to change: your cart is as it was.")
    parts = []
    if updated:
        parts.append(f"{updated} line{'s' if updated != 1 else ''} updated")
    if removed:
        parts.append(f"{removed} removed")
    return ActionState.success(f"Cart saved: {' and '.join(parts)}.")


@action(
    bp,
    page=index,
    allow=allow.public,
    bind=("product_id",),
    rule="/cart/add",
)
def add_item(product_id: int) -> ActionState:
    """Put one more of a product in the cart (the "Add to cart" button)."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise ActionError("That product is no longer sold.", status=404)
    cart_id = current_cart_id(create=True)
    line = db.session.scalar(
        db.select(CartLine).where(
            CartLine.cart_id == cart_id, CartLine.product_id == product.id
        )
    )
    limit = min(product.stock, MAX_QUANTITY)
    if line is None:
        line = CartLine(cart_id=cart_id, product_id=product.id, quantity=1)
        db.session.add(line)
    elif line.quantity >= limit:
        raise ActionError(
            f"You already have {line.quantity} {product.name}: that is all we can sell.",
            status=409,
        )
    else:
        line.quantity += 1
    db.session.flush()
    # The products page shows how many are in carts (live, in every browser).
    revalidate_tag("cart", "stock")
    return ActionState.success(
        f"Added {product.name} ({line.quantity} in your cart).",
        data={"quantity": line.quantity},
    )
