"""Render an action's form, its fields and its submit button.

The ``{% action_form %}`` tag calls :func:`render_action_form`; ``field`` and
``submit`` are template globals. They write the accessible markup by default:
real labels, ``aria-invalid`` and ``aria-describedby`` on fields with errors, a
status area for the action's message, focus on the first invalid field.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import re
import typing as t

from flask import current_app
from flask import g
from flask import request
from flask import session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from markupsafe import escape
from wtforms.widgets import ListWidget

from .boundary import render_boundary
from .optimistic import optimistic_attrs
from .state import ActionState
from .submissions import KEY_FIELD
from .submissions import new_key
from .submissions import posted_key

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm
    from wtforms import Field

    from .actions import Action

#: Hidden field: the page the form was rendered on (for PRG and re-rendering).
PAGE_FIELD: t.Final = "_sa_page"
#: Hidden field: the id of the submitted form, when a page has several.
FORM_FIELD: t.Final = "_sa_form"
#: Hidden field: ``button`` for :func:`action_button` forms.
KIND_FIELD: t.Final = "_sa_kind"
#: Session key of the states a plain browser sees once after its redirect.
FLASH_KEY: t.Final = "_server_actions_states"

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_NOT_INPUTS = frozenset({"SubmitField", "CSRFTokenField"})
_CHECKABLE = frozenset({"BooleanField"})
_GROUPS = frozenset({"RadioField"})
_NO_ECHO = frozenset({"PasswordField", "FileField", "MultipleFileField"})
#: Fields that hold other fields; their inputs are named ``outer-index-inner``.
_CONTAINERS = frozenset({"FieldList", "FormField"})


def default_form_id(endpoint: str) -> str:
    """``users.create_user`` → ``users-create-user``."""
    return _ID_UNSAFE.sub("-", endpoint.replace(".", "-").replace("_", "-"))


def form_block_name(form_id: str) -> str:
    """The Jinja block that holds the form with ``form_id``."""
    return "sa_form__" + re.sub(r"\W", "_", form_id)


@dataclasses.dataclass
class Submission:
    """The form an action just handled in this request, to render it back."""

    endpoint: str
    form_id: str
    form: FlaskForm | None
    state: ActionState


@dataclasses.dataclass
class _Rendering:
    autofocus: str | None


_rendering: contextvars.ContextVar[_Rendering | None] = contextvars.ContextVar(
    "server_actions_rendering", default=None
)


def current_submission() -> Submission | None:
    found: Submission | None = g.get("_server_actions_submission")
    return found


def page_path() -> str:
    """The page forms on this response belong to: the page itself, or the one posted from."""
    posted: str | None = g.get("_server_actions_page_path")
    if posted:
        return posted
    full = request.full_path
    return full[:-1] if full.endswith("?") else full


def leaf_fields(form: t.Iterable[Field]) -> t.Iterator[Field]:
    """Every input of ``form``, with ``FieldList`` and ``FormField`` opened up.

    A list of lines (``FieldList(FormField(LineForm))``) has inputs named
    ``lines-0-quantity``, ``lines-1-quantity``…; this yields those, so errors,
    kept values and focus work per line as they do for top-level fields.
    """
    for field in form:
        if field.type in _CONTAINERS:
            yield from leaf_fields(t.cast("t.Iterable[Field]", field))
        else:
            yield field


def field_errors(form: FlaskForm) -> dict[str, list[str]]:
    """The form's validation errors as ``{input name: [messages]}``, nested inputs included."""
    return {
        str(f.name): [str(m) for m in f.errors] for f in leaf_fields(form) if f.errors
    }


def submitted_values(form: FlaskForm | None) -> dict[str, t.Any]:
    """What the user typed, for the state: never passwords or files."""
    if form is None:
        return {}
    values: dict[str, t.Any] = {}
    for field in leaf_fields(form):
        if field.type in _NO_ECHO or field.type in _NOT_INPUTS:
            continue
        raw = request.form.getlist(field.name)
        if raw:
            values[field.name] = raw[0] if len(raw) == 1 else raw
    return values


def remember_state(form_id: str, state: ActionState) -> None:
    """Keep a state for the page a plain browser is redirected to (shown once)."""
    states = dict(session.get(FLASH_KEY, {}))
    kept: dict[str, t.Any] = {"ok": state.ok, "message": state.message}
    try:
        # Only data the session can carry survives the redirect.
        json.dumps(dict(state.data))
        kept["data"] = dict(state.data)
    except (TypeError, ValueError):
        pass
    states[form_id] = kept
    session[FLASH_KEY] = states


