"""A page re-rendered after an action sees its own query string (issue 5)."""

from __future__ import annotations

import pytest
from flask import Blueprint
from flask import request

from flask_server_actions import ActionError
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import refresh
from flask_server_actions import render_page

from .conftest import csrf_token_from


@pytest.fixture
def app(app):
    bp = Blueprint("query", __name__)
    seen: list[str] = []

    @bp.get("/search")
    def index():
        return render_page("query.html", query=request.args.get("q", "(none)"))

    @bp.get("/other")
    def other():
        return render_page("query.html", query="other page")

    @action(bp, page=index, allow=allow.public, rule="/search/add")
    def add():
        refresh()

    @action(bp, page=index, allow=allow.public, rule="/search/fail")
    def fail():
        seen.append(request.args.get("q", "(none)"))
        raise ActionError("No.", status=409)

    app.register_blueprint(bp)
    ServerActions(app)
    app.config["seen"] = seen
    return app


def test_page_rerender_uses_the_query_of_the_page(app, client):
    token = csrf_token_from(client.get("/search?q=lamp").text)
    response = client.post(
        "/search/fail?q=ignored",
        data={"csrf_token": token, "_sa_page": "/search?q=lamp&x="},
    )
    assert response.status_code == 409
    assert '<p id="query">Query: lamp</p>' in response.text
    # The action itself still sees its own request's query string.
    assert app.config["seen"] == ["ignored"]


def add_after_search(client, current_url, *, mode="htmx"):
    """Post the form rendered at /search while the browser is at ``current_url``."""
    token = csrf_token_from(client.get("/search").text)
    headers = {"HX-Current-URL": current_url}
    if mode == "htmx":
        headers |= {"HX-Request": "true", "HX-Target": "form#query-add"}
    return client.post(
        "/search/add",
        data={"csrf_token": token, "_sa_page": "/search", "_sa_form": "query-add"},
        headers=headers,
    )


def test_htmx_answers_for_the_search_the_address_bar_shows_now(client):
    response = add_after_search(client, "http://localhost/search?q=quart")
    assert response.status_code == 200
    assert "Results for quart" in response.text


@pytest.mark.parametrize(
    "current_url",
    [
        "http://localhost/other?q=quart",  # another page: the form's page wins
        "http://evil.example/search?q=quart",  # another site: ignored
        "not a url at all",
    ],
)
def test_the_current_url_counts_only_for_the_same_page_of_this_site(
    client, current_url
):
    response = add_after_search(client, current_url)
    assert response.status_code == 200
    assert "Results for (none)" in response.text


def test_without_javascript_the_forms_page_is_used(client):
    response = add_after_search(client, "http://localhost/search?q=quart", mode="plain")
    assert (response.status_code, response.location) == (303, "/search")
