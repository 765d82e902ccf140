from __future__ import annotations

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import refresh
from flask_server_actions import render_page
from flask_server_actions import revalidate_path
from flask_server_actions import revalidate_tag

HTMX = {"HX-Request": "true", "HX-Target": "form#board-add-item"}


class ItemForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired()])


@pytest.fixture
def app(app):
    app.config["WTF_CSRF_ENABLED"] = False
    items: list[str] = []
    calls = {"ticks": 0}
    bp = Blueprint("board", __name__)

    def ticks():
        calls["ticks"] += 1
        return calls["ticks"]

    @bp.get("/board")
    def index():
        return render_page("board.html", items=lazy(lambda: list(items)), ticks=ticks)

    @action(bp, page=index, form=ItemForm, allow=allow.public)
    def add_item(form):
        items.append(form.title.data)
        how = form.title.data
        if how == "by-path":
            revalidate_path("/board")
        elif how == "refresh":
            refresh()
        elif how != "quiet":
            revalidate_tag("items")
        return ActionState.success("Added.")

    app.calls = calls
    ServerActions(app)
    app.register_blueprint(bp)
    return app


def add(client, title, headers=HTMX):
    return client.post(
        "/actions/add-item",
        data={"title": title, "_sa_page": "/board"},
        headers=headers,
    )


def test_revalidated_tag_sends_regions_out_of_band(client):
    html = add(client, "first").text
    assert html.startswith('<form id="board-add-item"')
    assert (
        '<span id="item-count" data-sa-region data-sa-tags="items" hx-swap-oob="outerHTML">1</span>'
        in html
    )
    assert (
        '<div id="item-list" data-sa-region data-sa-tags="items" hx-swap-oob="outerHTML"><ul><li>first</li></ul></div>'
        in html
    )


def test_region_with_other_tags_is_not_rendered(app, client):
    html = add(client, "first").text
    assert 'id="clock"' not in html
    assert app.calls["ticks"] == 0  # its data was never loaded


def test_no_revalidation_sends_only_the_form(client):
    html = add(client, "quiet").text
    assert "hx-swap-oob" not in html


def test_revalidate_path_of_current_page_sends_all_its_regions(client):
    html = add(client, "by-path").text
    assert html.count("hx-swap-oob") == 3


def test_refresh_sends_every_region(client):
    html = add(client, "refresh").text
    assert {"item-count", "item-list", "clock"} <= {
        part.split('"')[0] for part in html.split(' id="')[1:]
    }


def test_plain_browser_gets_redirect_and_fresh_page(client):
    response = add(client, "first", headers={})
    assert response.status_code == 303
    page = client.get("/board").text
    assert "<li>first</li>" in page
    assert "hx-swap-oob" not in page


def test_region_can_be_fetched_alone_by_htmx_target(client):
    add(client, "first")
    response = client.get(
        "/board", headers={"HX-Request": "true", "HX-Target": "div#item-list"}
    )
    assert (
        response.text
        == '<div id="item-list" data-sa-region data-sa-tags="items"><ul><li>first</li></ul></div>'
    )
    assert {"HX-Request", "HX-Target"} <= set(response.vary)


def test_unknown_target_gets_whole_page(client):
    response = client.get(
        "/board", headers={"HX-Request": "true", "HX-Target": "div#nope"}
    )
    assert response.text.startswith("<!doctype html>")


@pytest.mark.parametrize("bad", ["1abc", "has space", "a/b", ""])
def test_region_name_must_be_an_id(app, bad):
    from jinja2 import TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError, match="must start with a letter"):
        app.jinja_env.from_string('{% region "' + bad + '" %}x{% endregion %}')


def test_revalidate_path_needs_a_path(app):
    with (
        app.test_request_context(),
        pytest.raises(ValueError, match="starting with '/'"),
    ):
        revalidate_path("board")
