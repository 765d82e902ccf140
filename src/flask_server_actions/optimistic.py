"""Optimistic UI: show the expected result of an action before the server answers.

The seed's ``useOptimistic``, without a client-side component tree. The page
declares, in Jinja, what the result will look like; the toolkit's small script
(``server-actions-optimistic.js``) shows it the moment the request leaves and
takes it away again when the server's answer arrives: on success the server's
fragment (a revalidated region) replaces it, on failure it is removed and the
form shows the error with the input kept.

Three kinds, chosen with ``optimistic=`` on ``{% action_form %}`` or
``action_button``:

* the id of an :func:`optimistic_template`: a new item, built from the
  template and inserted where the template says, its placeholders filled with
  what the user typed (as text, never as HTML);
* ``"toggle"``: the item the button belongs to (the nearest
  ``[data-sa-item]``) toggles ``optimistic_class`` and is marked pending;
* ``"remove"``: that item is hidden (struck out) while the request runs and
  comes back if the action fails.
"""

from __future__ import annotations

import re
import typing as t

from markupsafe import Markup
from markupsafe import escape

#: The kinds of optimistic update that need no template.
BUILT_IN_KINDS: t.Final = frozenset({"toggle", "remove"})
#: The ``insert=`` positions, as ``Element.insertAdjacentElement`` names them.
POSITIONS: t.Final = frozenset({"beforebegin", "afterbegin", "beforeend", "afterend"})
DEFAULT_PENDING: t.Final = "Saving…"

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _check_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"{what} must be an HTML id (a letter, then letters, digits, - or _),"
            f" got {value!r}."
        )
    return value


def optimistic_template(
    id: str,  # noqa: A002 - reads like the HTML attribute it sets
    *,
    into: str,
    insert: str = "beforeend",
    pending: str = DEFAULT_PENDING,
    caller: t.Callable[[], str],
) -> Markup:
    """The markup of an optimistic item, written once, used with ``{% call %}``.

    ::

        {% call optimistic_template("todo-optimistic", into="#todo-items") %}
          <li class="todo"><span data-sa-value="text"></span></li>
        {% endcall %}

    Every element with ``data-sa-value="name"`` gets the submitted value of the
    field ``name`` as its text (``textContent``: what the user typed is never
    parsed as HTML). The template's first element is the optimistic item: it is
    inserted at ``insert`` (``beforeend``, ``afterbegin``, ``beforebegin`` or
    ``afterend``) of the element ``into`` selects, with the class
    ``sa-optimistic``, ``aria-busy="true"`` and the ``pending`` note. The form's
    fields named by placeholders are emptied at once and come back on failure.

    :param id: the template's id, which ``optimistic=`` on the form names.
    :param into: a CSS selector of the list (or other element) the item goes in.
    :param insert: where in (or beside) that element it goes.
    :param pending: the note the item carries while the server has not answered.
    """
    _check_id(id, "optimistic_template's id")
    if insert not in POSITIONS:
        raise ValueError(
            f"optimistic_template's insert must be one of {sorted(POSITIONS)},"
            f" got {insert!r}."
        )
    return Markup(
        f'<template id="{escape(id)}" data-sa-into="{escape(into)}"'
        f' data-sa-insert="{escape(insert)}" data-sa-pending="{escape(pending)}">'
        f"{caller()}</template>"
    )


def optimistic_attrs(
    kind: str | None,
    *,
    css_class: str | None = None,
    pending: str | None = None,
) -> dict[str, str | None]:
    """The ``data-sa-optimistic*`` attributes of a form or button form.

    :param kind: an :func:`optimistic_template` id, ``"toggle"`` or ``"remove"``.
    :param css_class: for ``"toggle"``, the class the item toggles.
    :param pending: the note shown on the item while the request runs.
    """
    if kind is None:
        return {}
    if kind not in BUILT_IN_KINDS:
        _check_id(kind, "optimistic=")
    if kind == "toggle" and not css_class:
        raise ValueError(
            'optimistic="toggle" needs optimistic_class=, the class the item toggles.'
        )
    return {
        "data-sa-optimistic": kind,
        "data-sa-optimistic-class": css_class,
        "data-sa-optimistic-pending": pending,
    }