def pop_state(form_id: str) -> ActionState | None:
    """The state a plain browser was redirected with, for ``form_id`` (once)."""
    states = session.get(FLASH_KEY)
    if not states or form_id not in states:
        return None
    states = dict(states)
    raw = states.pop(form_id)
    if states:
        session[FLASH_KEY] = states
    else:
        session.pop(FLASH_KEY)
    return ActionState(
        ok=bool(raw.get("ok")), message=raw.get("message"), data=raw.get("data") or {}
    )


def _fresh_form(
    action: Action, data: t.Mapping[str, t.Any] | None = None
) -> FlaskForm | None:
    if action.form_class is None:
        return None
    # formdata=None: another action's POST must not fill this form.
    return action.form_class(formdata=None, data=data, meta={"csrf": False})


def submission_for(endpoint: str, form_id: str) -> Submission | None:
    """The submission this request just handled, if it came from ``form_id``."""
    submitted = current_submission()
    if submitted is not None and (submitted.endpoint, submitted.form_id) == (
        endpoint,
        form_id,
    ):
        return submitted
    return None


def state_for(endpoint: str, form_id: str) -> ActionState | None:
    """The state to show in ``form_id``: just submitted, or carried over a redirect."""
    submitted = submission_for(endpoint, form_id)
    if submitted is not None:
        # The answer's page showed the state; no need for a fallback elsewhere.
        g._server_actions_state_shown = True
        return submitted.state
    return pop_state(form_id)


def hidden_fields(form_id: str, *, key: bool | str = True, **extra: str) -> Markup:
    """The CSRF token, the page the form is on, the form's id, and ``extra`` fields.

    With ``key=True``, every call writes a fresh one-time submission key (see
    ``submissions``); a string is written as the key instead.
    """
    fields = {
        "csrf_token": generate_csrf(),
        PAGE_FIELD: page_path(),
        FORM_FIELD: form_id,
        **({KEY_FIELD: new_key() if key is True else key} if key else {}),
        **extra,
    }
    return Markup(
        "".join(
            f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
            for name, value in fields.items()
        )
    )


def _form_and_state(
    action: Action, form_id: str, data: t.Mapping[str, t.Any] | None = None
) -> tuple[FlaskForm | None, ActionState | None, bool]:
    """The form to render, its state, and whether it was just submitted.

    :param data: initial values of a fresh form (``data=`` of ``action_form``).
    """
    submitted = submission_for(action.endpoint, form_id)
    if submitted is not None:
        state = submitted.state
        if state.ok and state.reset:
            return _fresh_form(action, data), state, True
        return submitted.form or _fresh_form(action, data), state, True
    flashed = pop_state(form_id)
    return _fresh_form(action, data), flashed, flashed is not None


def _key_for(action: Action, form_id: str) -> bool | str:
    """The form's submission key: fresh, or the one a failed submission was sent with.

    A failure released its key, so the form shown again with the input keeps it:
    once it goes through, the refused body posted again (Back, then resend) is a
    replay, not a second write.
    """
    if not action.once:
        return False
    # Only the submission this request answers: a state carried over a redirect
    # belongs to an earlier request, whose key is not the one posted now.
    submitted = submission_for(action.endpoint, form_id)
    if submitted is not None and not submitted.state.ok:
        return posted_key() or True
    return True


def _first_invalid(form: FlaskForm | None, state: ActionState | None) -> str | None:
    if state is None:
        return None
    names = [str(f.name) for f in leaf_fields(form)] if form is not None else []
    for name in names:
        if state.errors.get(name):
            return name
    return None


def _first_input(form: FlaskForm | None) -> str | None:
    if form is None:
        return None
    for f in leaf_fields(form):
        if f.type not in _NOT_INPUTS and f.type != "HiddenField":
            return str(f.name)
    return None


def _attrs(values: t.Mapping[str, t.Any]) -> Markup:
    parts = []
    for key, value in values.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(str(escape(key)))
        else:
            parts.append(f'{escape(key)}="{escape(value)}"')
    return Markup(" ".join(parts))


def status_area(form_id: str, state: ActionState | None) -> Markup:
    """The form's message: a live region, ``role=alert`` when it reports a failure."""
    kind = (
        "" if state is None else (" sa-status--ok" if state.ok else " sa-status--error")
    )
    message = "" if state is None or not state.message else state.message
    role = "alert" if state is not None and not state.ok and message else "status"
    return Markup(
        f'<div id="{escape(form_id)}-status" class="sa-status{kind}" role="{role}"'
        f' aria-live="polite" aria-atomic="true" tabindex="-1">{escape(message)}</div>'
    )


