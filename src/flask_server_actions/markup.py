"""The markup of fields, submit buttons and status areas, accessible by default.

``field`` and ``submit`` are template globals. They write real labels,
``aria-invalid`` and ``aria-describedby`` on fields with errors, a status area
for the action's message, and focus on the first invalid field. Every value is
escaped by ``HtmlTemplate % values``; nothing here builds HTML from raw strings.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import typing as t

from markupsafe import Markup
from markupsafe import escape
from wtforms.widgets import ListWidget

from .csrf import form_token
from .exchange import Exchange
from .fields import FORM_FIELD
from .fields import KEY_FIELD
from .fields import PAGE_FIELD
from .fields import VALIDATE_HEADER
from .formdata import NOT_INPUTS
from .inputs import render_input
from .submissions import new_key

if t.TYPE_CHECKING:  # pragma: no cover
    from wtforms import Field

    from .state import ActionState

_CHECKABLE = frozenset({"BooleanField"})
_FILES = frozenset({"FileField", "MultipleFileField"})
_GROUPS = frozenset({"RadioField"})
_EMPTY = Markup("")


class HtmlTemplate(str):
    """Markup written once, filled with ``template % values``: each value escaped.

    What ``Markup(template) % values`` gives, without the wrapper object that
    it makes for each value. Only ``%s``, with a tuple or a mapping of values.
    """

    __slots__ = ()

    def __mod__(self, values: t.Any) -> Markup:
        if isinstance(values, dict):
            return Markup(
                str.__mod__(self, {k: _escaped(v) for k, v in values.items()})
            )
        return Markup(str.__mod__(self, tuple(map(_escaped, values))))


def _escaped(value: t.Any) -> str:
    """``escape(value)``; a plain string without becoming a ``Markup`` on the way.

    ``Markup.__new__`` is Python code: for the short strings of a form's
    markup, it costs more than the escaping.
    """
    if type(value) is str:
        return (
            value.replace("&", "&amp;")
            .replace(">", "&gt;")
            .replace("<", "&lt;")
            .replace("'", "&#39;")
            .replace('"', "&#34;")
        )
    return escape(value)


# The markup, written once.
_ATTRIBUTE = HtmlTemplate('%s="%s"')
_HIDDEN = HtmlTemplate('<input type="hidden" name="%s" value="%s">')
_STATUS = HtmlTemplate(
    '<div id="%s-status" class="sa-status%s" role="%s" aria-live="polite"'
    ' aria-atomic="true" tabindex="-1">%s</div>'
)
_HINT = HtmlTemplate('<p class="sa-hint" id="%s">%s</p>')
_ERRORS = HtmlTemplate('<ul class="sa-errors" id="%s">%s</ul>')
_ERROR = HtmlTemplate("<li>%s</li>")
_CHECKED = HtmlTemplate('<ul class="sa-errors" id="%s" data-sa-field="%s">%s</ul>')
_REQUIRED = Markup(' <span class="sa-required" aria-hidden="true">*</span>')
_FIELD = HtmlTemplate('<div class="%s"><label for="%s">%s%s</label>%s%s%s</div>')
_CHECKABLE_FIELD = HtmlTemplate(
    '<div class="%s sa-field--check">%s<label for="%s">%s%s</label>%s%s</div>'
)
_GROUP_FIELD = HtmlTemplate(
    '<fieldset class="%s sa-field--group"><legend>%s%s</legend>%s'
    '<ul class="sa-choices" id="%s">%s</ul>%s</fieldset>'
)
_CHOICE = HtmlTemplate('<li class="sa-choice">%s<label for="%s">%s</label></li>')
_BUSY = HtmlTemplate('<span class="sa-submit__busy">%s</span>')
_FORM = HtmlTemplate("<form %s>%s</form>")
_BUTTON = HtmlTemplate('<button %s><span class="sa-submit__idle">%s</span>%s</button>')

#: What :func:`field` asks the server while the user types: a validation check
#: when the input changes (``"change"``), or nothing.
Validate = t.Literal["change"] | None


class FormContext(t.NamedTuple):
    """What the fields of the form being rendered need to know about it."""

    #: The action's URL, where validation checks are sent.
    url: str
    #: The form's default for :func:`field`'s ``validate=``.
    validate: Validate = None


#: The form being rendered, for its fields.
_form: contextvars.ContextVar[FormContext | None] = contextvars.ContextVar(
    "server_actions_form", default=None
)

#: How long typing pauses before a validation check is sent.
CHECK_DELAY: t.Final = "500ms"


@contextlib.contextmanager
def in_form(context: FormContext) -> t.Iterator[None]:
    """Inside the block, :func:`field` renders fields of the form ``context``."""
    token = _form.set(context)
    try:
        yield
    finally:
        _form.reset(token)


def validation_attributes(
    validate: Validate | bool, name: str, kind: str = ""
) -> dict[str, t.Any]:
    """The htmx attributes of an input whose changes are checked by the server.

    ``validate`` is the field's own wish; ``None`` takes the form's. The check
    goes to the form's action (``hx-post``) after typing pauses or when the
    input changes; ``hx-sync`` replaces a check still in flight, so a stale
    answer never lands; ``hx-swap="none"``: the toolkit's script puts the
    answer's errors in place, and the input itself is never replaced. The
    ``SA-Validate`` header is in the markup, so that the request is a check
    even before the script that adds the other touched fields has loaded.
    """
    context = _form.get()
    if context is None:
        return {}
    if validate is None and kind in _FILES:
        # A check would upload the file each time it changes: only when asked.
        return {}
    wanted = context.validate if validate is None else validate
    if wanted is False or wanted is None:
        return {}
    if wanted != "change":
        raise ValueError(f'validate= must be "change", None or False, not {wanted!r}.')
    return {
        "hx-post": context.url,
        "hx-trigger": f"input changed delay:{CHECK_DELAY}, change",
        "hx-sync": "this:replace",
        "hx-swap": "none",
        "hx-headers": json.dumps({VALIDATE_HEADER: name}),
        "data-sa-validate": True,
    }


def checked_errors(bound: Field) -> Markup:
    """A checked field's errors, for the answer to a validation check.

    The same list :func:`field` writes after a submit, named by its field
    (``data-sa-field``); empty when the field has none.
    """
    errors = bound.errors or []
    return _CHECKED % (
        f"{bound.id}-error",
        bound.name,
        _EMPTY.join(_ERROR % (str(e),) for e in errors),
    )


#: Attribute names of HTML's form controls and global attributes: a keyword of
#: ``field()`` or ``submit()`` that is none of these (nor ``data-``/``aria-``
#: or any name with a dash) is a typo of an option, refused with the list.
_HTML_ATTRIBUTES: t.Final = frozenset(
    [
        "accept",
        "accesskey",
        "alt",
        "autocapitalize",
        "autocomplete",
        "autocorrect",
        "autofocus",
        "capture",
        "checked",
        "class",
        "cols",
        "command",
        "commandfor",
        "contenteditable",
        "dir",
        "dirname",
        "disabled",
        "draggable",
        "enterkeyhint",
        "for",
        "form",
        "formaction",
        "formenctype",
        "formmethod",
        "formnovalidate",
        "formtarget",
        "height",
        "hidden",
        "id",
        "inert",
        "inputmode",
        "is",
        "itemid",
        "itemprop",
        "itemref",
        "itemscope",
        "itemtype",
        "lang",
        "list",
        "max",
        "maxlength",
        "min",
        "minlength",
        "multiple",
        "name",
        "nonce",
        "pattern",
        "placeholder",
        "popover",
        "popovertarget",
        "popovertargetaction",
        "readonly",
        "required",
        "role",
        "rows",
        "size",
        "slot",
        "spellcheck",
        "src",
        "step",
        "style",
        "tabindex",
        "title",
        "translate",
        "type",
        "value",
        "width",
        "wrap",
        "writingsuggestions",
    ]
)


@functools.lru_cache(maxsize=256)
def _is_attribute(name: str) -> bool:
    bare = name.removesuffix("_")  # class_, for_
    if "-" in bare or bare.startswith(("data_", "aria_")):
        return True
    return bare in _HTML_ATTRIBUTES or (bare.startswith("on") and bare.isalpha())


def check_attributes(func: str, options: str, attrs: t.Iterable[str]) -> None:
    """Refuse a keyword that is neither one of ``func``'s options nor an attribute."""
    for name in attrs:
        if not _is_attribute(name):
            raise TypeError(
                f"{func}() got an unknown option {name!r}. Its options are"
                f" {options}; any other keyword is an HTML attribute of the"
                " element (autocomplete=, rows=, class_=, data_x=, or"
                " **{'hx-get': …} for a name with a dash)."
            )


