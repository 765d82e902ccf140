"""HtmlTemplate: the toolkit's markup written once gives what ``Markup % values`` gives."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from flask_server_actions.markup import HtmlTemplate


class Widget:
    def __html__(self) -> str:
        return "<b>widget</b>"

    def __str__(self) -> str:
        return "<not used>"


VALUES = [
    "plain",
    "<script>alert('x') & \"y\"</script>",
    Markup("<em>kept</em>"),
    Widget(),
    42,
    None,
    "",
    "ünïcode ☃ &amp; already escaped",
]


@pytest.mark.parametrize("value", VALUES)
def test_each_value_is_escaped_as_markup_escapes_it(value):
    template = '<p title="%s">%s</p>'
    filled = HtmlTemplate(template) % (value, value)
    assert isinstance(filled, Markup)
    assert filled == Markup(template) % (value, value)


def test_a_mapping_of_values_is_escaped_too():
    template = '<%(element)s id="%(id)s">%(inner)s</%(element)s>'
    values = {"element": "div", "id": '"><script>', "inner": Markup("<i>ok</i>")}
    assert HtmlTemplate(template) % values == Markup(template) % values
    assert HtmlTemplate(template) % values == (
        '<div id="&#34;&gt;&lt;script&gt;"><i>ok</i></div>'
    )
