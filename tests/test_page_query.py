"""A page re-rendered after an action sees its own query string (issue 5)."""

from __future__ import annotations

import pytest
from flask import Blueprint
from flask import request

from flask_server_actions import ActionError
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page

from .conftest import csrf_token_from


@pytest.fixture
def app(app):
    bp = Blueprint("query", __name__)
    seen: list[str] = []

    @bp.get("/search")
    def index():
        return render_page("query.html", query=request.args.get("q", "(none)"))

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
