"""offline=True: a form says how to keep a submission the server did not get."""

from __future__ import annotations

import json
import re

import pytest
from flask import Blueprint

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page

from .test_actions import NoteForm
from .test_actions import TitleForm


def make_app(app):
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return render_page("notes.html", notes=lambda: [])

    @action(bp, page=index, form=NoteForm, allow=allow.public, offline=True)
    def add_note(form):
        return ActionState.success("Added.")

    @action(bp, page=index, form=TitleForm, allow=allow.public)
    def rename(form):
        return ActionState.success("Renamed.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


def offline_of(page: str, form_id: str) -> dict | None:
    tag = re.search(rf'<form id="{form_id}"[^>]*>', page)
    assert tag
    found = re.search(r"data-sa-offline=\"([^\"]*)\"", tag.group(0))
    if found is None:
        return None
    return json.loads(found.group(1).replace("&#34;", '"').replace("&quot;", '"'))


def test_an_offline_action_s_form_carries_its_words(app, client):
    make_app(app)
    page = client.get("/notes").text
    words = offline_of(page, "notes-add-note")
    assert words == {
        "kept": "Not sent yet — will send when you are back online.",
        "outbox": "Waiting to be sent",
        "sendNow": "Send now",
        "discard": "Discard",
        "openPage": "Open its page to send it",
        "discarded": "Discarded: it will not be sent.",
        "csrfField": "csrf_token",
        "csrfHeader": "X-CSRFToken",
        "maxFiles": 5 * 2**20,
        "owner": words["owner"],
    }
    assert re.fullmatch(r"[0-9a-f]{24}", words["owner"])
    assert offline_of(page, "notes-rename") is None


@pytest.mark.app_config(SERVER_ACTIONS_OFFLINE=True)
def test_the_site_wide_default(app, client):
    make_app(app)
    page = client.get("/notes").text
    assert offline_of(page, "notes-rename") is not None


def test_offline_needs_the_submission_key(app):
    bp = Blueprint("likes", __name__)
    with pytest.raises(TypeError, match="offline=True and once=False"):

        @action(bp, allow=allow.public, offline=True, once=False)
        def like():
            return None


def test_the_outbox_owner_is_per_submitter_and_opaque(app):
    """A kept submission is sent again only from a page of the same owner
    (the signed-in user, else the browser session): the mark differs between
    browser sessions and says nothing of the session's secret."""
    make_app(app)
    first, second = app.test_client(), app.test_client()
    one = offline_of(first.get("/notes").text, "notes-add-note")
    again = offline_of(first.get("/notes").text, "notes-add-note")
    other = offline_of(second.get("/notes").text, "notes-add-note")
    assert one is not None
    assert again is not None
    assert other is not None
    assert one["owner"] == again["owner"]
    assert one["owner"] != other["owner"]
    with first.session_transaction() as session:
        secret = session["csrf_token"]
    assert secret not in one["owner"]