def _html_name(name: str) -> str:
    """WTForms' spelling of attributes as keywords: ``class_``, ``data_x``."""
    name = name.removesuffix("_")
    if name.startswith(("data_", "aria_")):
        return name.replace("_", "-")
    return name


#: The input that gets ``autofocus`` in the form being rendered.
_autofocus: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "server_actions_autofocus", default=None
)


@contextlib.contextmanager
def focusing(name: str | None) -> t.Iterator[None]:
    """Inside the block, :func:`field` puts ``autofocus`` on the input ``name``."""
    token = _autofocus.set(name)
    try:
        yield
    finally:
        _autofocus.reset(token)


def attributes(values: t.Mapping[str, t.Any]) -> Markup:
    """HTML attributes: ``True`` writes the bare name, ``None`` and ``False`` leave it out.

    A form's attributes are the same on every render, so they are written once.
    """
    items = tuple(values.items())
    try:
        return _attributes(items)
    except TypeError:  # a value that cannot be a cache key
        return _write_attributes(items)


@functools.lru_cache(maxsize=1024)
def _attributes(items: tuple[tuple[str, t.Any], ...]) -> Markup:
    return _write_attributes(items)


def _write_attributes(items: t.Iterable[tuple[str, t.Any]]) -> Markup:
    parts = []
    for key, value in items:
        if value is None or value is False:
            continue
        if value is True:
            parts.append(escape(key))
        else:
            parts.append(_ATTRIBUTE % (key, value))
    return Markup(" ").join(parts)


