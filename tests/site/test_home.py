from __future__ import annotations

import pytest
from flask import abort


def test_home_lists_every_example(client):
    page = client.get("/").text
    assert 'href="/users"' in page
    assert 'href="/username"' in page
    assert 'href="/admin/users"' in page
    assert 'href="/sign-in"' in page
    assert 'href="/profile"' in page
    assert 'href="/reports"' in page


def test_unknown_page_is_404(client):
    assert client.get("/nope").status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/nope", 404), ("/busy", 503)],
    ids=["layout", "error page", "standalone 503 page"],
)
def test_every_layout_links_the_icon(app, client, path, status):
    @app.get("/busy")
    def busy():
        abort(503)

    response = client.get(path)
    assert response.status_code == status
    assert '<link rel="icon" href="/static/favicon.svg"' in response.text
    assert '<link rel="icon" href="/static/favicon.ico"' in response.text


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [("favicon.svg", "image/svg+xml"), ("favicon.ico", "image/vnd.microsoft.icon")],
)
def test_the_icons_are_served(client, name, mimetype):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    response.close()


def test_the_old_fixed_address_redirects_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response.location) == (301, "/static/favicon.ico")


def nav_link(page, label):
    """The nav's <a> for ``label``, up to its text."""
    start = page.index('<nav aria-label="Examples">')
    end = page.index(f">{label}</a>", start)
    return page[page.rindex("<a ", start, end) : end]


def test_the_nav_marks_the_page_and_its_section(client):
    assert 'aria-current="page"' in nav_link(client.get("/users").text, "Users")
    assert "aria-current" not in nav_link(client.get("/users").text, "Blog")
    # A post is a page of the Blog section, not the Blog page itself.
    post = client.get("/posts/notes-on-the-analytical-engine")
    assert post.status_code == 200
    assert 'aria-current="true"' in nav_link(post.text, "Blog")


def test_the_nav_still_marks_a_page_its_action_answers_again(client):
    """Without JavaScript an invalid post answers /users/create with the /users page:
    its tab stays current, as it does with JavaScript (the page never left)."""
    result = client.submit("users.create_user", mode="plain", name="A", email="x")
    assert result.status == 422
    assert 'aria-current="page"' in nav_link(result.response.text, "Users")