def render_action_form(
    action: Action,
    form_id: str,
    caller: t.Callable[..., str],
    options: t.Mapping[str, t.Any],
) -> Markup:
    """The ``<form>`` of ``action``, working with htmx and without JavaScript."""
    form, state, just_submitted = _form_and_state(action, form_id, options.get("data"))
    if state is not None and not state.ok:
        # An unexpected error: the form's place shows the error boundary.
        boundary = render_boundary(action, form_id, state)
        if boundary is not None:
            return boundary
    # After a submit, focus goes to the first invalid field, else (success, or a
    # failure no field is to blame for) back to the form's first field: never
    # lost to <body> when htmx swaps the form or the browser loads a new page.
    autofocus = _first_invalid(form, state)
    if autofocus is None and just_submitted and state is not None:
        autofocus = _first_input(form)
    token = _rendering.set(_Rendering(autofocus=autofocus))
    try:
        body = caller(form, state)
    finally:
        _rendering.reset(token)

    url = action.url()
    # A form with a file field (or one that says so) sends multipart bodies:
    # ``enctype`` for the browser, ``hx-encoding`` for htmx 4, which otherwise
    # sends ``application/x-www-form-urlencoded`` and drops the file.
    multipart = bool(options.get("multipart")) or (
        form is not None
        and any(f.type in ("FileField", "MultipleFileField") for f in form)
    )
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
        "data-sa-action": action.endpoint,
        **optimistic_attrs(
            options.get("optimistic"),
            css_class=options.get("optimistic_class"),
            pending=options.get("optimistic_pending"),
        ),
    }
    hidden = hidden_fields(form_id, key=_key_for(action, form_id))
    return Markup(
        f"<form {_attrs(attrs)}>{hidden}{status_area(form_id, state)}{body}</form>"
    )


def _described_by(*ids: str | None) -> str | None:
    joined = " ".join(i for i in ids if i)
    return joined or None


def field(bound: Field, label: str | None = None, **attrs: t.Any) -> Markup:
    """A field with its label, hint and errors, wired for assistive technology.

    Extra keyword arguments become attributes of the input (``class_`` for
    ``class``), as with WTForms' own ``field(**kwargs)``.
    """
    kind = bound.type
    if kind in _NOT_INPUTS:
        return Markup("")
    if kind == "HiddenField":
        return Markup(bound(**attrs))
    field_id = str(bound.id)
    errors = [str(e) for e in bound.errors] if bound.errors else []
    hint_id = f"{field_id}-hint" if bound.description else None
    error_id = f"{field_id}-error" if errors else None
    rendering = _rendering.get()
    input_attrs: dict[str, t.Any] = {
        "aria-invalid": "true" if errors else None,
        "aria-describedby": _described_by(hint_id, error_id),
        "autofocus": rendering is not None and rendering.autofocus == bound.name,
    }
    input_attrs.update(attrs)
    input_attrs = {
        k: v for k, v in input_attrs.items() if v is not None and v is not False
    }
    required = bool(getattr(bound.flags, "required", False))
    label_text = escape(label if label is not None else bound.label.text)
    mark = (
        Markup(' <span class="sa-required" aria-hidden="true">*</span>')
        if required
        else Markup("")
    )
    hint = (
        Markup(f'<p class="sa-hint" id="{hint_id}">{escape(bound.description)}</p>')
        if hint_id
        else Markup("")
    )
    error_list = (
        Markup(
            f'<ul class="sa-errors" id="{error_id}">'
            + "".join(f"<li>{escape(e)}</li>" for e in errors)
            + "</ul>"
        )
        if error_id
        else Markup("")
    )
    widget = Markup(bound(**input_attrs))
    classes = "sa-field" + (" sa-field--invalid" if errors else "")
    if kind in _CHECKABLE:
        return Markup(
            f'<div class="{classes} sa-field--check">{widget}'
            f'<label for="{escape(field_id)}">{label_text}{mark}</label>'
            f"{hint}{error_list}</div>"
        )
    if kind in _GROUPS or isinstance(getattr(bound, "widget", None), ListWidget):
        options = _group_options(bound, input_attrs)
        return Markup(
            f'<fieldset class="{classes} sa-field--group">'
            f"<legend>{label_text}{mark}</legend>{hint}"
            f'<ul class="sa-choices" id="{escape(field_id)}">{options}</ul>'
            f"{error_list}</fieldset>"
        )
    return Markup(
        f'<div class="{classes}"><label for="{escape(field_id)}">{label_text}{mark}'
        f"</label>{hint}{widget}{error_list}</div>"
    )


