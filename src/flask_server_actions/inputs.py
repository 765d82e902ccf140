"""WTForms' ``<input>`` widgets, written without WTForms' per-attribute formatting.

WTForms builds every attribute with ``Markup.format`` (a ``string.Formatter``
run per attribute), which makes one text input cost more than the rest of a
small form's markup. :func:`render_input` writes the same bytes as
``field(**attrs)`` for the plain :class:`wtforms.widgets.Input` widgets, and
hands everything else to WTForms: a widget or form ``Meta`` that renders its
own way, a field whose flags are not plain attributes.
"""

from __future__ import annotations

import typing as t

from markupsafe import Markup
from markupsafe import escape
from wtforms.fields import Field
from wtforms.fields import Flags
from wtforms.meta import DefaultMeta
from wtforms.widgets import Input
from wtforms.widgets import html_params


def _plain_input(bound: Field) -> Input | None:
    """The field's widget, if WTForms would render it as :class:`Input` does.

    Anything that could change WTForms' output sends the field to WTForms: a
    field, widget or flags class of its own, a ``render_field`` or
    ``html_params`` set on the class or on the instance.
    """
    widget = getattr(bound, "widget", None)
    if not isinstance(widget, Input):
        return None
    kind = type(widget)
    render_field = getattr(bound.meta, "render_field", None)
    if (
        type(bound).__call__ is not Field.__call__
        or kind.__call__ is not Input.__call__
        or kind.html_params is not html_params
        or "html_params" in vars(widget)
        or getattr(render_field, "__func__", None) is not DefaultMeta.render_field
        or type(bound.flags) is not Flags
    ):
        return None
    return widget


def _clean_key(key: str) -> str:
    # WTForms' ``clean_key``: ``class_`` is ``class``, ``data_x_y`` is ``data-x-y``.
    key = key.rstrip("_")
    if key.startswith(("data_", "aria_")):
        key = key.replace("_", "-")
    return key


def render_input(bound: Field, attrs: dict[str, t.Any]) -> Markup:
    """``bound(**attrs)``, the same markup, faster for plain input widgets."""
    widget = _plain_input(bound)
    if widget is None:
        return Markup(bound(**attrs))
    # DefaultMeta.render_field: the field's render_kw, then the caller's.
    kwargs = {_clean_key(k): v for k, v in attrs.items()}
    own = getattr(bound, "render_kw", None)
    if own:
        kwargs = {**{_clean_key(k): v for k, v in own.items()}, **kwargs}
    if "name" in kwargs:
        # ``name=`` (or ``name_=``, or in render_kw) is WTForms' to refuse:
        # it raises a TypeError.
        return Markup(bound(**attrs))
    # Input.__call__
    kwargs.setdefault("id", bound.id)
    kwargs.setdefault("type", widget.input_type)
    if "value" not in kwargs:
        kwargs["value"] = bound._value()
    datalist = getattr(bound, "_datalist", None)
    if datalist is not None and "list" not in kwargs:
        kwargs["list"] = datalist if isinstance(datalist, str) else datalist.id
    flags = vars(bound.flags)
    for name in widget.validation_attrs:
        if name in flags and name not in kwargs:
            value = flags[name]
            kwargs[name] = value() if callable(value) else value
    kwargs["name"] = bound.name
    # html_params
    params = []
    for key, value in sorted(kwargs.items()):
        key = _clean_key(key)
        if value is True:
            params.append(str(escape(key)))
        elif value is not False:
            text = str(escape(value)).replace('"', "&quot;")
            params.append(f'{escape(key)}="{text}"')
    return Markup(f"<input {' '.join(params)}>")
