from __future__ import annotations

import pytest

from app.models import CartLine
from app.models import Product
from app.models import db

from .shop import add_to_cart
from .shop import cart_rows
from .shop import first_products

RESULTS = {"HX-Request": "true", "HX-Target": "section#product-results"}


def test_catalogue_is_seeded_with_a_few_hundred_products(app):
    with app.app_context():
        count = db.session.scalar(db.select(db.func.count(Product.id)))
        names = list(db.session.scalars(db.select(Product.name).order_by(Product.id)))
    assert 200 <= count <= 500
    assert names[0] == "Brass Lamp"


def test_products_page_without_query_lists_everything(client):
    page = client.get("/products").text
    assert "All 330 products" in page
    assert 'role="search"' in page
    assert 'action="/products" method="get"' in page
    assert "Page 1 of 14" in page


def test_search_filters_by_name_and_highlights(client):
    page = client.get("/products?q=lamp").text
    assert "30 products match “lamp”" in page
    assert "Birch <mark>Lamp</mark>" in page
    assert 'value="lamp"' in page


def test_search_is_case_insensitive_and_matches_category(client):
    assert "75 products match “KITCHEN”" in client.get("/products?q=KITCHEN").text


def test_search_narrowed_by_category(client):
    page = client.get("/products?q=oak&category=Garden").text
    assert "4 products match “oak” in Garden" in page


def test_unknown_category_is_ignored(client):
    assert "All 330 products" in client.get("/products?category=Nope").text


@pytest.mark.parametrize("query", ["a", "la", "  la  "])
def test_too_short_query_shows_a_hint_not_an_error(client, query):
    response = client.get("/products", query_string={"q": query})
    assert response.status_code == 200
    assert "is too short to search" in response.text
    assert "here are all 330 products" in response.text


def test_no_match_says_so(client):
    page = client.get("/products?q=zebra").text
    assert "No products match “zebra”" in page
    assert "see every product" in page


def test_query_is_escaped(client):
    page = client.get("/products", query_string={"q": "<script>x</script>"}).text
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


@pytest.mark.parametrize("query", ["%", "_", "\\", "100%"])
def test_like_wildcards_are_literal(client, query):
    page = client.get("/products", query_string={"q": query * 3}).text
    assert "No products match" in page or "too short" in page


def test_huge_query_is_cut(client):
    response = client.get("/products", query_string={"q": "lamp" * 1000})
    assert response.status_code == 200
    assert ("lamp" * 25) in response.text
    assert ("lamp" * 26) not in response.text


@pytest.mark.parametrize("page", ["0", "-3", "abc", "999999999"])
def test_bad_page_numbers_fall_back(client, page):
    response = client.get("/products", query_string={"page": page})
    assert response.status_code == 200
    assert "Page 1 of 14" in response.text or "Page 14 of 14" in response.text


def test_pagination_links_keep_the_search(client):
    page = client.get("/products?q=lamp").text
    assert "Page 1 of 2" in page
    assert 'href="/products?q=lamp&amp;page=2"' in page
    second = client.get("/products?q=lamp&page=2").text
    assert "Page 2 of 2" in second
    assert 'href="/products?q=lamp"' in second


def test_htmx_search_answers_the_results_region_alone(client):
    response = client.get("/products?q=lamps", headers=RESULTS)
    assert response.status_code == 200
    assert response.text.startswith('<section id="product-results"')
    assert "15 products match “lamps”" in response.text
    assert "<html" not in response.text
    assert 'role="search"' not in response.text
    assert "HX-Target" in response.headers["Vary"]


def test_htmx_search_replaces_the_url_with_the_canonical_one(client):
    response = client.get("/products?q=lamp&category=&page=1", headers=RESULTS)
    assert response.headers["HX-Replace-Url"] == "/products?q=lamp"
    response = client.get("/products?q=&category=", headers=RESULTS)
    assert response.headers["HX-Replace-Url"] == "/products"


def test_plain_get_sends_no_htmx_headers(client):
    response = client.get("/products?q=lamp")
    assert "HX-Replace-Url" not in response.headers


def test_same_results_with_and_without_htmx(client):
    import re

    def without_keys(html):
        # Every rendered form gets a fresh one-time submission key, and the
        # live region's validator is the visitor's (the first page made the session).
        html = re.sub(r'data-sa-etag="[^"]*"', "data-sa-etag", html)
        # Signed values carry the second they were signed in, and the two
        # requests may fall on either side of a second.
        html = re.sub(
            r'(name="(?:csrf_token|_sa_bound)" value="[^".]*)\.[^"]*"', r'\1"', html
        )
        return re.sub(r'name="_sa_key" value="[^"]*"', 'name="_sa_key"', html)

    whole = client.get("/products?q=copper&category=Kitchen").text
    region = client.get("/products?q=copper&category=Kitchen", headers=RESULTS).text
    assert without_keys(region) in without_keys(whole)


def test_add_to_cart_plain_redirects_back_with_a_message(app, client):
    product_id = first_products(app, 1)[0]
    result = add_to_cart(client, product_id, query="?q=birch")
    assert (result.status, result.redirect) == (303, "/products?q=birch")
    page = client.get(result.redirect).text
    assert "Added Birch Bird Feeder (1 in your cart)." in page
    assert '<strong id="cart-count">1</strong> item</a>' in page


def test_add_to_cart_htmx_updates_the_count_in_place(app, client):
    product_id = first_products(app, 1)[0]
    add_to_cart(client, product_id)
    result = add_to_cart(client, product_id, mode="htmx")
    assert result.status == 200
    assert result.message == "Added Birch Bird Feeder (2 in your cart)."
    assert set(result.regions) == {"cart-summary"}
    assert '<strong id="cart-count">2</strong> items' in result.regions["cart-summary"]
    assert "product-results" not in result.text
    assert cart_rows(app)[0][1:] == (product_id, 2)


def test_add_to_cart_stops_at_the_stock(app, client):
    product_id = first_products(app, 1)[0]
    with app.app_context():
        db.session.get(Product, product_id).stock = 1
        db.session.commit()
    add_to_cart(client, product_id)
    result = add_to_cart(client, product_id)
    assert result.status == 409
    assert "that is all we can sell" in result.message
    assert cart_rows(app)[0][2] == 1


def test_add_to_cart_refuses_a_forged_product_id(app, client):
    product_id = first_products(app, 1)[0]
    result = client.submit(
        "cart.add_item",
        mode="plain",
        page="/products",
        form_id=f"cart-add-item-{product_id}",
        _sa_bound="1",
    )
    assert result.status == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(CartLine.id))) == 0


def test_home_and_nav_link_to_the_shop(client):
    page = client.get("/").text
    assert 'href="/products"' in page
    assert 'href="/cart"' in page


def test_refused_add_without_javascript_shows_the_same_search(app, client):
    """The page re-rendered with the error is the search the visitor was on."""
    product_id = first_products(app, 1)[0]
    with app.app_context():
        db.session.get(Product, product_id).stock = 1
        db.session.commit()
    add_to_cart(client, product_id, query="?q=birch+bird")
    result = add_to_cart(client, product_id, query="?q=birch+bird")
    assert result.status == 409
    assert "1 product matches “birch bird”" in result.text
    assert 'value="birch bird"' in result.text
    status = result.text.split(f'id="cart-add-item-{product_id}-status"', 1)[1]
    assert "that is all we can sell" in status.split("</div>", 1)[0]