def _group_options(bound: Field, input_attrs: t.Mapping[str, t.Any]) -> Markup:
    """Radio buttons or checkboxes of a group, each with its own label.

    The group's state goes on every input, where assistive technology reads
    it: ``aria-invalid`` and ``aria-describedby`` (hint, errors) on each one,
    ``autofocus`` on the checked option, else the first.
    """
    options = list(bound)
    focus = input_attrs.get("autofocus", False)
    focused = next((o for o in options if getattr(o, "checked", False)), None)
    if focused is None and options:
        focused = options[0]
    items = []
    for option in options:
        attrs = {k: v for k, v in input_attrs.items() if k != "autofocus"}
        if focus and option is focused:
            attrs["autofocus"] = True
        items.append(
            f'<li class="sa-choice">{option(**attrs)}'
            f'<label for="{escape(option.id)}">{escape(option.label.text)}</label></li>'
        )
    return Markup("".join(items))


def submit(label: str, pending: str | None = None, **attrs: t.Any) -> Markup:
    """A submit button whose label changes to ``pending`` while the action runs.

    htmx disables it in flight (``hx-disable`` on the form); the label swap is CSS
    on the ``htmx-request`` class, so it needs no script of its own.
    """
    css = " ".join(c for c in ("sa-submit", attrs.pop("class_", None)) if c)
    button_attrs = {"type": "submit", "class": css, **attrs}
    busy = (
        Markup(f'<span class="sa-submit__busy">{escape(pending)}</span>')
        if pending
        else Markup("")
    )
    return Markup(
        f"<button {_attrs(button_attrs)}>"
        f'<span class="sa-submit__idle">{escape(label)}</span>{busy}</button>'
    )


#: htmx 4 extensions vendored beside htmx (same version), by registration name.
HTMX_EXTENSIONS: t.Final[dict[str, str]] = {"sse": "htmx/ext/hx-sse.min.js"}


def htmx_extensions(*names: str) -> Markup:
    """``<script>`` tags of vendored htmx 4 extensions, to load after htmx.

    Names are the extensions' registration names (see :data:`HTMX_EXTENSIONS`):
    ``{{ htmx_extensions("sse") }}`` in a page's ``<head>``, after
    ``server_actions_assets()``.
    """
    from flask import url_for

    tags = []
    for name in names:
        if name not in HTMX_EXTENSIONS:
            raise ValueError(
                f"Unknown htmx extension {name!r};"
                f" vendored: {', '.join(HTMX_EXTENSIONS)}."
            )
        src = url_for("server_actions.static", filename=HTMX_EXTENSIONS[name])
        tags.append(f'<script src="{escape(src)}" defer></script>')
    return Markup("".join(tags))


def static_assets(extensions: t.Iterable[str] = ()) -> Markup:
    """The ``<script>`` and ``<link>`` tags of htmx and the toolkit, for ``<head>``.

    :param extensions: vendored htmx extensions to load with htmx, by their
        registration name (see :func:`htmx_extensions`), e.g. ``["sse"]``.
    """
    from flask import url_for

    css = url_for("server_actions.static", filename="server-actions.css")
    htmx_js = url_for("server_actions.static", filename="htmx/htmx.min.js")
    own_js = url_for("server_actions.static", filename="server-actions.js")
    optimistic_js = url_for(
        "server_actions.static", filename="server-actions-optimistic.js"
    )
    ext_tags = htmx_extensions(*extensions)
    config = current_app.config["SERVER_ACTIONS_HTMX_CONFIG"]
    meta = (
        Markup(f'<meta name="htmx-config" content="{escape(config)}">')
        if config
        else Markup("")
    )
    return Markup(
        f'{meta}<link rel="stylesheet" href="{css}">'
        f'<script src="{htmx_js}" defer></script>{ext_tags}'
        f'<script src="{own_js}" defer></script>'
        f'<script src="{optimistic_js}" defer></script>'
    )


def csrf_headers() -> Markup:
    """``hx-headers:inherited`` with the CSRF token, for the ``<body>`` tag.

    htmx 4 does not inherit attributes unless told, hence ``:inherited``.
    """
    header = current_app.config["WTF_CSRF_HEADERS"][0]
    value = json.dumps({header: generate_csrf()})
    return Markup(f'hx-headers:inherited="{escape(value)}"')
