"""Refuse action bodies that cannot be read faithfully, before anything parses them.

Werkzeug is lenient: invalid UTF-8 in a form becomes ``%FF`` text or ``U+FFFD``, a
cut-off multipart body becomes an empty form, and a repeated field silently keeps
its first value. For an action that would mean saving something the user never
typed, or acting on a control field (CSRF token, signed arguments) chosen by
whoever repeated it. So these bodies are refused with a 400 and a sentence.
"""

from __future__ import annotations

import binascii
import json
import typing as t

from flask import Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import FieldList
from wtforms import MultipleFileField
from wtforms import SelectMultipleField

from .compat import MultipartData
from .compat import MultipartDecoder
from .compat import MultipartEpilogue
from .compat import MultipartField
from .compat import MultipartFile
from .compat import MultipartNeedData
from .errors import InvalidText
from .errors import RepeatedControlField
from .errors import UnreadableBody
from .fields import CONTROL_FIELDS
from .formdata import leaf_fields

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

_MULTI_VALUED = (SelectMultipleField, FieldList, MultipleFileField)


def _quoted_printable_table() -> bytes:
    table = bytearray(range(256))
    for ascii_byte in b"=\r\n":
        table[ascii_byte] = ord(" ")
    table[ord("%")] = ord("=")
    return bytes(table)


_AS_QUOTED_PRINTABLE = _quoted_printable_table()


def percent_decoded(body: bytes) -> bytes:
    """``body`` with its ``%XX`` escapes decoded, up to ASCII bytes.

    Which ASCII byte stands where does not matter to whether the result is
    UTF-8 (a UTF-8 character never holds one), so this may change them:
    quoted-printable is percent-encoding with ``=`` for ``%``, and
    ``binascii`` decodes it in C, about 25 times faster than
    ``urllib.parse.unquote_to_bytes`` on a body of escapes. Its own ``=``,
    line breaks (soft breaks) and ``==`` become spaces first.
    """
    while b"%%" in body:
        body = body.replace(b"%%", b" %")
    return binascii.a2b_qp(body.translate(_AS_QUOTED_PRINTABLE))


