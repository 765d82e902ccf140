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
from markupsafe import escape

from .binding import BOUND_FIELD
from .binding import sign_arguments
from .forms import KIND_FIELD
from .forms import default_form_id
from .forms import hidden_fields
from .forms import state_for
from .forms import status_area
from .forms import submit

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
) -> Markup:
    """A button that posts to the action ``endpoint``, in a form of its own.

    :param bind: values the action receives as keyword arguments, signed so the
        client cannot change them (the action declares their names in ``bind=``).
    :param confirm: ask before posting (htmx only; without JavaScript it posts).
    :param pending: the label while the request is in flight.
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
    hidden = hidden_fields(form_id, **extra)
    confirm_attr = f' hx-confirm="{escape(confirm)}"' if confirm else ""
    css = " ".join(c for c in ("sa-button-form", class_) if c)
    return Markup(
        f'<form id="{escape(form_id)}" class="{escape(css)}" action="{escape(url)}"'
        f' method="post" hx-post="{escape(url)}" hx-target="{escape(target)}"'
        f' hx-swap="{escape(swap)}" hx-sync="this:drop" hx-disable="find [type=submit]"'
        f'{confirm_attr} data-sa-action="{escape(endpoint)}">{hidden}'
        f"{submit(label, pending, class_='sa-submit--inline')}"
        f"{status_area(form_id, state)}</form>"
    )
