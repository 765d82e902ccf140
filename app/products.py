"""``/products``: a catalogue with a search that updates as you type.

Without JavaScript the search is a plain GET form: the results page is a normal
page and its URL (``/products?q=lamp``) can be bookmarked. With htmx the same
form asks for the ``product-results`` region alone as you type; ``render_page``
answers that region by itself, so both modes render the same template.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing as t

from flask import Blueprint
from flask import after_this_request
from flask import request
from flask import url_for
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy import func
from sqlalchemy import or_

from flask_server_actions import current_htmx
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions.htmx import replace_url

from .cart import cart_count
from .models import PRODUCT_CATEGORIES
from .models import CartLine
from .models import Product
from .models import db

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Response

bp = Blueprint("products", __name__)

#: Shorter queries match too much to be useful; the page says so instead.
MIN_QUERY = 3
#: Longer queries are cut, so a hostile URL cannot make a huge LIKE pattern.
MAX_QUERY = 100
PER_PAGE = 24


@dataclasses.dataclass(frozen=True)
class Search:
    """What the visitor asked for, cleaned up."""

    #: The query as typed (trimmed, at most ``MAX_QUERY`` characters).
    q: str
    #: A known category, or ``""`` for all of them.
    category: str
    page: int

    @property
    def too_short(self) -> bool:
        return 0 < len(self.q) < MIN_QUERY

    @property
    def active_query(self) -> str:
        """The query the results are filtered by (none while it is too short)."""
        return "" if self.too_short else self.q

    def url(self, page: int | None = None) -> str:
        """The canonical, bookmarkable URL of this search (empty parts left out)."""
        number = self.page if page is None else page
        return url_for(
            "products.index",
            q=self.q or None,
            category=self.category or None,
            page=number if number > 1 else None,
        )


@dataclasses.dataclass(frozen=True)
class Results:
    products: list[Product]
    total: int
    page: int
    pages: int
    #: How many of each product on the page are in shoppers' carts (live: the
    #: cart's actions revalidate the ``stock`` tag).
    in_carts: dict[int, int] = dataclasses.field(default_factory=dict)


def read_search() -> Search:
    q = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    category = request.args.get("category", "")
    if category not in PRODUCT_CATEGORIES:
        category = ""
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    return Search(q=q, category=category, page=page)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_products(search: Search) -> Results:
    query = db.select(Product)
    if search.active_query:
        pattern = _like_pattern(search.active_query)
        query = query.where(
            or_(
                Product.name.ilike(pattern, escape="\\"),
                Product.category.ilike(pattern, escape="\\"),
            )
        )
    if search.category:
        query = query.where(Product.category == search.category)
    total = db.session.scalar(db.select(func.count()).select_from(query.subquery()))
    pages = max(1, math.ceil((total or 0) / PER_PAGE))
    page = min(search.page, pages)
    products = db.session.scalars(
        query.order_by(Product.name, Product.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    found = list(products)
    rows = db.session.execute(
        db.select(CartLine.product_id, func.sum(CartLine.quantity))
        .where(CartLine.product_id.in_([p.id for p in found]))
        .group_by(CartLine.product_id)
    )
    in_carts = {int(product_id): int(count) for product_id, count in rows}
    return Results(found, total or 0, page, pages, in_carts)


def highlight(text: str, query: str) -> Markup:
    """``text`` with every match of ``query`` in ``<mark>``, escaped."""
    if not query:
        return escape(text)
    parts = re.split(f"({re.escape(query)})", text, flags=re.IGNORECASE)
    return Markup("").join(
        Markup("<mark>{}</mark>").format(part) if i % 2 else escape(part)
        for i, part in enumerate(parts)
    )


@bp.get("/products")
def index() -> str:
    search = read_search()
    if current_htmx and request.method == "GET":
        # The address bar follows the search, so it can be bookmarked or shared.
        canonical = search.url()

        @after_this_request
        def follow(response: Response) -> Response:
            return replace_url(response, canonical)

    return render_page(
        "products/index.html",
        search=search,
        results=lazy(lambda: find_products(search)),
        categories=list(PRODUCT_CATEGORIES),
        cart_count=lazy(cart_count),
        min_query=MIN_QUERY,
        highlight=highlight,
    )