def _check_urlencoded(body: bytes) -> None:
    # The whole body at once: a UTF-8 character never holds an ASCII byte, so
    # the body decodes exactly when every name and value in it does.
    try:
        percent_decoded(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidText() from exc


def _check_multipart(request: Request, body: bytes, boundary: str | None) -> None:
    if not boundary:
        raise UnreadableBody()
    # The same limits Werkzeug's parser applies, checked here first: it would
    # stop at them only after streaming earlier file parts into temporary files
    # that it leaves open. (The decoder's own memory limit would count the
    # whole body, files too: the limit is per text part, so it is checked below.)
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
            if isinstance(event, MultipartField):
                text = bytearray()
            elif isinstance(event, MultipartFile):
                text = None  # file contents are bytes, not text
            elif isinstance(event, MultipartData):
                if text is not None:
                    text += event.data
                    if memory_limit is not None and len(text) > memory_limit:
                        raise RequestEntityTooLarge()
                    if not event.more_data:
                        bytes(text).decode("utf-8")
            elif isinstance(event, MultipartEpilogue):
                return
            elif isinstance(event, MultipartNeedData):
                raise UnreadableBody()  # the body ended before the last boundary
    except UnicodeDecodeError as exc:
        raise InvalidText() from exc
    except ValueError as exc:
        raise UnreadableBody() from exc


def read_unframed(request: Request, limit: int) -> None:
    """Read a body sent without ``Content-Length`` (chunked) whole, or refuse it.

    Werkzeug reads such a body up to the limit and silently drops the rest, so a
    cut-off form would be validated and saved. One byte more than the limit is
    read: if it comes, the body is too large, whatever its framing.
    """
    request.max_content_length = limit + 1
    try:
        size = len(request.get_data(cache=True))
    finally:
        request.max_content_length = limit
    if size > limit:
        raise RequestEntityTooLarge()


class JsonForm(t.NamedTuple):
    """A JSON body read as form fields, and the fields whose values are not text."""

    fields: MultiDict[str, str]
    not_text: frozenset[str]


def _json_form(request: Request) -> JsonForm:
    """A JSON object's members as form fields, every one of them kept.

    Numbers and booleans become their text, a list gives a field several values
    (a multiple select), ``null`` leaves the field out. Repeated members are all
    kept, so they are refused as a repeated field; a nested object is no text.
    """
    try:
        # Pairs, not a dict: a member sent twice must be seen, not overwritten.
        pairs = json.loads(request.get_data(cache=True), object_pairs_hook=list)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableBody() from exc
    if not isinstance(pairs, list) or (pairs and not _is_object(pairs)):
        raise UnreadableBody()  # an array or a bare value: no fields to read
    fields: MultiDict[str, str] = MultiDict()
    not_text: set[str] = set()
    for name, value in pairs:
        for item in (
            value if isinstance(value, list) and not _is_object(value) else [value]
        ):
            if item is None:
                continue
            if isinstance(item, bool):
                fields.add(name, "y" if item else "")
            elif isinstance(item, str | int | float):
                fields.add(name, str(item))
            else:
                not_text.add(name)
    return JsonForm(fields, frozenset(not_text))


def _is_object(value: list[t.Any]) -> bool:
    # object_pairs_hook=list turns a JSON object into a list of (name, value)
    # tuples; a JSON array stays a list of lists and values.
    return bool(value) and all(isinstance(p, tuple) for p in value)


def read_form(
    request: Request, csrf_field: str
) -> tuple[MultiDict[str, str], frozenset[str]]:
    """The request's form fields, after checking the body can be read faithfully.

    Also returns the names of fields whose value is not text (a JSON body's
    nested object). Raises :class:`~flask_server_actions.errors.UnreadableBody`
    (or a subclass) for a body that is not valid UTF-8, is cut off or malformed,
    or repeats a control field, and ``RequestEntityTooLarge`` for one over the
    limits. A body of another type, or none, gives an empty form.
    """
    mimetype = request.mimetype
    not_text: frozenset[str] = frozenset()
    posted: MultiDict[str, str]
    if mimetype == "application/x-www-form-urlencoded":
        body = request.get_data(cache=True)
        parts = request.max_form_parts
        if parts is not None and body.count(b"&") >= parts:
            raise RequestEntityTooLarge()
        _check_urlencoded(body)
        posted = request.form
    elif mimetype == "multipart/form-data":
        _check_multipart(
            request,
            request.get_data(cache=True),
            request.mimetype_params.get("boundary"),
        )
        posted = request.form
    elif request.is_json:
        posted, not_text = _json_form(request)
    else:
        posted = request.form
    for name in (csrf_field, *CONTROL_FIELDS):
        if len(posted.getlist(name)) > 1:
            raise RepeatedControlField()
    return posted, not_text


def field_problems(
    form: FlaskForm,
    posted: MultiDict[str, str],
    files: MultiDict[str, t.Any],
    not_text: frozenset[str],
    say: t.Callable[[str], str],
) -> dict[str, list[str]]:
    """Inputs of ``form`` that cannot be taken as the user's answer, and why.

    A single-valued input sent more than once (WTForms would keep the first
    value; which one the user meant is unknown; inputs inside lists of lines
    count, and so do two files for one file input), a value that is not text,
    and text with a NUL character (no database stores it as text).
    """
    problems: dict[str, list[str]] = {}
    for field in leaf_fields(form):
        name = str(field.name)
        values = posted.getlist(name)
        if name in not_text:
            problems[name] = [say("not_text")]
        elif any("\x00" in value for value in values):
            problems[name] = [say("nul_character")]
        elif (
            not isinstance(field, _MULTI_VALUED)
            and len(values) + len(files.getlist(name)) > 1
        ):
            problems[name] = [say("repeated_field")]
    return problems
