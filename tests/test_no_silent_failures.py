"""Mistakes fail loudly, at the earliest moment, and say what to write instead (#14)."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint
from flask import render_template
from flask import render_template_string
from flask_wtf import FlaskForm
from jinja2 import TemplateSyntaxError
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import redirect_to
from flask_server_actions import render_page
from flask_server_actions import rendering_for_action
from flask_server_actions.markup import field
from flask_server_actions.testing import ActionClient

HTMX = {"HX-Request": "true"}


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(min=2)])


def test_bind_of_a_name_the_function_does_not_take_fails_at_import():
    bp = Blueprint("notes", __name__)
    with pytest.raises(TypeError, match=r"receives item_id .* add item_id"):

        @action(bp, allow=allow.public, bind=("item_id",))
        def archive() -> None:
            pass


def test_a_form_without_a_parameter_for_it_fails_at_import():
    bp = Blueprint("notes", __name__)
    with pytest.raises(TypeError, match=r"write def add\(form, \.\.\.\)"):

        @action(bp, allow=allow.public, form=NoteForm)
        def add() -> None:
            pass


def test_an_argument_nothing_gives_fails_at_import():
    bp = Blueprint("notes", __name__)
    with pytest.raises(TypeError, match="needs note_id, which nothing gives it"):

        @action(bp, allow=allow.public, form=NoteForm)
        def update(form, note_id) -> None:
            pass


def test_arguments_from_bind_and_the_rule_are_accepted():
    bp = Blueprint("notes", __name__)

    @action(
        bp, allow=allow.public, form=NoteForm, bind=("note_id",), rule="/n/<int:page>"
    )
    def update(form, note_id, page) -> None:
        pass

    @action(bp, allow=allow.public, bind=("note_id",))
    def anything(**kwargs) -> None:
        pass


def test_two_regions_of_one_name_are_a_clear_template_error(app):
    ServerActions(app)
    with app.app_context(), pytest.raises(TemplateSyntaxError) as error:
        render_template_string(
            '{% region "list" %}a{% endregion %}{% region "list" %}b{% endregion %}'
        )
    assert "Region 'list' appears twice in this template" in str(error.value)


def test_an_unknown_action_form_option_lists_the_valid_ones(app):
    ServerActions(app)
    with app.app_context(), pytest.raises(TemplateSyntaxError) as error:
        render_template_string(
            '{% action_form "notes.add", optimistc="x" %}{% endaction_form %}'
        )
    assert "action_form has no option 'optimistc'" in str(error.value)
    assert "optimistic" in str(error.value)


def test_a_description_is_the_fields_hint(app):
    with app.test_request_context():
        form = NoteForm(formdata=None, meta={"csrf": False})
        html = str(field(form.title, description="A few words."))
    assert '<p class="sa-hint" id="title-hint">A few words.</p>' in html
    assert 'aria-describedby="title-hint"' in html
    assert "description=" not in html


@pytest.fixture
def notes():
    return []


@pytest.fixture
def site(app, notes):
    bp = Blueprint("notes", __name__)
    views = {"page": 0}

    @bp.get("/notes")
    def index():
        if not rendering_for_action():
            views["page"] += 1
        return render_page("notes_page.html", notes=lambda: list(notes))

    @bp.get("/plain")
    def plain_page():
        return render_template("notes_page.html", notes=lambda: list(notes))

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def add(form):
        """Add a note to the list."""
        notes.append(form.title.data)
        return ActionState.success("Added.")

    @action(bp, page=index, allow=allow.public, rate_limit="2/minute")
    def delete_all():
        """Delete every note."""
        notes.clear()
        return ActionState.success("Deleted.")

    @bp.get("/about")
    def about():
        return render_page("layout_button.html")

    @action(bp, page=index, allow=allow.public)
    def wrong_return():
        return "Added."  # not an ActionState

    @action(bp, allow=allow.public)
    def leave():
        """A button of the layout's header: no page of its own."""
        return redirect_to("/notes", message="Bye.")

    @action(
        bp,
        page=index,
        form=NoteForm,
        allow=allow.public,
        rate_limit="2/minute",
        rate_limit_counts="applied",
    )
    def careful(form):
        notes.append(form.title.data)

    ServerActions(app)
    app.register_blueprint(bp)
    app.test_client_class = ActionClient
    app.views = views  # type: ignore[attr-defined]
    return app


def test_a_page_view_knows_when_it_renders_for_an_action(site):
    client = site.test_client()
    result = client.submit("notes.add", title="Hello")  # GETs the page, then posts
    assert result.ok
    # The page view ran twice (the GET, and for the answer), counted once.
    assert site.views == {"page": 1}


