"""Refuse action bodies that cannot be read faithfully, before anything parses them.

Werkzeug is lenient: invalid UTF-8 in a form becomes ``%FF`` text or ``U+FFFD``, a
cut-off multipart body becomes an empty form, and a repeated field silently keeps
its first value. For an action that would mean saving something the user never
typed, or acting on a control field (CSRF token, signed arguments) chosen by
whoever repeated it. So these bodies are refused with a 400 and a sentence.
"""

from __future__ import annotations

import typing as t
from urllib.parse import unquote_to_bytes

from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data
from werkzeug.sansio.multipart import Epilogue
from werkzeug.sansio.multipart import Field
from werkzeug.sansio.multipart import File
from werkzeug.sansio.multipart import MultipartDecoder
from werkzeug.sansio.multipart import NeedData
from wtforms import FieldList
from wtforms import MultipleFileField
from wtforms import SelectMultipleField

from .binding import BOUND_FIELD
from .forms import FORM_FIELD
from .forms import KIND_FIELD
from .forms import PAGE_FIELD
from .forms import leaf_fields

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

#: Fields the toolkit reads itself (besides the CSRF token); each comes once at most.
CONTROL_FIELDS: t.Final = (BOUND_FIELD, PAGE_FIELD, FORM_FIELD, KIND_FIELD)


class UnreadableBody(BadRequest):
    """The body is not valid UTF-8, is malformed, or repeats a control field."""

    description = (
        "What you sent could not be read (it was cut off, malformed or not valid"
        " text), so nothing was saved. Please submit the form again."
    )


class InvalidText(UnreadableBody):
    description = (
        "Some of what you sent is not valid text (UTF-8), so nothing was saved."
        " Please retype it and submit the form again."
    )


class RepeatedControlField(UnreadableBody):
    description = (
        "This form was sent with a hidden field repeated, so nothing was done."
        " Reload the page and try again."
    )


def _check_urlencoded(body: bytes) -> None:
    for pair in body.split(b"&"):
        for part in pair.split(b"=", 1):
            try:
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidText() from exc


def _check_multipart(body: bytes, boundary: str | None) -> None:
    if not boundary:
        raise UnreadableBody()
    # The same limits Werkzeug's parser applies, checked here first: it would
    # stop at them only after streaming earlier file parts into temporary files
    # that it leaves open.
    # (The decoder's own memory limit would count the whole body, files too:
    # the limit is per text part, so it is checked below.)
    memory_limit = request.max_form_memory_size
    decoder = MultipartDecoder(
        boundary.encode("latin-1", "replace"), max_parts=request.max_form_parts
    )
    decoder.receive_data(body)
    decoder.receive_data(None)
    text: bytearray | None = None
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, Field):
                text = bytearray()
            elif isinstance(event, File):
                text = None  # file contents are bytes, not text
            elif isinstance(event, Data):
                if text is not None:
                    text += event.data
                    if memory_limit is not None and len(text) > memory_limit:
                        raise RequestEntityTooLarge()
                    if not event.more_data:
                        bytes(text).decode("utf-8")
            elif isinstance(event, Epilogue):
                return
            elif isinstance(event, NeedData):
                raise UnreadableBody()  # the body ended before the last boundary
    except UnicodeDecodeError as exc:
        raise InvalidText() from exc
    except ValueError as exc:
        raise UnreadableBody() from exc


def check_body() -> None:
    """Before CSRF or the action read the form, refuse a body that is not faithful."""
    from .submitted import request_action

    if request_action() is None:
        return
    mimetype = request.mimetype
    if mimetype == "application/x-www-form-urlencoded":
        _check_urlencoded(request.get_data(cache=True))
    elif mimetype == "multipart/form-data":
        try:
            _check_multipart(
                request.get_data(cache=True), request.mimetype_params.get("boundary")
            )
        except (UnreadableBody, RequestEntityTooLarge):
            g._server_actions_body_refused = True
            raise
    else:
        return
    csrf_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    for name in (csrf_field, *CONTROL_FIELDS):
        if len(request.form.getlist(name)) > 1:
            raise RepeatedControlField()


def body_refused() -> bool:
    """Whether this request's multipart body was refused as unreadable.

    Such a body is never parsed afterwards (to find the page to answer on, or
    the values to keep): Werkzeug's parser would half-read a cut-off body and
    leave its file parts' temporary files open. The answer keeps the browser's
    form as it is instead (htmx), as for a body too large to read.
    """
    return bool(g.get("_server_actions_body_refused"))


#: Shown beside a single-valued field that came more than once.
REPEATED_MESSAGE: t.Final = "This field was sent more than once; send it once."
_MULTI_VALUED = (SelectMultipleField, FieldList, MultipleFileField)


def repeated_fields(form: FlaskForm) -> dict[str, list[str]]:
    """Single-valued inputs of ``form`` that the request sent more than once.

    WTForms would keep the first value; which one the user meant is unknown.
    Inputs inside lists of lines count (``lines-0-quantity``), and so do files
    (two files sent for one single-file input).
    """
    return {
        str(field.name): [REPEATED_MESSAGE]
        for field in leaf_fields(form)
        if not isinstance(field, _MULTI_VALUED)
        and len(request.form.getlist(field.name))
        + len(request.files.getlist(field.name))
        > 1
    }
