"""A region inside ``{% if %}`` is sent only to whom the page shows it.

A region asked for on its own (an htmx GET naming it, as polling and live
regions do) and the regions an action's answer brings out of band used to
render as bare blocks, skipping the condition around them: anyone could read
an admins-only region by naming it.
"""

from __future__ import annotations

import pytest
from flask import Blueprint
from flask import flash

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag
from flask_server_actions.pages import guarded_regions

MODERATION = {"HX-Request": "true", "HX-Target": "div#moderation"}


@pytest.fixture
def app(app):
    app.config["WTF_CSRF_ENABLED"] = False
    notes = ["first"]
    seen = {"admin": False}
    bp = Blueprint("guarded", __name__)

    @bp.get("/notes")
    def index():
        return render_page("guarded.html", notes=notes, admin=seen["admin"])

    @bp.get("/notes/flash")
    def with_message():
        flash("Kept for the next page.")
        return "flashed"

    @action(bp, page=index, allow=allow.public)
    def touch():
        return ActionState.success("Nothing changed.")

    @action(bp, page=index, allow=allow.public)
    def add():
        notes.append(f"note {len(notes) + 1}")
        revalidate_tag("notes")
        return ActionState.success("Added.")

    app.seen = seen
    ServerActions(app)
    app.register_blueprint(bp)
    return app


def post_add(client):
    return client.post(
        "/actions/add",
        data={"_sa_page": "/notes", "_sa_form": "guarded-add"},
        headers={"HX-Request": "true", "HX-Target": "form#guarded-add"},
    )


def test_regions_inside_a_condition_or_a_loop_are_known(app):
    with app.app_context():
        template = app.jinja_env.get_template("guarded.html")
        assert guarded_regions(template) == {
            "sa_region__moderation": ("notes",),
            "sa_region__looped": ("notes",),
        }


def test_a_guarded_region_asked_for_alone_is_not_sent_to_whom_the_page_hides_it(
    app, client
):
    answer = client.get("/notes", headers=MODERATION)
    assert answer.status_code == 200
    assert "for admins" not in answer.text
    assert 'id="moderation"' not in answer.text


def test_a_guarded_region_asked_for_alone_is_sent_when_the_page_shows_it(app, client):
    app.seen["admin"] = True
    answer = client.get("/notes", headers=MODERATION)
    assert answer.text.startswith('<div id="moderation"')
    assert "for admins: first" in answer.text
    assert "<html" not in answer.text  # the region alone, not the page


def test_an_open_region_is_still_rendered_alone(client):
    answer = client.get(
        "/notes", headers={"HX-Request": "true", "HX-Target": "div#open-count"}
    )
    assert answer.text.startswith('<div id="open-count"')
    assert "1 notes" in answer.text
    assert "<html" not in answer.text


def test_an_action_brings_a_guarded_region_only_to_whom_the_page_shows_it(app, client):
    hidden = post_add(client)
    assert hidden.status_code == 200
    assert 'id="open-count"' in hidden.text
    assert "for admins" not in hidden.text
    app.seen["admin"] = True
    shown = post_add(client)
    assert 'id="moderation"' in shown.text
    assert "for admins: first, note 2, note 3" in shown.text
    assert 'hx-swap-oob="outerHTML"' in shown.text.split('id="moderation"')[1][:200]


def test_the_page_rendered_for_a_region_leaves_the_messages_for_the_next_page(
    client,
):
    client.get("/notes/flash")
    client.get("/notes", headers=MODERATION)
    assert "Kept for the next page." in client.get("/notes").text


def test_an_answer_renders_the_page_again_only_for_a_guarded_region_it_changes(
    app, client, monkeypatch
):
    from flask_server_actions import pages

    captures = []
    original = pages._capture

    def counted(*args, **kwargs):
        captures.append(args[3])
        return original(*args, **kwargs)

    monkeypatch.setattr(pages, "_capture", counted)
    app.seen["admin"] = True
    quiet = client.post(
        "/actions/touch",
        data={"_sa_page": "/notes", "_sa_form": "guarded-touch"},
        headers={"HX-Request": "true", "HX-Target": "form#guarded-touch"},
    )
    assert quiet.status_code == 200
    assert captures == []  # "notes" was not revalidated: no second render
    post_add(client)
    assert captures == [{"sa_region__moderation": "oob", "sa_region__looped": "oob"}]
