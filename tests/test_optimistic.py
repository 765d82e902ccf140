"""Optimistic updates: the markup the toolkit writes for them (issue 5)."""

from __future__ import annotations

import pytest
from flask import Blueprint
from flask import render_template_string
from flask_wtf import FlaskForm
from wtforms import StringField

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions.optimistic import optimistic_attrs


class NoteForm(FlaskForm):
    text = StringField("Text")


@pytest.fixture
def app(app):
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        return ""

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def add_note(form):
        return ActionState.success()

    @action(bp, page=index, allow=allow.public, bind=("note_id",))
    def drop_note(note_id):
        return ActionState.success()

    ServerActions(app)
    app.register_blueprint(bp)
    return app


def render(source: str) -> str:
    return render_template_string(source)


def test_template_is_a_template_element_with_its_target(app):
    with app.test_request_context("/notes"):
        html = render(
            '{% call optimistic_template("note-new", into="#notes", insert="afterbegin",'
            ' pending="Posting…") %}<li data-sa-value="text"></li>{% endcall %}'
        )
    assert html == (
        '<template id="note-new" data-sa-into="#notes" data-sa-insert="afterbegin"'
        ' data-sa-pending="Posting…"><li data-sa-value="text"></li></template>'
    )


def test_template_says_where_the_item_sorts(app):
    with app.test_request_context("/notes"):
        html = render(
            '{% call optimistic_template("n", into="#notes", insert="afterbegin",'
            " sort=1) %}<li></li>{% endcall %}"
            '{% call optimistic_template("t", into="#notes", sort_by="title") %}'
            "<li></li>{% endcall %}"
            '{% call optimistic_template("s", into="#notes", insert="afterend",'
            ' slot="unpinned") %}<li></li>{% endcall %}'
        )
    assert (
        'data-sa-insert="afterbegin" data-sa-pending="Saving…" data-sa-sort="1">'
        in (html)
    )
    assert 'data-sa-pending="Saving…" data-sa-sort-by="title">' in html
    assert (
        'data-sa-insert="afterend" data-sa-pending="Saving…" data-sa-slot="unpinned">'
        in (html)
    )


def test_template_escapes_its_attributes(app):
    with app.test_request_context("/notes"):
        html = render(
            '{% call optimistic_template("n", into=\'#a"><script>\') %}x{% endcall %}'
        )
    assert "<script>" not in html
    assert 'data-sa-into="#a&#34;&gt;&lt;script&gt;"' in html


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "1bad"}, "must be an HTML id"),
        ({"id": "ok", "insert": "inside"}, "insert must be one of"),
        ({"id": "ok", "sort": "1", "slot": "new"}, "one of sort=, sort_by= and slot="),
        ({"id": "ok", "sort": "1", "insert": "afterend"}, "among equal keys"),
    ],
)
def test_template_refuses_bad_options(app, kwargs, message):
    from flask_server_actions.optimistic import optimistic_template

    options = {"into": "#x", **kwargs}
    with pytest.raises(ValueError, match=message):
        optimistic_template(caller=lambda: "", **options)


def test_action_form_names_its_template(app):
    with app.test_request_context("/notes"):
        html = render(
            '{% action_form "notes.add_note", optimistic="note-new" %}'
            "{{ field(form.text) }}{% endaction_form %}"
        )
    assert 'data-sa-optimistic="note-new"' in html
    assert 'hx-post="/actions/add-note"' in html


def test_forms_without_optimistic_have_no_such_attribute(app):
    with app.test_request_context("/notes"):
        html = render('{% action_form "notes.add_note" %}{% endaction_form %}')
    assert "data-sa-optimistic" not in html


def test_button_toggle_and_remove(app):
    with app.test_request_context("/notes"):
        toggle = render(
            '{{ action_button("notes.drop_note", "Done", bind={"note_id": 1},'
            ' optimistic="toggle", optimistic_class="done", pressed=False) }}'
        )
        remove = render(
            '{{ action_button("notes.drop_note", "Delete", bind={"note_id": 1},'
            ' optimistic="remove", optimistic_pending="Removing…") }}'
        )
    assert 'data-sa-optimistic="toggle" data-sa-optimistic-class="done"' in toggle
    assert 'aria-pressed="false"' in toggle
    assert 'data-sa-optimistic="remove"' in remove
    assert 'data-sa-optimistic-pending="Removing…"' in remove
    assert 'hx-sync="this:drop" hx-disable="find [type=submit]"' in remove


def test_button_can_queue_clicks_instead_of_dropping_them(app):
    with app.test_request_context("/notes"):
        html = render(
            '{{ action_button("notes.drop_note", "Like", bind={"note_id": 1},'
            ' sync="this:queue all", disable=False) }}'
        )
    assert 'hx-sync="this:queue all"' in html
    assert "hx-disable" not in html


def test_toggle_needs_a_class():
    with pytest.raises(ValueError, match="optimistic_class"):
        optimistic_attrs("toggle")


def test_the_optimistic_script_is_served_beside_the_toolkits_own(app, client):
    with app.test_request_context("/notes"):
        html = render("{{ server_actions_assets() }}")
    # Not loaded by every page: the toolkit's script loads it from beside
    # itself where optimistic markup is ([data-sa-optimistic]).
    assert "optimistic" not in html
    assert 'src="/_server_actions/server-actions.min.js"' in html
    with client.get("/_server_actions/server-actions-optimistic.min.js") as script:
        assert script.status_code == 200
        text = script.text
    # Submitted values reach the page as text only, never as markup.
    assert "textContent=bodyValue(body,name)" in text
    assert "innerHTML" not in text
