"""The page of last resort: the message and the user's input, ready to be sent again."""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from .state import ActionState

if t.TYPE_CHECKING:  # pragma: no cover
    pass


def resubmit_page(state: ActionState) -> str:
    """A page with the message and the user's input, ready to be sent again.

    ``SERVER_ACTIONS_RESUBMIT_TEMPLATE`` names the app's own template for it; it
    gets ``title``, ``message``, ``action`` (the URL to post to) and ``fields``
    (``name``, ``value``, ``hidden``) and must not need the database.
    """
    fields: list[dict[str, t.Any]] = []
    try:
        posted = list(request.form.items(multi=True))
    except HTTPException:  # the body could not be read (too large, malformed)
        posted = []
    for name, value in posted:
        # The toolkit's fields and the token go back as they came; the user's
        # own fields only if the state kept them (never passwords or files).
        hidden = name.startswith("_") or name == "csrf_token"
        if hidden or name in state.values:
            fields.append({"name": name, "value": value, "hidden": hidden})
    context = {
        "title": "Not saved yet",
        "message": state.message or "",
        "action": request.path,
        "fields": fields,
    }
    template = current_app.config.get("SERVER_ACTIONS_RESUBMIT_TEMPLATE")
    if template:
        return render_template(template, **context)
    css = url_for("server_actions.static", filename="server-actions.css")
    controls = []
    for n, f in enumerate(fields):
        name, value = escape(f["name"]), escape(f["value"])
        if f["hidden"]:
            controls.append(f'<input type="hidden" name="{name}" value="{value}">')
            continue
        control = (
            f'<textarea id="sa-resubmit-{n}" name="{name}" rows="5">{value}</textarea>'
            if "\n" in f["value"] or len(f["value"]) > 80
            else f'<input id="sa-resubmit-{n}" name="{name}" value="{value}">'
        )
        controls.append(f'<p><label for="sa-resubmit-{n}">{name}</label> {control}</p>')
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{css}"><title>Not saved yet</title>'
        "<main><h1>Not saved yet</h1>"
        f'<p role="alert">{escape(state.message or "")}</p>'
        f'<form method="post" action="{escape(request.path)}">{"".join(controls)}'
        '<button type="submit">Try again</button></form></main></html>'
    )
