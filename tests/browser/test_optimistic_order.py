"""Optimistic items that follow the list, and stale errors hidden in flight (#14).

A small app of its own (not the reference site): a pinned-first list of notes,
newest first in each group, whose optimistic template sorts the new note before
the first unpinned one, so nothing jumps when the answer arrives. Each test runs
with JavaScript on and off.
"""

from __future__ import annotations

import time

import pytest
from flask import Blueprint
from flask import Flask
from flask_wtf import FlaskForm
from playwright.sync_api import expect
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

from .conftest import LiveServer

BOARD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notes</title>
{{ server_actions_assets() }}</head>
<body {{ csrf_headers() }}>
{{ server_actions_messages() }}
<main>
{% region "notes", tags=["notes"] %}
<ul id="note-items">
{% for note in notes %}
  <li class="note" data-sa-item data-sa-sort="{{ 0 if note.pinned else 1 }}">
    {{- note.title }}{% if note.pinned %} (pinned){% endif -%}
  </li>
{% endfor %}
</ul>
{% endregion %}
{% action_form "notes.add_note", optimistic="note-new" %}
  {{ field(form.title) }}
  {{ submit("Add", pending="Adding…") }}
{% endaction_form %}
{% call optimistic_template("note-new", into="#note-items", insert="afterbegin", sort=1) %}
  <li class="note"><span data-sa-value="title"></span></li>
{% endcall %}
</main>
</body></html>
"""


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(min=3)])


def make_app(templates) -> Flask:
    (templates / "board.html").write_text(BOARD)
    app = Flask(__name__, template_folder=str(templates))
    app.config.update(SECRET_KEY="browser tests of optimistic order", DELAY=0.0)
    app.notes = []  # type: ignore[attr-defined]
    bp = Blueprint("notes", __name__)

    @bp.get("/")
    def index():
        notes = sorted(
            enumerate(app.notes), key=lambda pair: (not pair[1]["pinned"], -pair[0])
        )
        return render_page("board.html", notes=[note for _, note in notes])

    @action(bp, page=index, form=NoteForm, allow=allow.public, rule="/notes/add")
    def add_note(form: NoteForm) -> ActionState:
        time.sleep(app.config["DELAY"])
        app.notes.append({"title": form.title.data, "pinned": False})
        revalidate_tag("notes")
        return ActionState.success("Added.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture(scope="module")
def notes_server(tmp_path_factory):
    server = LiveServer(make_app(tmp_path_factory.mktemp("templates")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def notes_page(browser, notes_server, js):
    notes_server.app.notes[:] = [
        {"title": "Old pinned", "pinned": True},
        {"title": "Older", "pinned": False},
        {"title": "Pinned", "pinned": True},
        {"title": "Newer", "pinned": False},
    ]
    notes_server.app.config["DELAY"] = 0.0
    context = browser.new_context(java_script_enabled=js, base_url=notes_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    yield page
    context.close()
    assert errors == []


def titles(page) -> list[str]:
    return [t.strip() for t in page.locator("#note-items li").all_inner_texts()]


def add(page, title: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Add").click()


def test_a_new_note_goes_after_the_pinned_ones_and_stays_there(
    notes_page, notes_server, js
):
    page = notes_page
    assert titles(page) == ["Pinned (pinned)", "Old pinned (pinned)", "Newer", "Older"]
    notes_server.app.config["DELAY"] = 1.5
    add(page, "Lunch")
    if js:
        pending = page.locator("#note-items li.sa-optimistic")
        expect(pending).to_have_count(1)
        # In flight: before the first unpinned note, after the pinned ones.
        assert [t.removesuffix("Saving…") for t in titles(page)] == [
            "Pinned (pinned)",
            "Old pinned (pinned)",
            "Lunch",
            "Newer",
            "Older",
        ]
        expect(pending).to_have_count(0)
    expect(page.locator("#note-items li").nth(2)).to_have_text("Lunch")
    assert titles(page) == [
        "Pinned (pinned)",
        "Old pinned (pinned)",
        "Lunch",
        "Newer",
        "Older",
    ]


def test_stale_errors_are_hidden_while_the_next_try_is_in_flight(
    notes_page, notes_server, js
):
    page = notes_page
    field = page.get_by_label("Title")
    status = page.locator("#notes-add-note-status")
    add(page, "ab")
    expect(status).to_have_text("Please correct the errors below.")
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    notes_server.app.config["DELAY"] = 1.5
    add(page, "Lunch")
    if js:
        # The request is in flight: the old complaint is gone meanwhile.
        expect(page.locator("#note-items li.sa-optimistic")).to_have_count(1)
        expect(status).to_have_text("")
        expect(field).not_to_have_attribute("aria-invalid", "true")
        expect(page.locator("#notes-add-note .sa-errors")).to_be_hidden()
    expect(status).to_have_text("Added.")
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#notes-add-note .sa-errors")).to_have_count(0)


def test_stale_errors_come_back_when_the_next_try_fails_too(notes_page, js):
    page = notes_page
    field = page.get_by_label("Title")
    status = page.locator("#notes-add-note-status")
    add(page, "ab")
    expect(status).to_have_text("Please correct the errors below.")
    if not js:
        # Without JavaScript nothing is hidden: the page comes back with errors.
        expect(field).to_have_attribute("aria-invalid", "true")
        return
    # The next try gets no answer at all (the network is gone).
    page.route("**/notes/add", lambda route: route.abort())
    add(page, "Lunch")
    expect(page.locator("#note-items li.sa-optimistic")).to_have_count(0)
    # The status area says what happened now; the field's complaint is back.
    expect(status).to_contain_text("The server could not be reached")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#notes-add-note .sa-errors")).to_be_visible()
    expect(field).to_have_value("Lunch")  # what was typed comes back too
