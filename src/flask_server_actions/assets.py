"""The ``<script>`` and ``<link>`` tags of htmx and the toolkit, and the CSRF header."""

from __future__ import annotations

import json
import typing as t

from flask import get_flashed_messages
from flask import url_for
from markupsafe import Markup

from .csrf import form_token
from .exchange import current_exchange
from .live import live_url
from .markup import HtmlTemplate
from .submissions import outbox_owner

#: htmx 4 extensions vendored beside htmx (same version), by registration name.
HTMX_EXTENSIONS: t.Final[dict[str, str]] = {"sse": "htmx/ext/hx-sse.min.js"}


_SCRIPT = Markup('<script src="%s" defer></script>')


def _static(filename: str) -> str:
    return url_for("server_actions.static", filename=filename)


def htmx_extensions(*names: str) -> Markup:
    """``<script>`` tags of vendored htmx 4 extensions, to load after htmx.

    Names are the extensions' registration names (see :data:`HTMX_EXTENSIONS`):
    ``{{ htmx_extensions("sse") }}`` in a page's ``<head>``, after
    ``server_actions_assets()``.
    """
    tags = []
    for name in names:
        if name not in HTMX_EXTENSIONS:
            raise ValueError(
                f"Unknown htmx extension {name!r};"
                f" vendored: {', '.join(HTMX_EXTENSIONS)}."
            )
        tags.append(_SCRIPT % (_static(HTMX_EXTENSIONS[name]),))
    return Markup("").join(tags)


def static_assets(extensions: t.Iterable[str] = ()) -> Markup:
    """The ``<script>`` and ``<link>`` tags of htmx and the toolkit, for ``<head>``.

    :param extensions: vendored htmx extensions to load with htmx, by their
        registration name (see :func:`htmx_extensions`), e.g. ``["sse"]``.
    """
    exchange = current_exchange()
    wanted = ("assets", exchange.request.script_root, tuple(extensions))
    rendered = exchange.app.rendered
    found = rendered.get(wanted)
    if found is None:
        if len(rendered) > 64:  # a proxy may set any prefix: keep it small
            rendered.clear()
        found = rendered[wanted] = _asset_tags(exchange.settings.htmx_config, wanted[2])
    return t.cast(Markup, found)


def _asset_tags(config: str, extensions: tuple[str, ...]) -> Markup:
    meta = (
        Markup('<meta name="htmx-config" content="%s">') % (config,)
        if config
        else Markup("")
    )
    # Scripts of features a page may not use (optimistic, live, validate,
    # upload, offline) are not named here: the toolkit's script loads each from
    # beside itself, only where its markup is.
    return Markup(
        '%(meta)s<link rel="stylesheet" href="%(css)s">'
        '<script src="%(htmx)s" defer></script>%(extensions)s'
        '<script src="%(own)s" defer data-sa-live-url="%(live)s"></script>'
    ) % {
        "live": live_url(),
        "meta": meta,
        "css": _static("server-actions.min.css"),
        "htmx": _static("htmx/htmx.min.js"),
        "extensions": htmx_extensions(*extensions),
        "own": _static("server-actions.min.js"),
    }


_MESSAGES = HtmlTemplate(
    '<div class="sa-messages" role="status" aria-live="polite">%s</div>'
)
_MESSAGE = HtmlTemplate('<p class="sa-message sa-message--%s">%s</p>')
_CSRF_HEADERS = HtmlTemplate('hx-headers:inherited="%s" data-sa-owner="%s"')


def flash_messages() -> Markup:
    """The messages a page shows once, for the layout: ``{{ server_actions_messages() }}``.

    They are Flask's flashes: what a button's action said, the message of a
    ``redirect_to(…, message=…)``, why a sign-in was asked for, and a failure whose
    form is not on the page. A form's own message is shown in its status area,
    never here too. The area is always there (empty when there is nothing to
    say), so screen readers announce what arrives in it.

    .. versionadded:: 0.1
    """
    if current_exchange().region_mode == "capture":
        # A page rendered only for some of its regions: the messages stay for
        # the page the user sees next.
        return _MESSAGES % (Markup(""),)
    # Flask types it as strings or pairs; with categories, it is pairs.
    flashed = t.cast(
        "list[tuple[str, str]]", get_flashed_messages(with_categories=True)
    )
    return _MESSAGES % (
        Markup("").join(_MESSAGE % (category, text) for category, text in flashed),
    )


def csrf_headers() -> Markup:
    """``hx-headers:inherited`` with the CSRF token, for the ``<body>`` tag, and
    whose page it is (:func:`~.submissions.outbox_owner`, for the offline outbox).

    htmx 4 does not inherit attributes unless told, hence ``:inherited``.
    """
    exchange = current_exchange()
    settings = exchange.settings
    return _CSRF_HEADERS % (
        json.dumps({settings.csrf_header: form_token(exchange)}),
        outbox_owner(settings.csrf_field),
    )
