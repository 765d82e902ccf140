"""Every exception the toolkit raises on purpose.

Client-facing ones subclass a werkzeug HTTP exception with a readable
``description`` (the English default of :mod:`~flask_server_actions.messages`), so
an app can handle them with ``errorhandler`` like any other HTTP error. Inside an
action request, the toolkit answers them itself, in the form (see ``failures``).
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Conflict
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import ServiceUnavailable as _ServiceUnavailable
from werkzeug.exceptions import TooManyRequests

from .messages import DEFAULT_MESSAGES


class ActionError(HTTPException):
    """An expected failure inside an action, with a message meant for the user.

    Raised inside an action it is shown in the form's status area (status 400
    unless given), with the user's input kept. Raised anywhere else it behaves
    like any werkzeug HTTP error.

    .. versionadded:: 0.1
    """

    code = 400

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description=message)
        self.code = status
        #: The message shown to the user.
        self.message = message
        #: Field errors to show beside the fields, as ``{field: [messages]}``.
        self.errors: dict[str, list[str]] = dict(errors or {})
        #: Headers the answer carries, e.g. ``{"Retry-After": "30"}`` with a 429.
        self.headers: dict[str, str] = dict(headers or {})


class CrossOriginRequest(Forbidden):
    """A POST to an action came from another site (``Origin`` or ``Sec-Fetch-Site``)."""

    description = DEFAULT_MESSAGES("cross_origin")

    def __init__(self, origin: str | None) -> None:
        super().__init__()
        #: The ``Origin`` (or ``Sec-Fetch-Site``) value that was refused.
        self.origin = origin


class ServiceUnavailable(_ServiceUnavailable):
    """A backend the action needs (database, rate-limit store) is unreachable or busy.

    Answered with status 503 and ``Retry-After``; inside an action the form keeps
    what the user typed and says when to try again. Nothing was saved.

    .. versionadded:: 0.1
    """

    def __init__(self, retry_after: int = 5) -> None:
        super().__init__(
            description=DEFAULT_MESSAGES("unavailable", seconds=retry_after),
            retry_after=retry_after,
        )
        #: Seconds after which a retry is likely to work.
        self.seconds = retry_after


class SubmissionInProgress(Conflict):
    """A repeat of a submission whose first request is still running (409)."""

    description = DEFAULT_MESSAGES("in_progress")


class TooManyStreams(TooManyRequests):
    """A stream was refused because a limit is reached (429, with ``Retry-After``).

    :param scope: ``"user"`` (this caller has ``limit`` streams open) or
        ``"process"`` (this server process has).

    .. versionadded:: 0.1
    """

    def __init__(
        self, scope: t.Literal["user", "process"], limit: int, retry_after: int = 5
    ) -> None:
        if scope == "user":
            what = "a stream" if limit == 1 else f"{limit} streams"
            description = DEFAULT_MESSAGES("too_many_streams", streams=what)
        else:
            description = DEFAULT_MESSAGES("streams_busy", seconds=retry_after)
        super().__init__(description, retry_after=retry_after)
        #: ``"user"`` or ``"process"``: which limit was reached.
        self.scope = scope
        #: The limit that was reached.
        self.limit = limit


class UnreadableBody(BadRequest):
    """The body is not valid UTF-8, is malformed, or repeats a control field."""

    description = DEFAULT_MESSAGES("unreadable")
    #: The name of the sentence in :mod:`~flask_server_actions.messages`.
    message_name: t.ClassVar[str] = "unreadable"


class InvalidText(UnreadableBody):
    description = DEFAULT_MESSAGES("invalid_text")
    message_name = "invalid_text"


class RepeatedControlField(UnreadableBody):
    description = DEFAULT_MESSAGES("repeated_control")
    message_name = "repeated_control"


class TamperedArguments(BadRequest):
    """The signed arguments of a form were missing, altered, or too old."""

    description = DEFAULT_MESSAGES("tampered")


class CacheUnavailable(Exception):
    """The cache backend did not answer an operation that cannot be skipped.

    .. versionadded:: 0.1
    """


class UnknownAction(LookupError):
    """A template or test named an action endpoint that no blueprint registered."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(f"No server action is registered as {endpoint!r}.")
        #: The endpoint that was asked for.
        self.endpoint = endpoint


class MissingBlock(LookupError):
    """A page template has no block for the form or region being rendered."""

    def __init__(self, block_name: str, template_name: str | None) -> None:
        super().__init__(
            f"Template {template_name!r} has no block {block_name!r}; is the form"
            " written with the action_form tag in that page?"
        )
        self.block_name = block_name
        self.template_name = template_name


class TaintedValueError(RuntimeError):
    """A value marked secret was about to leave the server.

    .. versionadded:: 0.1
    """

    def __init__(self, message: str) -> None:
        super().__init__(
            f"{message} (a value marked secret was about to be sent to the browser)"
        )
        #: Why the value is secret, as given when it was marked.
        self.reason = message


def describe(exc: HTTPException) -> str:
    """A sentence for the user from a werkzeug HTTP error."""
    description = exc.description
    if isinstance(description, str) and description:
        return description
    return DEFAULT_MESSAGES("bad_request")


__all__: t.Final = [
    "ActionError",
    "CacheUnavailable",
    "CrossOriginRequest",
    "InvalidText",
    "MissingBlock",
    "RepeatedControlField",
    "ServiceUnavailable",
    "SubmissionInProgress",
    "TaintedValueError",
    "TamperedArguments",
    "TooManyStreams",
    "UnknownAction",
    "UnreadableBody",
    "describe",
]
