"""Test helpers: submit to an action as htmx, as a plain browser or as a JSON client.

::

    from flask_server_actions.testing import ActionClient

    app.test_client_class = ActionClient

    def test_create_user(client):
        result = client.submit("users.create_user", name="Ada", email="ada@example.com")
        assert result.ok
        assert "Ada" in result.regions["user-list"]

The client fetches the page the action's form lives on, like a browser, and posts
what that form carries (CSRF token, page, submission key, signed arguments) with
your fields on top. It records the :class:`~flask_server_actions.ActionState` the
action answered with, so tests check the outcome rather than match strings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import re
import typing as t
from collections.abc import Iterator
from collections.abc import Mapping
from functools import cached_property
from html.parser import HTMLParser

from flask import Flask
from flask import session
from flask_login import FlaskLoginClient
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse
from werkzeug.test import encode_multipart

from .actions import Action
from .answer import page_url
from .binding import sign_arguments
from .fields import BOUND_FIELD
from .fields import CONFIRMED_FIELD
from .fields import FORM_FIELD
from .fields import KIND_FIELD
from .fields import PAGE_FIELD
from .fields import VALIDATE_HEADER
from .fields import button_id
from .fields import default_form_id
from .signals import action_answered
from .state import ActionState

if t.TYPE_CHECKING:  # pragma: no cover
    from ._typing import ResponseMode

#: The answer to a validation check: one error list per checked field.
_CHECKED_LIST = re.compile(
    r'<ul class="sa-errors" id="[^"]*" data-sa-field="([^"]*)">(.*?)</ul>'
)
_CHECKED_ERROR = re.compile(r"<li>(.*?)</li>")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input"}
    | {"link", "meta", "param", "source", "track", "wbr"}
)
#: Response headers htmx acts on, by the short name :attr:`ActionResult.hx` uses.
_HX_HEADERS: t.Final = {
    "location": "HX-Location",
    "redirect": "HX-Redirect",
    "refresh": "HX-Refresh",
    "retarget": "HX-Retarget",
    "reswap": "HX-Reswap",
    "reselect": "HX-Reselect",
    "trigger": "HX-Trigger",
    "push_url": "HX-Push-Url",
    "replace_url": "HX-Replace-Url",
}


@dataclasses.dataclass(frozen=True)
class Element:
    """One top-level element of an HTML fragment."""

    tag: str
    attrs: Mapping[str, str | None]
    html: str

    @property
    def id(self) -> str | None:
        return self.attrs.get("id")


class _TopLevel(HTMLParser):
    """Splits a fragment into its top-level elements, each with its exact source."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._lines = [0]
        for line in source.splitlines(keepends=True):
            self._lines.append(self._lines[-1] + len(line))
        self._source = source
        self._depth = 0
        self._open: tuple[str, dict[str, str | None], int] | None = None
        self.elements: list[Element] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._depth == 0:
            self._open = (tag, dict(attrs), self._offset())
            if tag in _VOID:
                self._close(self._offset() + len(self.get_starttag_text() or ""))
                return
        if tag not in _VOID:
            self._depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._depth == 0:
            start = self._offset()
            self._open = (tag, dict(attrs), start)
            self._close(start + len(self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        self._depth -= 1
        if self._depth == 0 and self._open is not None:
            end = self._source.find(">", self._offset()) + 1
            self._close(end)

    def _close(self, end: int) -> None:
        assert self._open is not None
        tag, attrs, start = self._open
        self.elements.append(Element(tag, attrs, self._source[start:end]))
        self._open = None


def top_level_elements(html: str) -> list[Element]:
    """The top-level elements of ``html`` (text between them is dropped)."""
    parser = _TopLevel(html)
    parser.feed(html)
    parser.close()
    return parser.elements


class _Forms(HTMLParser):
    """The hidden inputs of every form on a page, by form id and by action URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[dict[str, str | None], MultiDict[str, str]]] = []
        self._current: MultiDict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self._current = MultiDict()
            self.forms.append((dict(attrs), self._current))
        elif tag == "input" and self._current is not None:
            found = dict(attrs)
            if found.get("type") == "hidden" and found.get("name"):
                self._current.add(str(found["name"]), found.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _hidden_fields(
    page: str, form_id: str, url: str
) -> tuple[str, MultiDict[str, str]] | None:
    """The id and hidden inputs of the form ``form_id``, else of the first posting to ``url``."""
    parser = _Forms()
    parser.feed(page)
    by_action = None
    for attrs, hidden in parser.forms:
        if attrs.get("id") == form_id:
            return form_id, hidden
        if by_action is None and attrs.get("action") == url:
            by_action = (attrs.get("id") or form_id, hidden)
    return by_action


@dataclasses.dataclass
class ActionResult:
    """What an action answered: the recorded state and the response, taken apart."""

    #: The raw response, for anything the helpers below do not cover.
    response: TestResponse
    #: The state the action answered with (``None`` if it never got that far).
    state: ActionState | None
    #: The form's id on the page.
    form_id: str
    #: Posts the same body again (same submission key), for :meth:`repeat`.
    _again: t.Callable[[], ActionResult] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )
    #: Posts a form found in this answer, for :meth:`confirm`.
    _post_form: t.Callable[[str, MultiDict[str, str]], ActionResult] | None = (
        dataclasses.field(default=None, repr=False, compare=False)
    )

    def repeat(self) -> ActionResult:
        """Send the very same submission again: a double click or a re-post."""
        if self._again is None:
            raise RuntimeError("This result cannot be repeated.")
        return self._again()

    @cached_property
    def _confirmation(self) -> tuple[str, MultiDict[str, str]] | None:
        parser = _Forms()
        parser.feed(self.text)
        for attrs, hidden in parser.forms:
            if CONFIRMED_FIELD in hidden:
                return attrs.get("action") or "", hidden
        return None

    @property
    def asks_to_confirm(self) -> bool:
        """The answer is the page that asks first (``confirm=``, no JavaScript)."""
        return self._confirmation is not None

    def confirm(self) -> ActionResult:
        """Press the confirmation page's "Yes" button, as a browser without JavaScript.

        An action button with ``confirm=`` answers a plain POST with a page that asks
        first; only its form runs the action. That form is posted as the page has it.
        """
        if self._post_form is None:
            raise RuntimeError("This result cannot be confirmed.")
        if self._confirmation is None:
            raise RuntimeError(
                f"This answer ({self.status}) is not a confirmation page (the action"
                f" ran, or was not posted without JavaScript): {self.text[:300]!r}"
            )
        return self._post_form(*self._confirmation)

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def ok(self) -> bool:
        return self.state is not None and self.state.ok

    @property
    def message(self) -> str | None:
        return self.state.message if self.state is not None else None

    @property
    def errors(self) -> Mapping[str, list[str]]:
        return self.state.errors if self.state is not None else {}

    @property
    def values(self) -> Mapping[str, t.Any]:
        return self.state.values if self.state is not None else {}

    @property
    def data(self) -> Mapping[str, t.Any]:
        return self.state.data if self.state is not None else {}

    @property
    def replayed(self) -> bool:
        """The server answered with the first result of this submission key."""
        return self.response.headers.get("X-Submission-Replayed") == "1"

    @property
    def text(self) -> str:
        return self.response.get_data(as_text=True)

    @cached_property
    def _elements(self) -> list[Element]:
        return top_level_elements(self.text)

    @property
    def fragment(self) -> str:
        """The HTML htmx swaps into the target, without the out-of-band parts."""
        return "".join(e.html for e in self._elements if "hx-swap-oob" not in e.attrs)

    @property
    def regions(self) -> dict[str, str]:
        """The out-of-band swaps of the response, by element id."""
        return {
            e.id: e.html
            for e in self._elements
            if "hx-swap-oob" in e.attrs and e.id is not None
        }

    @property
    def hx(self) -> dict[str, str]:
        """The htmx response headers that were set, by short name (``location``…)."""
        headers = self.response.headers
        return {
            short: headers[name]
            for short, name in _HX_HEADERS.items()
            if name in headers
        }

    @property
    def redirect(self) -> str | None:
        """Where the caller is sent next: a 303's ``Location``, or ``HX-Redirect`` / ``HX-Location``."""
        if self.response.status_code in (301, 302, 303, 307, 308):
            return self.response.headers.get("Location")
        if "HX-Redirect" in self.response.headers:
            return self.response.headers["HX-Redirect"]
        location = self.response.headers.get("HX-Location")
        if location and location.startswith("{"):
            return str(json.loads(location).get("path"))
        return location

    @property
    def json(self) -> t.Any:
        return self.response.get_json()


@contextlib.contextmanager
def record_states(app: Flask) -> Iterator[list[ActionState]]:
    """Collect the states ``app``'s actions answer with inside the block."""
    states: list[ActionState] = []

    def record(_sender: Flask, *, state: ActionState, **_: t.Any) -> None:
        states.append(state)

    with action_answered.connected_to(record, app):
        yield states


class ActionClient(FlaskLoginClient):  # type: ignore[misc]  # flask-login is untyped
    """A Flask test client that submits to server actions the way a browser does.

    Set ``app.test_client_class = ActionClient``. As Flask-Login's test client it
    also accepts ``app.test_client(user=some_user)``; :meth:`act_as` switches user.
    """

    #: The path (and query) of the last HTML page this client fetched with a GET:
    #: where a browser would be now. :meth:`submit` looks for the form there
    #: first, such as a sign-out button in the layout.
    current_page: str | None = None

    def open(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        response = t.cast(TestResponse, super().open(*args, **kwargs))
        request = response.request
        if (
            request.method == "GET"
            and response.status_code == 200
            and response.mimetype == "text/html"
        ):
            query = request.query_string.decode()
            self.current_page = request.path + (f"?{query}" if query else "")
        return response

    def act_as(self, user: t.Any | None, *, fresh: bool = True) -> None:
        """Be signed in as ``user`` (Flask-Login) from now on; ``None`` signs out."""
        with self.session_transaction() as session:
            if user is None:
                session.pop("_user_id", None)
                session.pop("_fresh", None)
            else:
                session["_user_id"] = user.get_id()
                session["_fresh"] = fresh

    def submit(
        self,
        endpoint: str,
        data: Mapping[str, t.Any] | None = None,
        /,
        *,
        mode: ResponseMode = "htmx",
        page: str | None = None,
        form_id: str | None = None,
        bind: Mapping[str, t.Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **fields: t.Any,
    ) -> ActionResult:
        """Fill in and submit the form of the action ``endpoint``.

        :param data: form fields (or pass them as keyword arguments). A value of
            ``None`` leaves that field out, even a hidden one such as ``csrf_token``.
        :param mode: ``"htmx"`` (the default), ``"plain"`` (a browser without
            JavaScript) or ``"json"`` (an API client).
        :param page: the page to take the form from. By default, as a browser
            would, the page this client fetched last (:attr:`current_page`) if the
            form is on it (a sign-out button in the layout, an edit page with URL
            arguments, the list after a search), else the action's ``page=``.
            Without any, a CSRF token is minted for the session.
        :param form_id: which form on the page, when it holds several (by default
            the form or button with the action's default id, else the first one
            that posts to the action).
        :param bind: values to sign as the action's bound arguments, as
            ``action_button(..., bind=...)`` would.
        """
        app = t.cast(Flask, self.application)
        action = _action(app, endpoint)
        with app.test_request_context():
            url = action.url()
            pages = [page] if page else [self.current_page, page_url(action)]
            signed = sign_arguments(endpoint, bind) if bind is not None else None
        wanted_id = form_id or (
            button_id(endpoint, bind) if bind else default_form_id(endpoint)
        )
        page, wanted_id, body = self._form_fields(
            [p for p in dict.fromkeys(pages) if p], wanted_id, url
        )
        if signed is not None:
            body.setlist(BOUND_FIELD, [signed])
            # Bound arguments come from action_button: post as that button would.
            body.setdefault(KIND_FIELD, "button")
        for name, value in {**dict(data or {}), **fields}.items():
            if value is None:
                body.poplist(name)
            elif _is_file(value):
                body.setlist(name, [value])
            elif isinstance(value, list | tuple):
                body.setlist(name, [_as_field(v) for v in value])
            else:
                body.setlist(name, [_as_field(value)])
        sent = dict(headers or {})
        if mode == "htmx":
            sent.setdefault("HX-Request", "true")
            sent.setdefault("HX-Target", f"form#{wanted_id}")
            if page is not None:
                sent.setdefault("HX-Current-URL", f"http://localhost{page}")
        elif mode == "json":
            sent.setdefault("Accept", "application/json")
        return self._post(app, url, _encoded(body), sent, wanted_id)

    def check(
        self,
        endpoint: str,
        *touched: str,
        page: str | None = None,
        form_id: str | None = None,
        **fields: t.Any,
    ) -> dict[str, list[str]]:
        """Ask for a validation check, as a field with ``validate="change"`` does.

        Fills in the form as :meth:`submit` does and names the ``touched``
        fields; returns the errors the answer shows, ``{name: [messages]}``, an
        empty list for a touched field without errors. Raises ``AssertionError``
        when the check is refused (its status alone comes back).
        """
        result = self.submit(
            endpoint,
            page=page,
            form_id=form_id,
            headers={VALIDATE_HEADER: ",".join(touched)},
            **fields,
        )
        assert result.status == 200, f"the check was refused: {result.status}"
        return {
            name: [html.unescape(m) for m in _CHECKED_ERROR.findall(items)]
            for name, items in _CHECKED_LIST.findall(result.text)
        }

    def _post(
        self,
        app: Flask,
        url: str,
        body: _Body,
        headers: dict[str, str],
        form_id: str,
    ) -> ActionResult:
        data, content_type = body
        if isinstance(data, MultiDict):
            data = MultiDict(data)
        with record_states(app) as states:
            response = self.post(
                url, data=data, content_type=content_type, headers=headers
            )
        return ActionResult(
            response=response,
            state=states[-1] if states else None,
            form_id=form_id,
            _again=lambda: self._post(app, url, body, headers, form_id),
            _post_form=lambda action, fields: self._post(
                app, action, (fields, None), headers, form_id
            ),
        )

    def _form_fields(
        self, pages: list[str], form_id: str, url: str
    ) -> tuple[str | None, str, MultiDict[str, t.Any]]:
        """The page the form was found on, its id and what it carries."""
        for page in pages:
            shown = self.get(page)
            if shown.status_code == 200:
                found = _hidden_fields(shown.get_data(as_text=True), form_id, url)
                if found is not None:
                    return page, found[0], MultiDict(found[1])
        # No page, or the form is not on it (e.g. the page needs a sign-in first):
        # post what the form would have carried.
        first = pages[0] if pages else None
        app = t.cast(Flask, self.application)
        csrf_field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        fields: MultiDict[str, t.Any] = MultiDict(
            {csrf_field: self.csrf_token(), FORM_FIELD: form_id}
        )
        if first is not None:
            fields[PAGE_FIELD] = first
        return first, form_id, fields

    def csrf_token(self) -> str:
        """A valid CSRF token for this client's session (what a form would carry)."""
        app = t.cast(Flask, self.application)
        # flask-wtf keeps the raw token in the session under the field's name.
        key = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        with self.session_transaction() as client_session, app.test_request_context():
            if key in client_session:
                session[key] = client_session[key]
            token = str(generate_csrf())
            client_session[key] = session[key]
        return token


#: A request body: the fields as they are, or multipart bytes and their content type.
_Body = tuple[MultiDict[str, t.Any] | bytes, str | None]


def _encoded(body: MultiDict[str, t.Any]) -> _Body:
    """Encode a body with files as multipart bytes, in memory and once.

    Werkzeug's test client spools a large multipart body to a temporary file it
    never closes (a ``ResourceWarning``), and reads the file streams, so a
    :meth:`ActionResult.repeat` could not send them again.
    """
    if not any(_is_file(v) for v in body.values()):
        return body, None
    fields: MultiDict[str, t.Any] = MultiDict()
    for name, value in body.items(multi=True):
        if isinstance(value, tuple):
            stream, filename, *content_type = value
            value = FileStorage(
                stream, filename, content_type=next(iter(content_type), None)
            )
        fields.add(name, value)
    boundary, data = encode_multipart(fields)
    return data, f"multipart/form-data; boundary={boundary}"


def _is_file(value: t.Any) -> bool:
    """A stream, or Werkzeug's ``(stream, filename[, content type])``."""
    if hasattr(value, "read"):
        return True
    return (
        isinstance(value, tuple) and len(value) in (2, 3) and hasattr(value[0], "read")
    )


def _as_field(value: t.Any) -> t.Any:
    if isinstance(value, bool):
        return "y" if value else ""
    return value if _is_file(value) else str(value)


def _action(app: Flask, endpoint: str) -> Action:
    found = getattr(app.view_functions.get(endpoint), "server_action", None)
    if not isinstance(found, Action):
        known = ", ".join(
            sorted(
                e
                for e, v in app.view_functions.items()
                if isinstance(getattr(v, "server_action", None), Action)
            )
        )
        raise LookupError(f"No action {endpoint!r}; the app has: {known or 'none'}.")
    return found


__all__ = [
    "ActionClient",
    "ActionResult",
    "Element",
    "record_states",
    "top_level_elements",
]
