"""The ``<form>`` of an action, working with htmx and without JavaScript.

The ``{% action_form %}`` tag calls :func:`render_action_form`. The form posts to
the action with ``action=`` and ``method=post`` (no JavaScript) and ``hx-post``
(htmx), carries the hidden fields of the protocol (CSRF token, page, form id,
submission key, signed arguments) and shows the action's state: the one this
request just produced, or the one carried over a redirect.
"""

from __future__ import annotations

import json
import typing as t

from flask import url_for
from markupsafe import Markup

from .binding import sign_arguments
from .boundary import render_boundary
from .carried import take_state
from .exchange import Exchange
from .exchange import Submission
from .exchange import current_exchange
from .fields import BOUND_FIELD
from .fields import CONFIRM_FIELD
from .formdata import body_limit
from .formdata import field_errors as field_errors
from .formdata import first_input
from .formdata import first_invalid
from .formdata import fresh_form
from .formdata import leaf_fields as leaf_fields
from .formdata import sends_files
from .limits import format_size
from .markup import FormContext
from .markup import field as field
from .markup import focusing
from .markup import form_element
from .markup import hidden_fields
from .markup import in_form
from .markup import status_area as status_area
from .markup import submit as submit
from .optimistic import optimistic_attrs
from .registry import find_action
from .submissions import outbox_owner

if t.TYPE_CHECKING:  # pragma: no cover
    from .registry import ActionSpec
    from .state import ActionState

#: The options ``{% action_form %}`` takes besides the endpoint and ``id``.
FORM_OPTIONS: t.Final = frozenset(
    {
        "bind",
        "browser_validation",
        "class",
        "confirm",
        "data",
        "multipart",
        "optimistic",
        "optimistic_class",
        "optimistic_pending",
        "swap",
        "sync",
        "target",
        "validate",
    }
)


class Shown(t.NamedTuple):
    """The state a form shows, and the submission it comes from."""

    state: ActionState | None
    #: This request's submission, when it came from this form.
    submitted: Submission | None = None

    @property
    def show_message(self) -> bool:
        """Whether the status area shows the message (it was not flashed instead)."""
        return self.submitted is None or not self.submitted.message_flashed


def shown_state(exchange: Exchange, endpoint: str, form_id: str) -> Shown:
    """The state the form ``form_id`` of ``endpoint`` shows in this answer.

    The state the request's own action just produced, if it came from this
    form; else one carried over a redirect (shown once); else none.
    """
    submitted = exchange.submission
    if submitted is not None and (submitted.endpoint, submitted.form_id) == (
        endpoint,
        form_id,
    ):
        submitted.shown = True
        return Shown(submitted.state, submitted)
    return Shown(take_state(form_id))


def submission_key(exchange: Exchange, act: ActionSpec, shown: Shown) -> bool | str:
    """The form's submission key: fresh, or the one a failed submission was sent with.

    A failure released its key, so the form shown again with the input keeps it:
    once it goes through, the refused body posted again (Back, then resend) is a
    replay, not a second write. Only the submission this request answers counts:
    a state carried over a redirect belongs to an earlier request.
    """
    if not act.once:
        return False
    if shown.submitted is not None and not shown.submitted.state.ok:
        return exchange.key or True
    return True


def bound_field(act: ActionSpec, bind: t.Mapping[str, t.Any] | None) -> dict[str, str]:
    """The hidden field with ``bind`` signed for ``act``, checked against its ``bind=``."""
    if not bind and not act.bind:
        return {}
    given = set(bind or {})
    if given != set(act.bind):
        raise TypeError(
            f"Action {act.endpoint} binds {sorted(act.bind)}, but the form binds"
            f" {sorted(given)}: pass bind={{...}} with exactly those names."
        )
    return {BOUND_FIELD: sign_arguments(act.endpoint, dict(bind or {}))}


def confirm_field(question: str | None) -> dict[str, str]:
    """The hidden field that asks ``question`` first when JavaScript does not run."""
    return {CONFIRM_FIELD: question} if question else {}