def test_a_page_without_render_page_fails_loudly_in_tests(site):
    client = site.test_client()
    with pytest.raises(RuntimeError, match=r"without render_page\(\)"):
        client.submit("notes.add", title="Hello", page="/plain")


def test_failed_validations_do_not_count_when_only_applied_ones_do(site, notes):
    client = site.test_client()
    for _ in range(5):
        assert client.submit("notes.careful", title="x").status == 422
    assert client.submit("notes.careful", title="First").ok
    assert client.submit("notes.careful", title="Second").ok
    assert client.submit("notes.careful", title="Third").status == 429
    assert notes == ["First", "Second"]


def test_confirm_without_javascript_asks_on_a_page_first(site, notes):
    notes.extend(["a", "b"])
    client = site.test_client()
    page = client.get("/notes").text
    assert 'name="_sa_confirm" value="Delete every note?"' in page
    asked = client.submit("notes.delete_all", mode="plain")
    assert asked.status == 200
    assert "<h1>Delete every note?</h1>" in asked.text
    assert "Delete every note.</p>" in asked.text  # the action's summary
    assert notes == ["a", "b"]  # nothing ran yet
    # Confirm posts the same form again, answered.
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', asked.text))
    assert fields["_sa_confirmed"] == "1"
    confirmed = client.post("/actions/delete-all", data=fields)
    assert confirmed.status_code == 303
    assert notes == []
    assert 'href="/notes"' in asked.text  # Cancel goes back to the page


@pytest.mark.parametrize("mode", ["htmx", "json"])
def test_confirm_with_javascript_or_from_an_api_runs_at_once(site, notes, mode):
    notes.append("a")
    assert site.test_client().submit("notes.delete_all", mode=mode).ok
    assert notes == []


@pytest.mark.parametrize("mode", ["htmx", "plain"])
def test_submit_finds_a_layout_button_on_the_current_page(site, mode):
    client = site.test_client()
    assert client.get("/about").status_code == 200
    assert client.current_page == "/about"
    result = client.submit("notes.leave", mode=mode)  # no page=, no form_id=
    assert result.redirect == "/notes"
    assert result.form_id == "notes-leave"
    assert result.status == (200 if mode == "htmx" else 303)
    assert "Bye." in client.get("/notes").text


def test_current_page_follows_html_gets_only(site):
    client = site.test_client()
    client.get("/about?x=1")
    client.get("/static/nothing.js")  # a 404 is not a page
    assert client.current_page == "/about?x=1"


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ('{{ field(form.title, optimistc="x") }}', "optimistc"),
        ('{{ field(form.title, descripton="x") }}', "descripton"),
        ('{{ field(form.title, hx_get="/") }}', "hx_get"),
        ('{{ submit("Add", pendng="Adding…") }}', "pendng"),
    ],
)
def test_an_unknown_field_or_submit_option_is_refused(site, source, name):
    template = '{% action_form "notes.add" %}' + source + "{% endaction_form %}"
    with site.test_request_context("/notes"), pytest.raises(TypeError) as caught:
        render_template_string(template)
    assert f"unknown option {name!r}" in str(caught.value)


def test_html_attributes_pass_through_field_and_submit(site):
    template = (
        '{% action_form "notes.add" %}'
        '{{ field(form.title, autocomplete="off", class_="wide", data_role="t",'
        ' **{"hx-get": "/x"}) }}'
        '{{ submit("Add", class_="big", data_kind="go", formnovalidate=True) }}'
        "{% endaction_form %}"
    )
    with site.test_request_context("/notes"):
        html = render_template_string(template)
    assert 'autocomplete="off"' in html
    assert 'class="wide"' in html
    assert 'data-role="t"' in html
    assert 'hx-get="/x"' in html
    assert 'class="sa-submit big"' in html
    assert 'data-kind="go"' in html
    assert " formnovalidate" in html


def test_a_test_answers_yes_on_the_confirmation_page(site, notes):
    notes.append("a")
    client = site.test_client()
    asked = client.submit("notes.delete_all", mode="plain")
    assert asked.asks_to_confirm
    assert notes == ["a"]
    done = asked.confirm()
    assert (done.status, done.redirect) == (303, "/notes")
    assert done.ok
    assert notes == []
    with pytest.raises(RuntimeError, match="not a confirmation page"):
        done.confirm()


def test_an_action_that_returns_something_else_says_what_to_return(site, caplog):
    result = site.test_client().submit("notes.wrong_return")
    assert result.status == 500  # an error boundary for the user
    assert (
        "TypeError: Action notes.wrong_return returned str;"
        " return an ActionState or None."
    ) in caplog.text
