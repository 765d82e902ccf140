"""Pages of their own that offer a submission again: after an outage, and to confirm.

Both show what the user sent in a form that posts it once more, and both work
without JavaScript.
"""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import render_template

from .exchange import Exchange
from .fields import CONFIRMED_FIELD

if t.TYPE_CHECKING:  # pragma: no cover
    from .registry import ActionSpec
    from .state import ActionState

#: The toolkit's own resubmit page, used unless ``SERVER_ACTIONS_RESUBMIT_TEMPLATE`` names one.
DEFAULT_TEMPLATE: t.Final = "server_actions/resubmit.html"
#: The toolkit's own confirmation page, unless ``SERVER_ACTIONS_CONFIRM_TEMPLATE`` names one.
CONFIRM_TEMPLATE: t.Final = "server_actions/confirm.html"


def resubmit_page(exchange: Exchange, state: ActionState) -> str:
    """A page with the message and the user's input, ready to be sent again.

    ``SERVER_ACTIONS_RESUBMIT_TEMPLATE`` names the app's own template for it; it
    gets ``title``, ``message``, ``action`` (the URL to post to), ``fields``
    (``name``, ``value``, ``hidden``) and ``try_again`` (the button's label), and
    must not need the database.
    """
    fields: list[dict[str, t.Any]] = []
    posted = exchange.posted.items(multi=True) if exchange.posted is not None else ()
    for name, value in posted:
        # The toolkit's fields and the token go back as they came; the user's
        # own fields only if the state kept them (never passwords or files).
        hidden = name.startswith("_") or name == exchange.settings.csrf_field
        if hidden or name in state.values:
            fields.append({"name": name, "value": value, "hidden": hidden})
    messages = exchange.app.messages
    context = {
        "title": messages("not_saved_yet"),
        "message": state.message or "",
        "action": exchange.request.path,
        "fields": fields,
        "try_again": messages("try_again"),
    }
    own = exchange.settings.resubmit_template
    if own:
        return render_template(own, **context)
    # Without the app's context processors: they may need the very backend
    # that is down (Flask-Login loading the user, say).
    return current_app.jinja_env.get_template(DEFAULT_TEMPLATE).render(context)


def confirmation_page(exchange: Exchange, act: ActionSpec, question: str) -> str:
    """The question of ``confirm=``, with Confirm (the same form again) and Cancel.

    The template (``SERVER_ACTIONS_CONFIRM_TEMPLATE``, else the toolkit's) gets
    ``question``, ``summary`` (the first line of the action's docstring),
    ``action`` (the URL to post to), ``fields`` (``(name, value)`` pairs to post,
    the answer included), ``confirm``, ``cancel`` (the labels) and
    ``cancel_url`` (the page the form was on).
    """
    posted = exchange.posted.items(multi=True) if exchange.posted is not None else ()
    fields = [(name, value) for name, value in posted if name != CONFIRMED_FIELD]
    fields.append((CONFIRMED_FIELD, "1"))
    doc = (act.func.__doc__ or "").strip()
    messages = exchange.app.messages
    return render_template(
        exchange.settings.confirm_template or CONFIRM_TEMPLATE,
        question=question,
        summary=doc.splitlines()[0] if doc else "",
        action=exchange.request.path,
        fields=fields,
        confirm=messages("confirm"),
        cancel=messages("cancel"),
        cancel_url=exchange.posted_page or "/",
    )
