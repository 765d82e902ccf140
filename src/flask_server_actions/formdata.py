"""An action's form as data: binding it, its inputs, errors and what the user typed."""

from __future__ import annotations

import typing as t
import weakref

from werkzeug.datastructures import MultiDict
from wtforms import FieldList
from wtforms import FileField
from wtforms import FormField

from .checks import is_submit_only

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm
    from wtforms import Field

    from .registry import ActionSpec
    from .settings import Settings

#: Field types that are not inputs the user fills in.
NOT_INPUTS: t.Final = frozenset({"SubmitField", "CSRFTokenField"})
#: Field types whose value is never sent back to the browser.
NO_ECHO: t.Final = frozenset({"PasswordField", "FileField", "MultipleFileField"})
#: Field types that send files.
FILE_INPUTS: t.Final = frozenset({"FileField", "MultipleFileField"})
#: Fields that hold other fields; their inputs are named ``outer-index-inner``.
CONTAINERS: t.Final = frozenset({"FieldList", "FormField"})


def leaf_fields(form: t.Iterable[Field]) -> t.Iterator[Field]:
    """Every input of ``form``, with ``FieldList`` and ``FormField`` opened up.

    A list of lines (``FieldList(FormField(LineForm))``) has inputs named
    ``lines-0-quantity``, ``lines-1-quantity``…; this yields those, so errors,
    kept values and focus work per line as they do for top-level fields.
    """
    for field in form:
        if field.type in CONTAINERS:
            yield from leaf_fields(t.cast("t.Iterable[Field]", field))
        else:
            yield field


def field_errors(form: FlaskForm) -> dict[str, list[str]]:
    """The form's validation errors as ``{input name: [messages]}``, nested inputs included."""
    return {
        str(f.name): [str(m) for m in f.errors] for f in leaf_fields(form) if f.errors
    }


def submitted_values(
    form: FlaskForm | None, posted: MultiDict[str, str] | None
) -> dict[str, t.Any]:
    """What the user typed into ``form``'s inputs, for the state: never passwords or files."""
    if form is None or posted is None:
        return {}
    values: dict[str, t.Any] = {}
    for field in leaf_fields(form):
        if field.type in NO_ECHO or field.type in NOT_INPUTS:
            continue
        raw = posted.getlist(field.name)
        if raw:
            values[field.name] = raw[0] if len(raw) == 1 else raw
    return values


def add_field_errors(form: FlaskForm | None, errors: t.Mapping[str, list[str]]) -> None:
    """Put errors found outside validation beside their fields, like validation errors."""
    if form is None or not errors:
        return
    # Nested inputs (``lines-2-quantity``) are found by their full name.
    by_name = {str(f.name): f for f in leaf_fields(form)}
    for name, messages in errors.items():
        if name in by_name:
            found = by_name[name]
            found.errors = [*found.errors, *messages]


def check_fields(form: FlaskForm, names: t.Iterable[str]) -> list[Field]:
    """Validate the inputs ``names`` of ``form`` alone, as submitting would, but
    without the validators marked :func:`~.checks.submit_only`.

    Returns the fields checked (names that are not inputs of the form are skipped).
    """
    by_name = {str(f.name): f for f in leaf_fields(form)}
    top = {str(f.name) for f in form}
    checked = []
    for name in dict.fromkeys(names):
        found = by_name.get(name)
        if found is None or found.type in NOT_INPUTS:
            continue
        extra = []
        if name in top:
            # WTForms' inline validators, as ``Form.validate`` finds them.
            inline = getattr(type(form), f"validate_{name}", None)
            if inline is not None and not is_submit_only(inline):
                extra.append(inline)
        validators = found.validators
        found.validators = [v for v in validators if not is_submit_only(v)]
        try:
            found.validate(form, extra)
        finally:
            found.validators = validators
        checked.append(found)
    return checked


def bind_form(
    act: ActionSpec, formdata: MultiDict[str, t.Any] | None
) -> FlaskForm | None:
    """``act``'s form bound to the posted ``formdata`` (CSRF is checked elsewhere)."""
    if act.form_class is None:
        return None
    return act.form_class(formdata=formdata, meta={"csrf": False})


def accepts_files(form_class: type) -> bool:
    """Whether ``form_class`` has a file input, in nested forms and lists too."""
    found = _ACCEPTS_FILES.get(form_class)
    if found is None:
        found = any(
            _sends_files(getattr(form_class, name, None)) for name in dir(form_class)
        )
        _ACCEPTS_FILES[form_class] = found
    return found


#: What :func:`accepts_files` found, per form class (a class never changes its fields).
_ACCEPTS_FILES: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def _sends_files(unbound: t.Any) -> bool:
    field_class = getattr(unbound, "field_class", None)
    if not isinstance(field_class, type):
        return False
    if issubclass(field_class, FileField):
        return True
    inner = unbound.args[0] if unbound.args else None
    if issubclass(field_class, FormField):
        return isinstance(inner, type) and accepts_files(inner)
    if issubclass(field_class, FieldList):
        return _sends_files(inner)
    return False


def fresh_form(
    act: ActionSpec, data: t.Mapping[str, t.Any] | None = None
) -> FlaskForm | None:
    """``act``'s form, empty or with ``data``, never filled from the request."""
    if act.form_class is None:
        return None
    # formdata=None: another action's POST must not fill this form.
    return act.form_class(formdata=None, data=data, meta={"csrf": False})


def first_input(form: FlaskForm | None) -> str | None:
    """The name of ``form``'s first visible input."""
    if form is None:
        return None
    for f in leaf_fields(form):
        if f.type not in NOT_INPUTS and f.type != "HiddenField":
            return str(f.name)
    return None


def first_invalid(form: FlaskForm | None, errors: t.Mapping[str, t.Any]) -> str | None:
    """The name of ``form``'s first input that has an error in ``errors``."""
    if form is None or not errors:
        return None
    for f in leaf_fields(form):
        if errors.get(str(f.name)):
            return str(f.name)
    return None


def sends_files(form: FlaskForm | None) -> bool:
    """Whether ``form`` has a file input (so it must post ``multipart/form-data``)."""
    return form is not None and any(f.type in FILE_INPUTS for f in form)


def body_limit(act: ActionSpec, settings: Settings) -> int:
    """The largest body ``act`` accepts: its own ``max_body``, else the app's.

    The app's is ``SERVER_ACTIONS_MAX_BODY`` for forms of text and
    ``SERVER_ACTIONS_MAX_UPLOAD`` for forms with a file input.
    """
    if act.max_body is not None:
        return act.max_body
    files = act.form_class is not None and accepts_files(act.form_class)
    return settings.max_upload if files else settings.max_body
