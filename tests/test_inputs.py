"""render_input writes exactly what WTForms writes, for every input widget."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import DateField
from wtforms import DecimalField
from wtforms import EmailField
from wtforms import FileField
from wtforms import Form
from wtforms import IntegerField
from wtforms import IntegerRangeField
from wtforms import PasswordField
from wtforms import SearchField
from wtforms import StringField
from wtforms import TelField
from wtforms import TextAreaField
from wtforms import URLField
from wtforms import validators
from wtforms.fields import Flags
from wtforms.meta import DefaultMeta
from wtforms.widgets import TextInput

from flask_server_actions.inputs import _plain_input
from flask_server_actions.inputs import render_input


class Upper(TextInput):
    """A widget that renders its own way: WTForms renders it."""

    def __call__(self, field, **kwargs):
        return Markup("<input data-upper=%s%s>") % (field.name.upper(), len(kwargs))


class Everything(Form):
    text = StringField(
        "Text",
        validators=[validators.InputRequired(), validators.Length(min=2, max=20)],
        render_kw={"placeholder": 'say "hi" & <bye>', "data_kind": "x"},
    )
    email = EmailField("Email", validators=[validators.Optional()])
    secret = PasswordField("Secret", validators=[validators.DataRequired()])
    count = IntegerField("Count", validators=[validators.NumberRange(min=1, max=9)])
    price = DecimalField("Price", places=2)
    day = DateField("Day")
    url = URLField("URL", render_kw={"class_": "wide", "readonly": True})
    search = SearchField("Search", render_kw={"autofocus": False})
    phone = TelField("Phone", validators=[validators.Length(max=15)])
    rating = IntegerRangeField("Rating", validators=[validators.NumberRange(0, 5)])
    upload = FileField("Upload")
    custom = StringField("Custom", widget=Upper())
    notes = TextAreaField("Notes")


class OwnMeta(DefaultMeta):
    def render_field(self, field, render_kw):
        return Markup("<own %s%s>") % (field.name, len(render_kw))


class WithOwnMeta(Form):
    Meta = OwnMeta
    text = StringField("Text")


FIELDS = list(Everything().data)
FAST = ["text", "email", "url", "search", "phone"]

values = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.text(max_size=12),
    st.text(max_size=8).map(Markup),
)
names = st.sampled_from(
    [
        "class_",
        "data_sa_check",
        "aria_invalid",
        "aria-describedby",
        "autofocus",
        "placeholder",
        "value",
        "id",
        "type",
        "maxlength",
        "required",
        "list",
        "x_y",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    # The fields that take the short way, twice as often as the others.
    field_name=st.sampled_from([*FIELDS, *FAST]),
    attrs=st.dictionaries(names, values, max_size=5),
    posted=st.text(max_size=10),
)
def test_the_same_markup_as_wtforms(field_name, attrs, posted):
    form = Everything(MultiDict({field_name: posted}))
    form.validate()
    bound = form[field_name]
    assert render_input(bound, dict(attrs)) == Markup(bound(**attrs))


def test_a_datalist_and_callable_flags_as_wtforms():
    class WithList(Form):
        city = StringField("City", validators=[validators.Length(max=30)])

    form = WithList()
    form.city._datalist = "cities"
    form.city.flags.maxlength = lambda: 12
    assert render_input(form.city, {}) == Markup(form.city())
    assert 'list="cities"' in render_input(form.city, {})
    assert 'maxlength="12"' in render_input(form.city, {})


@pytest.mark.parametrize(
    ("form_class", "name", "expected"),
    [
        (Everything, "custom", "<input data-upper=CUSTOM1>"),
        (WithOwnMeta, "text", "<own text1>"),
    ],
)
def test_widgets_and_metas_that_render_their_own_way_keep_it(
    form_class, name, expected
):
    assert render_input(form_class()[name], {"class_": "x"}) == Markup(expected)


def test_the_plain_inputs_take_the_short_way():
    """Else the comparison above would compare WTForms with itself."""
    form = Everything()
    plain = [name for name in FIELDS if _plain_input(form[name]) is not None]
    # Password, number, date and file widgets add attributes of their own.
    assert plain == FAST


class Classy(StringField):
    def __call__(self, **kwargs):
        kwargs.setdefault("class_", "classy")
        return super().__call__(**kwargs)


class MyFlags(Flags):
    required = True


def _own_render(field, render_kw):
    return Markup("<own-instance %s>") % field.name


def _own_params(**kwargs):
    return "own-params"


def test_what_could_change_wtforms_output_goes_to_wtforms():
    class Odd(Form):
        classy = Classy("Classy")
        flagged = StringField("Flagged")
        plain = StringField("Plain")

    form = Odd()
    form.flagged.flags = MyFlags()
    assert render_input(form.classy, {}) == Markup(form.classy())
    assert 'class="classy"' in render_input(form.classy, {})
    assert render_input(form.flagged, {}) == Markup(form.flagged())
    assert "required" in render_input(form.flagged, {})
    with_meta = Odd(meta={"render_field": _own_render})
    assert render_input(with_meta.plain, {}) == Markup("<own-instance plain>")
    form.plain.widget = TextInput()
    form.plain.widget.html_params = _own_params
    assert render_input(form.plain, {}) == Markup(form.plain())
    assert "own-params" in render_input(form.plain, {})


def test_a_name_attribute_is_refused_as_wtforms_refuses_it():
    form = Everything()
    for attrs in ({"name": "other"}, {"name_": "other"}):
        with pytest.raises(TypeError):
            render_input(form.text, attrs)
