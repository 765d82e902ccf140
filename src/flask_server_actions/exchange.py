"""The request object: what the toolkit learns and decides about one request.

Every step of the pipeline reads and writes one :class:`Exchange`, and so do the
template helpers that render its answer. It lives in the request's WSGI
``environ``, where the request's own data lives, never in ``flask.g``: ``g``
belongs to the application context, which Flask 3.0/3.1 reuse for every request a
test makes while it holds one open, so two requests would share it.
"""

from __future__ import annotations

import dataclasses
import typing as t
from functools import cached_property
from functools import lru_cache

from flask import Request
from flask import request
from markupsafe import Markup
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header
from werkzeug.local import LocalProxy

from .appstate import AppState
from .appstate import app_state
from .htmx import HtmxDetails

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm
    from werkzeug.datastructures import MultiDict

    from ._typing import ResponseMode
    from .registry import ActionSpec
    from .settings import Settings
    from .state import ActionState

#: Where the request's :class:`Exchange` is kept in its WSGI environ.
ENVIRON_KEY: t.Final = "flask_server_actions.exchange"

#: How a region is being rendered: inside the whole page, alone, or out of band.
RegionMode = t.Literal["page", "alone", "oob", "capture"]
#: A generation bump waiting for the action's transaction to end.
Bump = tuple[t.Literal["tag", "path"], str]


@dataclasses.dataclass(eq=False)
class Stale:
    """What the current request's action made stale."""

    tags: set[str] = dataclasses.field(default_factory=set)
    paths: set[str] = dataclasses.field(default_factory=set)
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.tags) or bool(self.paths)

    def affects(self, tags: t.Iterable[str], page_path: str | None) -> bool:
        """Whether a region with ``tags`` on ``page_path`` must render again."""
        if self.everything:
            return True
        if page_path is not None and page_path.split("?", 1)[0] in self.paths:
            return True
        return not self.tags.isdisjoint(tags)


@dataclasses.dataclass(frozen=True)
class Failure:
    """An unexpected exception an action raised in this request."""

    #: The action's endpoint.
    endpoint: str
    #: The short random id shown to the user and written to the log.
    error_id: str
    #: What was raised (only its text is ever shown, and only in debug mode).
    exception: BaseException


@dataclasses.dataclass(eq=False)
class Submission:
    """The form an action just handled, to render back with its state."""

    endpoint: str
    form_id: str
    form: FlaskForm | None
    state: ActionState
    #: The message went out as a flash (the page has no block for this form),
    #: so the form, if it renders after all, does not repeat it.
    message_flashed: bool = False
    #: The form rendered the state.
    shown: bool = False


@dataclasses.dataclass(eq=False)
class BlockRequest:
    """Which blocks an action's answer wants from its page, and what came back."""

    #: Blocks rendered as they are (the submitted form).
    blocks: list[str]
    #: Also render the page's regions out of band; each renders only if stale.
    oob_regions: bool = False
    results: dict[str, str] = dataclasses.field(default_factory=dict)
    oob: str = ""
    template_name: str | None = None
    rendered: bool = False


