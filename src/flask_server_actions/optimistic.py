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
    id: str,
    *,
    into: str,
    insert: str = "beforeend",
    pending: str = DEFAULT_PENDING,
    sort: str | int | None = None,
    sort_by: str | None = None,
    slot: str | None = None,
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
    :param sort: the new item's sort key. The item goes before the first child
        of ``into`` whose ``data-sa-sort`` sorts after it (numbers as numbers,
        else text), so a list in a fixed order (pinned first) does not jump when
        the answer arrives; among equal keys ``insert="afterbegin"`` puts it
        first, ``"beforeend"`` last.
    :param sort_by: like ``sort``, the key being the submitted value of this field
        (a list in alphabetical order of titles: ``sort_by="title"``).
    :param slot: the name of a marker inside ``into``
        (``<li data-sa-slot="new" hidden></li>``); the item goes at ``insert``
        of that marker (``"beforebegin"`` or ``"afterend"`` for a marker between
        two groups).
    """
    _check_id(id, "optimistic_template's id")
    if insert not in POSITIONS:
        raise ValueError(
            f"optimistic_template's insert must be one of {sorted(POSITIONS)},"
            f" got {insert!r}."
        )
    placed = [n for n, v in (("sort", sort), ("sort_by", sort_by), ("slot", slot)) if v]
    if len(placed) > 1:
        raise ValueError(
            f"optimistic_template takes one of sort=, sort_by= and slot=, got"
            f" {' and '.join(p + '=' for p in placed)}."
        )
    if (sort is not None or sort_by) and insert not in ("afterbegin", "beforeend"):
        raise ValueError(
            "With sort= or sort_by=, insert= says where the item goes among equal"
            f" keys: 'afterbegin' (first) or 'beforeend' (last), got {insert!r}."
        )
    extra = {
        "data-sa-sort": None if sort is None else str(sort),
        "data-sa-sort-by": sort_by,
        "data-sa-slot": slot,
    }
    placement = Markup("").join(
        Markup(' %s="%s"') % (name, value)
        for name, value in extra.items()
        if value is not None
    )
    return Markup(
        '<template id="%s" data-sa-into="%s" data-sa-insert="%s"'
        ' data-sa-pending="%s"%s>%s</template>'
    ) % (id, into, insert, pending, placement, Markup(caller()))


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
