from __future__ import annotations

import dataclasses
import typing as t
from collections.abc import Mapping

from flask import url_for

from .urls import local_path

_EMPTY: Mapping[str, t.Any] = {}


@dataclasses.dataclass(frozen=True)
class ActionState:
    """What an action returns: the ``useActionState`` value of React.

    The same state is rendered into the form's partial for htmx, into the whole
    page without JavaScript, and serialised for JSON callers.

    .. versionadded:: 0.1
    """

    #: ``True`` when the action did what was asked.
    ok: bool
    #: A sentence for the user, shown in the form's status area.
    message: str | None = None
    #: Field errors as ``{field: [messages]}``, like Zod's ``fieldErrors``.
    errors: Mapping[str, list[str]] = dataclasses.field(default_factory=dict)
    #: What the user submitted, so a failed form keeps its input.
    values: Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    #: Anything else the caller may use (an id, a URL, a count).
    data: Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    #: The HTTP status this state is answered with.
    status: int = 200
    #: Where to go next; a 303 without JavaScript, ``HX-Location`` with htmx.
    redirect: str | None = None
    #: Whether a successful form comes back empty (React's automatic reset).
    reset: bool = True

    @classmethod
    def success(
        cls,
        message: str | None = None,
        *,
        data: Mapping[str, t.Any] | None = None,
        reset: bool = True,
    ) -> ActionState:
        """A successful outcome with an optional message for the user."""
        return cls(ok=True, message=message, data=dict(data or _EMPTY), reset=reset)

    @classmethod
    def failure(
        cls,
        message: str,
        *,
        status: int = 400,
        errors: Mapping[str, list[str]] | None = None,
        data: Mapping[str, t.Any] | None = None,
    ) -> ActionState:
        """An expected failure: the form is shown again with ``message``."""
        return cls(
            ok=False,
            message=message,
            errors=dict(errors or _EMPTY),
            data=dict(data or _EMPTY),
            status=status,
        )

    def with_values(self, values: Mapping[str, t.Any]) -> ActionState:
        """The same state carrying what the user submitted."""
        return dataclasses.replace(self, values=dict(values))

    def to_json(self) -> dict[str, t.Any]:
        """The state as the JSON body an API caller receives."""
        body: dict[str, t.Any] = {
            "ok": self.ok,
            "message": self.message,
            "data": dict(self.data),
        }
        if not self.ok:
            body["errors"] = {k: list(v) for k, v in self.errors.items()}
            body["values"] = dict(self.values)
        if self.redirect is not None:
            body["redirect"] = self.redirect
        return body


def redirect_to(
    endpoint_or_url: str,
    *,
    message: str | None = None,
    **values: t.Any,
) -> ActionState:
    """End an action by sending the user to another page, like Next's ``redirect()``.

    htmx callers get ``HX-Location``, plain browsers a ``303 See Other``, JSON
    callers ``"redirect"`` in the body. ``message`` is flashed for the next page.

    :param endpoint_or_url: an endpoint for :func:`flask.url_for`, or a path
        starting with ``/``.
    :param message: a sentence the next page shows once.
    :param values: URL values for the endpoint.
    """
    if endpoint_or_url.startswith("/"):
        if local_path(endpoint_or_url) is None or values:
            raise ValueError(
                f"redirect_to({endpoint_or_url!r}) takes a local path or an endpoint."
            )
        url = endpoint_or_url
    else:
        url = url_for(endpoint_or_url, **values)
    return ActionState(ok=True, message=message, redirect=url)