class Exchange:
    """One request and its answer, as the toolkit sees them.

    Built once per request, the first time anything asks (:func:`current_exchange`).
    For a request to an action the pipeline fills in what it learns step by step:
    the posted control fields, the failure if any, what was revalidated, whether
    the transaction committed, and what the answer must render.

    .. versionadded:: 0.1
    """

    def __init__(self, request: Request, app: AppState) -> None:
        #: The request (the object, not the proxy).
        self.request = request
        #: The toolkit's state for the request's app.
        self.app = app
        #: The app's checked settings.
        self.settings: Settings = app.settings
        #: The htmx headers of the request.
        self.htmx = HtmxDetails(request.headers, request.host)

        # -- set by the pipeline for a request to an action --------------------
        #: The action this request posts to.
        self.action: ActionSpec | None = None
        #: The posted form fields, once read; ``None`` if the body is unreadable.
        self.posted: MultiDict[str, str] | None = None
        #: Fields whose posted value is not text (a JSON body's nested object).
        self.not_text: frozenset[str] = frozenset()
        #: The body was refused; it is never parsed again.
        self.body_refused = False
        #: The page the submitted form was on (``_sa_page`` or ``HX-Current-URL``).
        self.posted_page: str | None = None
        #: The submitted form's id.
        self.form_id: str | None = None
        #: ``"button"`` when an :func:`action_button` was pressed.
        self.kind: str | None = None
        #: The submission key the form carried.
        self.key: str | None = None
        #: "Try again" after an unexpected error: bring the form back, run nothing.
        self.retry = False
        #: The question the action asks first, still unanswered (without JavaScript).
        self.unconfirmed: str | None = None
        #: A validation check (``SA-Validate``): the names of the fields to check.
        #: The form is validated for those and the action never runs.
        self.checking: tuple[str, ...] | None = None

        # -- what the action did ------------------------------------------------
        #: What was revalidated: its regions render again in the answer.
        self.stale = Stale()
        #: Generation bumps held until the action's transaction has ended.
        self.deferred_bumps: list[Bump] | None = None
        #: The number of the last live event this request published (0: none).
        #: Regions rendered after it say they show it, even before this
        #: process has read the other workers' events that came before it.
        self.published_event = 0
        #: The action's transaction committed: from here a failure must not say
        #: that nothing was saved.
        self.committed = False
        #: The unexpected failure of the action, if any.
        self.failure: Failure | None = None
        #: Headers the answer carries (``Retry-After``, ``Allow``…).
        self.headers: dict[str, str] = {}

        # -- what the answer renders ------------------------------------------
        #: The form and state to render back.
        self.submission: Submission | None = None
        #: The blocks an htmx answer wants from the page.
        self.blocks: BlockRequest | None = None
        #: How regions render right now.
        self.region_mode: RegionMode = "page"
        #: In a "capture" render (a whole page rendered for some of its regions):
        #: how each wanted region renders, and what it rendered, by block name.
        self.capturing: dict[str, RegionMode] = {}
        self.captured: dict[str, str] = {}
        #: The page view is running to answer the action (see ``call_page``).
        self.page_for_action = False
        #: The hidden fields every form of this answer carries alike (token, page).
        self.common_fields: Markup | None = None
        #: The signed CSRF token of this answer's forms (``csrf.form_token``).
        self.csrf_token: str | None = None

    @cached_property
    def mode(self) -> ResponseMode:
        """htmx, JSON or a plain browser: how this request is answered."""
        if self.htmx:
            return "plain" if self.htmx.wants_full_page else "htmx"
        return _mode_for(self.request.headers.get("Accept", ""))

    @cached_property
    def request_path(self) -> str:
        """The request's own path and query."""
        full = self.request.full_path
        return full[:-1] if full.endswith("?") else full

    @property
    def page_path(self) -> str:
        """The page forms on this answer belong to: the page posted from, or this one."""
        return self.posted_page or self.request_path

    def posted_field(self, name: str) -> str | None:
        """A posted control field, if the body was read (and readable)."""
        posted = self.posted
        # Asked first: a missing key makes ``MultiDict.get`` build an exception.
        return posted[name] if posted is not None and name in posted else None

    def formdata(self) -> MultiDict[str, t.Any] | None:
        """What a form binds to: the posted fields, and the files of a multipart body."""
        if self.posted is None:
            return None
        files = self.request.files
        if files:
            return CombinedMultiDict([files, self.posted])
        return self.posted


def current_exchange() -> Exchange:
    """The current request's :class:`Exchange`, built on first use."""
    environ = request.environ
    found: Exchange | None = environ.get(ENVIRON_KEY)
    if found is None:
        found = Exchange(t.cast(t.Any, request)._get_current_object(), app_state())
        environ[ENVIRON_KEY] = found
    return found


@lru_cache(maxsize=256)
def _mode_for(accept: str) -> ResponseMode:
    """A request's mode by its ``Accept`` header, once per header: browsers
    send a handful of them, and parsing one costs more than the rest of it."""
    best = parse_accept_header(accept, MIMEAccept).best_match(
        ["text/html", "application/json"]
    )
    return "json" if best == "application/json" else "plain"


def response_mode() -> ResponseMode:
    """``"htmx"``, ``"plain"`` or ``"json"``: how the current request is answered.

    .. versionadded:: 0.1
    """
    return current_exchange().mode


def _current_htmx() -> HtmxDetails:
    return current_exchange().htmx


#: The current request's htmx headers (an :class:`HtmxDetails`), like
#: Flask-Login's ``current_user``: ``if current_htmx: …``.
current_htmx: HtmxDetails = t.cast(HtmxDetails, LocalProxy(_current_htmx))
