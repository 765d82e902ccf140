"""``action_button``: one button that calls an action, with or without JavaScript.

The seeds call actions from event handlers (a like button, a delete button). Here
the button is a tiny form, so it works as a plain POST; htmx posts it in place.
Arguments bound on the server (``bind={"user_id": 3}``) travel signed.
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Mapping

from markupsafe import Markup

from .binding import BOUND_FIELD
from .binding import sign_arguments
from .forms import KIND_FIELD
from .forms import _attrs
from .forms import default_form_id
from .forms import hidden_fields
from .forms import state_for
from .forms import status_area
from .forms import submit
from .optimistic import optimistic_attrs

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def button_id(endpoint: str, bind: Mapping[str, t.Any]) -> str:
    """The default id of the button form for ``endpoint`` bound to ``bind``."""
    suffix = "-".join(_UNSAFE.sub("-", str(v)) for v in bind.values())
    base = default_form_id(endpoint)
    return f"{base}-{suffix}" if suffix else base


def action_button(
    endpoint: str,
    label: str,
    *,
    bind: Mapping[str, t.Any] | None = None,
    confirm: str | None = None,
    pending: str | None = None,
    id: str | None = None,  # noqa: A002 - reads like the HTML attribute it sets
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
    :param confirm: ask before posting (htmx only; without JavaScript it posts).
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
    from .actions import get_action

    act = get_action(endpoint)
    values = dict(bind or {})
    form_id = id or button_id(endpoint, values)
    state = state_for(endpoint, form_id)
    url = act.url()
    extra = {KIND_FIELD: "button"}
    if act.bind:
        extra[BOUND_FIELD] = sign_arguments(endpoint, values)
    hidden = hidden_fields(form_id, key=act.once, **extra)
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
    button_attrs = {} if pressed is None else {"aria-pressed": str(pressed).lower()}
    return Markup(
        f"<form {_attrs(attrs)}>{hidden}"
        f"{submit(label, pending, class_='sa-submit--inline', **button_attrs)}"
        f"{status_area(form_id, state)}</form>"
    )