def hidden_input(name: str, value: t.Any) -> Markup:
    """``<input type="hidden">`` with ``name`` and ``value``, both escaped."""
    return _HIDDEN % (name, value)


def hidden_fields(
    exchange: Exchange, form_id: str, *, key: bool | str = True, **extra: str
) -> Markup:
    """The CSRF token, the page the form is on, the form's id, and ``extra`` fields.

    With ``key=True``, every call writes a fresh one-time submission key (see
    ``submissions``); a string is written as the key instead.
    """
    common = exchange.common_fields
    if common is None:
        # The same in every form of the page: written once per answer.
        common = exchange.common_fields = (
            _HIDDEN % (exchange.settings.csrf_field, form_token(exchange))
        ) + (_HIDDEN % (PAGE_FIELD, exchange.page_path))
    fields = {
        FORM_FIELD: form_id,
        **({KEY_FIELD: new_key() if key is True else key} if key else {}),
        **extra,
    }
    return common + _EMPTY.join(
        _HIDDEN % (name, value) for name, value in fields.items()
    )


def form_element(attrs: t.Mapping[str, t.Any], *content: Markup) -> Markup:
    """A ``<form>`` with ``attrs`` (see :func:`attributes`) around ``content``."""
    return _FORM % (attributes(attrs), _EMPTY.join(content))


