from __future__ import annotations

import typing as t
from collections.abc import Mapping

from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import ServiceUnavailable as _ServiceUnavailable


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
    ) -> None:
        super().__init__(description=message)
        self.code = status
        #: The message shown to the user.
        self.message = message
        #: Field errors to show beside the fields, as ``{field: [messages]}``.
        self.errors: dict[str, list[str]] = dict(errors or {})


class CrossOriginRequest(Forbidden):
    """A POST to an action came from another site (``Origin`` or ``Sec-Fetch-Site``)."""

    description = (
        "This form was sent from another site, so it was not accepted. "
        "Open the page on this site and submit it again."
    )

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
            description=(
                "The site is busy for a moment, so nothing was saved. Your input is"
                f" still here: please try again in {retry_after} seconds."
            ),
            retry_after=retry_after,
        )
        #: Seconds after which a retry is likely to work.
        self.seconds = retry_after


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
    return BadRequest.description or "The request could not be handled."


__all__: t.Final = [
    "ActionError",
    "CrossOriginRequest",
    "MissingBlock",
    "ServiceUnavailable",
    "TaintedValueError",
    "UnknownAction",
    "describe",
]
