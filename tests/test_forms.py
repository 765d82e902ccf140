"""The markup ``field()`` writes for every kind of field (issue 8)."""

from __future__ import annotations

import re

import pytest
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import RadioField
from wtforms import SelectChoice
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import widgets
from wtforms.validators import InputRequired

from flask_server_actions.markup import field
from flask_server_actions.markup import focusing


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PlanForm(FlaskForm):
    name = StringField("Name", description="As on your card.")
    plan = RadioField(
        "Plan",
        choices=[SelectChoice("free", "Free"), SelectChoice("pro", "Pro")],
        description="You can change it later.",
        validators=[InputRequired("Pick a plan.")],
    )
    terms = BooleanField("I accept the terms", validators=[InputRequired()])
    topics = MultiCheckboxField(
        "Topics", choices=[SelectChoice("a", "Art"), SelectChoice("b", "Books")]
    )


@pytest.fixture
def form(req_ctx):
    return PlanForm(formdata=None, meta={"csrf": False})


def _tag(html: str, tag_id: str) -> str:
    match = re.search(rf'<[^>]*\bid="{tag_id}"[^>]*>', html)
    assert match, f"no element with id {tag_id!r} in {html}"
    return match.group(0)


def test_text_field_has_label_and_hint(form):
    html = str(field(form.name))
    assert '<label for="name">Name</label>' in html
    assert 'aria-describedby="name-hint"' in _tag(html, "name")
    assert "aria-invalid" not in html


def test_text_field_with_errors_is_invalid_and_described(form):
    form.name.errors = ["Too short.", "Not a name."]
    html = str(field(form.name))
    tag = _tag(html, "name")
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="name-hint name-error"' in tag
    assert '<ul class="sa-errors" id="name-error"><li>Too short.</li>' in html


def test_radio_group_is_a_fieldset_with_a_label_for_each_option(form):
    html = str(field(form.plan))
    assert html.startswith('<fieldset class="sa-field sa-field--group">')
    assert '<legend>Plan <span class="sa-required" aria-hidden="true">*</span>' in html
    for option_id, text in (("plan-0", "Free"), ("plan-1", "Pro")):
        assert f'<label for="{option_id}">{text}</label>' in html
        assert 'aria-describedby="plan-hint"' in _tag(html, option_id)
    # The list holds no ARIA state of its own: it is not a form control.
    assert _tag(html, "plan") == '<ul class="sa-choices" id="plan">'


def test_radio_group_with_errors_marks_every_option(form):
    form.plan.errors = ["Pick a plan."]
    html = str(field(form.plan))
    for option_id in ("plan-0", "plan-1"):
        tag = _tag(html, option_id)
        assert 'aria-invalid="true"' in tag
        assert 'aria-describedby="plan-hint plan-error"' in tag
    assert '<ul class="sa-errors" id="plan-error"><li>Pick a plan.</li></ul>' in html
    assert "aria-invalid" not in _tag(html, "plan")


def test_radio_group_autofocus_goes_to_checked_option_else_first(form):
    with focusing("plan"):
        html = str(field(form.plan))
        assert "autofocus" in _tag(html, "plan-0")
        assert "autofocus" not in _tag(html, "plan-1")
        form.plan.data = "pro"
        html = str(field(form.plan))
        assert "autofocus" not in _tag(html, "plan-0")
        assert "autofocus" in _tag(html, "plan-1")


def test_checkbox_has_label_and_error_link(form):
    form.terms.errors = ["Accept the terms to go on."]
    html = str(field(form.terms))
    tag = _tag(html, "terms")
    assert 'type="checkbox"' in tag
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="terms-error"' in tag
    assert '<label for="terms">I accept the terms' in html


def test_checkbox_group_gets_the_same_markup_as_radios(form):
    form.topics.errors = ["Pick one."]
    html = str(field(form.topics))
    assert html.startswith("<fieldset")
    assert "<legend>Topics</legend>" in html
    for option_id, text in (("topics-0", "Art"), ("topics-1", "Books")):
        tag = _tag(html, option_id)
        assert 'type="checkbox"' in tag
        assert 'aria-invalid="true"' in tag
        assert 'aria-describedby="topics-error"' in tag
        assert f'<label for="{option_id}">{text}</label>' in html