def upload_attrs(exchange: Exchange, act: ActionSpec) -> dict[str, t.Any]:
    """What the toolkit's script needs to send a form with files: the action's
    body limit, checked before sending with the server's own 413 sentence, and
    the words of its progress bar."""
    say = exchange.app.messages
    limit = body_limit(act, exchange.settings)
    return {
        "data-sa-max-body": str(limit),
        "data-sa-too-large": say("too_large", limit=format_size(limit)),
        "data-sa-upload-label": say("upload_progress"),
        "data-sa-upload-cancel": say("upload_cancel"),
        "data-sa-upload-cancelled": say("upload_cancelled"),
    }


def offline_attrs(exchange: Exchange, act: ActionSpec) -> dict[str, t.Any]:
    """What the toolkit's script needs to keep a submission that cannot reach
    the server and send it again later: its words, the CSRF field and header to
    refresh, how much of its files may be kept, and whose it is."""
    settings = exchange.settings
    offline = act.offline if act.offline is not None else settings.offline
    if not offline or not act.once:
        return {}
    say = exchange.app.messages
    return {
        "data-sa-offline": json.dumps(
            {
                "kept": say("offline_kept"),
                "outbox": say("offline_outbox"),
                "sendNow": say("offline_send_now"),
                "discard": say("offline_discard"),
                "openPage": say("offline_open_page"),
                "discarded": say("offline_discarded"),
                "csrfField": settings.csrf_field,
                "csrfHeader": settings.csrf_header,
                "maxFiles": settings.offline_max_files,
                "owner": outbox_owner(settings.csrf_field),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
    }


def render_action_form(
    endpoint: str,
    form_id: str,
    caller: t.Callable[..., str],
    options: t.Mapping[str, t.Any],
) -> Markup:
    """The ``<form>`` of the action ``endpoint``, working with htmx and without JavaScript."""
    act = find_action(endpoint)
    exchange = current_exchange()
    shown = shown_state(exchange, act.endpoint, form_id)
    state, submitted = shown
    data = options.get("data")
    if submitted is not None and not submitted.state.ok:
        # An unexpected error: the form's place shows the error boundary.
        boundary = render_boundary(exchange, act, form_id, submitted.state)
        if boundary is not None:
            return boundary
    if submitted is not None and not (submitted.state.ok and submitted.state.reset):
        form = submitted.form or fresh_form(act, data)
    else:
        form = fresh_form(act, data)
    # After a submit, focus goes to the first invalid field, else (success, or a
    # failure no field is to blame for) back to the form's first field: never
    # lost to <body> when htmx swaps the form or the browser loads a new page.
    autofocus = None
    if state is not None:
        autofocus = first_invalid(form, state.errors) or first_input(form)
    url = url_for(endpoint)
    with focusing(autofocus), in_form(FormContext(url, options.get("validate"))):
        body = caller(form, state)

    # A form with a file field (or one that says so) sends multipart bodies:
    # ``enctype`` for the browser, ``hx-encoding`` for htmx 4, which otherwise
    # sends ``application/x-www-form-urlencoded`` and drops the file.
    multipart = bool(options.get("multipart")) or sends_files(form)
    css = " ".join(c for c in ("sa-form", options.get("class")) if c)
    attrs: dict[str, t.Any] = {
        "id": form_id,
        "class": css,
        "action": url,
        "method": "post",
        "enctype": "multipart/form-data" if multipart else None,
        "hx-encoding": "multipart/form-data" if multipart else None,
        "novalidate": not options.get("browser_validation", False),
        "hx-post": url,
        "hx-target": options.get("target", "this"),
        "hx-swap": options.get("swap", "outerHTML"),
        "hx-sync": options.get("sync", "this:drop"),
        "hx-disable": "find [type=submit]",
        "hx-confirm": options.get("confirm"),
        "data-sa-action": act.endpoint,
        **(upload_attrs(exchange, act) if multipart else {}),
        **offline_attrs(exchange, act),
        **optimistic_attrs(
            options.get("optimistic"),
            css_class=options.get("optimistic_class"),
            pending=options.get("optimistic_pending"),
        ),
    }
    hidden = hidden_fields(
        exchange,
        form_id,
        key=submission_key(exchange, act, shown),
        **bound_field(act, options.get("bind")),
        **confirm_field(options.get("confirm")),
    )
    return form_element(
        attrs,
        hidden,
        status_area(form_id, state, show_message=shown.show_message),
        Markup(body),
    )
