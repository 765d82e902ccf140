"""``action_button``: one button that calls an action, with or without JavaScript.

The seeds call actions from event handlers (a like button, a delete button). Here
the button is a tiny form, so it works as a plain POST; htmx posts it in place.
Arguments bound on the server (``bind={"user_id": 3}``) travel signed.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from flask import url_for
from markupsafe import Markup

from .exchange import current_exchange
from .fields import KIND_FIELD
from .fields import button_id
from .forms import bound_field
from .forms import confirm_field
from .forms import shown_state
from .markup import form_element
from .markup import hidden_fields
from .markup import status_area
from .markup import submit
from .optimistic import optimistic_attrs
from .registry import find_action


def action_button(
    endpoint: str,
    label: str,
    *,
    bind: Mapping[str, t.Any] | None = None,
    confirm: str | None = None,
    pending: str | None = None,
    id: str | None = None,
    class_: str | None = None,
    target: str = "this",
    swap: str = "outerHTML",
    sync: str = "this:drop",
    disable: bool = True,
    optimistic: str | None = None,
    optimistic_class: str | None = None,
    optimistic_pending: str | None = None,
    pressed: bool | None = None,
) -> Markup:
    """A button that posts to the action ``endpoint``, in a form of its own.

    :param bind: values the action receives as keyword arguments, signed so the
        client cannot change them (the action declares their names in ``bind=``).
    :param confirm: ask before posting: a dialog with JavaScript, a page of its
        own without.
    :param pending: the label while the request is in flight.
    :param sync: htmx's ``hx-sync`` for the button: ``"this:drop"`` (default)
        ignores a click while one is in flight, ``"this:queue all"`` sends every
        click, one after the other.
    :param disable: disable the button while its request is in flight (turn it
        off with a queueing ``sync``, so further clicks can be queued).
    :param optimistic: ``"toggle"`` or ``"remove"``: update the item the button
        belongs to (its nearest ``[data-sa-item]``) before the server answers,
        and undo it if the action fails; see :mod:`flask_server_actions.optimistic`.
    :param optimistic_class: for ``"toggle"``, the class the item toggles.
    :param optimistic_pending: the note on the item while the request runs.
    :param pressed: make it a toggle button (``aria-pressed``), e.g. "done".
    """
    act = find_action(endpoint)
    exchange = current_exchange()
    values = dict(bind or {})
    form_id = id or button_id(endpoint, values)
    shown = shown_state(exchange, endpoint, form_id)
    url = url_for(endpoint)
    hidden = hidden_fields(
        exchange,
        form_id,
        key=act.once,
        **{KIND_FIELD: "button"},
        **(bound_field(act, values) if act.bind else {}),
        **confirm_field(confirm),
    )
    css = " ".join(c for c in ("sa-button-form", class_) if c)
    attrs = {
        "id": form_id,
        "class": css,
        "action": url,
        "method": "post",
        "hx-post": url,
        "hx-target": target,
        "hx-swap": swap,
        "hx-sync": sync,
        "hx-disable": "find [type=submit]" if disable else None,
        "hx-confirm": confirm,
        "data-sa-action": endpoint,
        **optimistic_attrs(
            optimistic, css_class=optimistic_class, pending=optimistic_pending
        ),
    }
    button_attrs: dict[str, t.Any] = (
        {} if pressed is None else {"aria-pressed": str(pressed).lower()}
    )
    if shown.state is not None:
        # The button's own answer replaces it: focus comes back to it (htmx
        # focuses [autofocus] in what it swaps in), not to the top of the page.
        button_attrs["autofocus"] = True
    return form_element(
        attrs,
        hidden,
        submit(label, pending, class_="sa-submit--inline", **button_attrs),
        status_area(form_id, shown.state, show_message=shown.show_message),
    )