def status_area(
    form_id: str, state: ActionState | None, *, show_message: bool = True
) -> Markup:
    """The form's message: a live region, ``role=alert`` when it reports a failure."""
    if state is None:
        kind, role, message = "", "status", ""
    else:
        kind = " sa-status--ok" if state.ok else " sa-status--error"
        message = (state.message or "") if show_message else ""
        role = "alert" if not state.ok and message else "status"
    return _STATUS % (form_id, kind, role, message)


def _described_by(*ids: str | None) -> str | None:
    joined = " ".join(i for i in ids if i)
    return joined or None


def field(
    bound: Field,
    label: str | None = None,
    *,
    validate: Validate | bool = None,
    **attrs: t.Any,
) -> Markup:
    """A field with its label, hint and errors, wired for assistive technology.

    Extra keyword arguments become attributes of the input (``class_`` for
    ``class``), as with WTForms' own ``field(**kwargs)``.

    :param validate: ``"change"`` asks the server to check the field while the
        user types (JavaScript only), with the form's own validators, without
        running the action; ``False`` turns off the form's ``validate=``.
    """
    check_attributes(
        "field",
        "label=, description= (the hint) and validate=",
        (name for name in attrs if name != "description"),
    )
    kind = bound.type
    if kind in NOT_INPUTS:
        return _EMPTY
    if kind == "HiddenField":
        return Markup(bound(**attrs))
    field_id = str(bound.id)
    errors = [str(e) for e in bound.errors] if bound.errors else []
    # ``description=`` is the hint, as WTForms' own ``description`` is: never an
    # attribute of the input (it is not one in HTML).
    description = attrs.pop("description", None) or bound.description
    hint_id = f"{field_id}-hint" if description else None
    error_id = f"{field_id}-error" if errors else None
    input_attrs: dict[str, t.Any] = {
        "aria-invalid": "true" if errors else None,
        "aria-describedby": _described_by(hint_id, error_id),
        "autofocus": _autofocus.get() == bound.name,
    }
    input_attrs.update(validation_attributes(validate, str(bound.name), kind))
    input_attrs.update(attrs)
    input_attrs = {
        k: v for k, v in input_attrs.items() if v is not None and v is not False
    }
    required = bool(getattr(bound.flags, "required", False))
    label_text = label if label is not None else bound.label.text
    mark = _REQUIRED if required else _EMPTY
    hint = _HINT % (hint_id, description) if hint_id else _EMPTY
    error_list = (
        _ERRORS % (error_id, _EMPTY.join(_ERROR % (e,) for e in errors))
        if error_id
        else _EMPTY
    )
    widget = render_input(bound, input_attrs)
    classes = "sa-field" + (" sa-field--invalid" if errors else "")
    if kind in _CHECKABLE:
        return _CHECKABLE_FIELD % (
            classes,
            widget,
            field_id,
            label_text,
            mark,
            hint,
            error_list,
        )
    if kind in _GROUPS or isinstance(getattr(bound, "widget", None), ListWidget):
        return _GROUP_FIELD % (
            classes,
            label_text,
            mark,
            hint,
            field_id,
            _group_options(bound, input_attrs),
            error_list,
        )
    return _FIELD % (classes, field_id, label_text, mark, hint, widget, error_list)


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
        items.append(_CHOICE % (Markup(option(**attrs)), option.id, option.label.text))
    return Markup("").join(items)


def submit(label: str, pending: str | None = None, **attrs: t.Any) -> Markup:
    """A submit button whose label changes to ``pending`` while the action runs.

    htmx disables it in flight (``hx-disable`` on the form); the label swap is CSS
    on the ``htmx-request`` class, so it needs no script of its own.
    """
    check_attributes("submit", "label and pending=", attrs)
    css = " ".join(c for c in ("sa-submit", attrs.pop("class_", None)) if c)
    button_attrs = {
        "type": "submit",
        "class": css,
        **{_html_name(k): v for k, v in attrs.items()},
    }
    busy = _BUSY % (pending,) if pending else _EMPTY
    return _BUTTON % (attributes(button_attrs), label, busy)
