"""Uploaded images: check what a file really is, store it safely, serve it back.

A browser's ``Content-Type`` and a file's name are whatever the client says.
:class:`ImageUpload` (a WTForms validator) reads the file's first bytes instead
and refuses anything that is not one of the image types it allows, a file whose
name claims another type, an empty file and one over the size limit. The
refusal is an ordinary field error, so it shows beside the file input in both
modes and nothing is stored.

:func:`store_upload` writes the bytes under a random name (never the client's)
and :func:`send_upload` serves such a file back with headers that stop a browser
from guessing another type or running it as a page.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import typing as t
from pathlib import Path

from flask import Response
from flask import send_file
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound
from wtforms.validators import StopValidation

from .appstate import say
from .limits import format_size
from .limits import parse_size

if t.TYPE_CHECKING:  # pragma: no cover
    from wtforms import Field
    from wtforms import Form

#: Image types by content type: the file extension stored files get, and the
#: extensions a client's file name may have for that type.
IMAGE_TYPES: t.Final[dict[str, tuple[str, frozenset[str]]]] = {
    "image/png": ("png", frozenset({"png"})),
    "image/jpeg": ("jpg", frozenset({"jpg", "jpeg", "jpe", "jfif"})),
    "image/gif": ("gif", frozenset({"gif"})),
    "image/webp": ("webp", frozenset({"webp"})),
}
_KNOWN_EXTENSIONS = {ext: ct for ct, (_, exts) in IMAGE_TYPES.items() for ext in exts}
#: Names :func:`store_upload` makes: 32 hex digits and a known extension.
STORED_NAME: t.Final = re.compile(r"^[0-9a-f]{32}\.(png|jpg|gif|webp)$")
_HEAD_BYTES = 16


def sniff_image_type(head: bytes) -> str | None:
    """The image type ``head`` (a file's first bytes) starts with, by its magic bytes.

    ``None`` when it is none of :data:`IMAGE_TYPES`.

    .. versionadded:: 0.1
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _extension(filename: str | None) -> str | None:
    if not filename or "." not in filename:
        return None
    return filename.rsplit(".", 1)[1].lower()


def _names(types: t.Iterable[str]) -> str:
    labels = sorted(IMAGE_TYPES[ct][0].upper().replace("JPG", "JPEG") for ct in types)
    return (
        ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else labels[0]
    )


class ImageUpload:
    """WTForms validator: the field holds a real image of an allowed type and size.

    It reads the file's magic bytes (never its name or the client's content type)
    and refuses, with a message for the user:

    - no file, or an empty one;
    - a file larger than ``max_size``;
    - a file that is not one of ``types`` (say, an HTML page);
    - a file whose name has an image extension that is not its real type (a
      ``.png`` that is really a JPEG or a text file).

    On success it sets ``field.image_type`` to the sniffed content type.

    :param types: the content types to accept (keys of :data:`IMAGE_TYPES`).
    :param max_size: the largest file, in bytes or as ``"2 MB"``.

    .. versionadded:: 0.1
    """

    field_flags: t.ClassVar[dict[str, bool]] = {"required": True}

    def __init__(
        self,
        types: t.Iterable[str] = tuple(IMAGE_TYPES),
        *,
        max_size: int | str = "2 MB",
    ) -> None:
        self.types = frozenset(types)
        unknown = self.types - set(IMAGE_TYPES)
        if unknown:
            raise ValueError(f"Unknown image types: {', '.join(sorted(unknown))}.")
        self.max_size = parse_size(max_size)

    def __call__(self, _form: Form, field: Field) -> None:
        upload = field.data
        if not isinstance(upload, FileStorage) or not upload.filename:
            raise StopValidation(say("upload_missing"))
        stream = upload.stream
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(0)
        if size == 0:
            raise StopValidation(say("upload_empty"))
        if size > self.max_size:
            raise StopValidation(
                say(
                    "upload_too_large",
                    size=format_size(size),
                    limit=format_size(self.max_size),
                )
            )
        head = stream.read(_HEAD_BYTES)
        stream.seek(0)
        real = sniff_image_type(head)
        if real is None or real not in self.types:
            raise StopValidation(say("upload_not_image", types=_names(self.types)))
        claimed = _KNOWN_EXTENSIONS.get(_extension(upload.filename) or "")
        if claimed is not None and claimed != real:
            raise StopValidation(
                say(
                    "upload_misnamed",
                    extension=_extension(upload.filename),
                    real=_names([real]),
                )
            )
        field.image_type = real


def store_upload(data: bytes, folder: str | os.PathLike[str], content_type: str) -> str:
    """Write ``data`` into ``folder`` under a new random name, and return the name.

    The name is 32 random hex digits and the extension of ``content_type``; the
    client's file name is never used. The file appears whole or not at all
    (written to a temporary file, then renamed).

    .. versionadded:: 0.1
    """
    extension = IMAGE_TYPES[content_type][0]
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{extension}"
    fd, tmp = tempfile.mkstemp(dir=target, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return name


def remove_upload(folder: str | os.PathLike[str], name: str | None) -> None:
    """Delete a stored file, if ``name`` is one :func:`store_upload` made.

    .. versionadded:: 0.1
    """
    if name and STORED_NAME.match(name):
        (Path(folder) / name).unlink(missing_ok=True)


def send_upload(
    folder: str | os.PathLike[str],
    name: str,
    content_type: str,
    *,
    max_age: int = 3600,
) -> Response:
    """Serve a stored file with headers that keep it an image.

    Only names :func:`store_upload` makes are served (no path can escape
    ``folder``); anything else is 404. The response carries the type that was
    sniffed on upload, ``X-Content-Type-Options: nosniff``, an inline
    ``Content-Disposition``, a sandboxing ``Content-Security-Policy`` and
    ``Cache-Control: private`` (the name changes when the file does).

    .. versionadded:: 0.1
    """
    path = Path(folder) / name
    if not STORED_NAME.match(name) or content_type not in IMAGE_TYPES:
        raise NotFound()
    if not path.is_file():
        raise NotFound()
    response = send_file(path, mimetype=content_type, max_age=max_age, etag=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    response.cache_control.public = False
    return response
