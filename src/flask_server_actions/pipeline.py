"""What happens to a request to an action, top to bottom.

::

    guard        body limit -> body check -> CSRF -> origin -> rate limit
    validation   a check while the user types: the touched fields, never the action
    run once     the form's submission key: a repeat replays the first result
    execute      authorize -> bind -> validate -> run in the transaction
    answer       htmx fragment + out-of-band regions | page or 303 | JSON

Every step reads and writes the request's :class:`~.exchange.Exchange`. A step
that refuses raises; :mod:`~.failures` turns what it raised into a state, and
:func:`~.answer.answer` answers that state like any other.
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t
from collections.abc import Mapping
from contextlib import nullcontext
from contextlib import suppress

from flask import Response
from flask import current_app
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from .answer import answer
from .answer import answer_check
from .answer import ask_first
from .answer import refuse_check
from .binding import verify_arguments
from .bodycheck import field_problems
from .bodycheck import read_form
from .bodycheck import read_unframed
from .compat import handle_http_exception
from .csrf import check_csrf
from .errors import ActionError
from .errors import ServiceUnavailable
from .errors import SubmissionInProgress
from .exchange import Exchange
from .exchange import current_exchange
from .failures import failure_state
from .fields import BOUND_FIELD
from .fields import CONFIRM_FIELD
from .fields import CONFIRMED_FIELD
from .fields import FORM_FIELD
from .fields import KEY_FIELD
from .fields import KIND_FIELD
from .fields import MAX_CHECKED_FIELDS
from .fields import MAX_KEY
from .fields import PAGE_FIELD
from .fields import RETRY_FIELD
from .fields import VALIDATE_HEADER
from .fields import default_form_id
from .fields import is_form_id
from .formdata import add_field_errors
from .formdata import bind_form
from .formdata import body_limit
from .formdata import check_fields
from .formdata import field_errors
from .formdata import submitted_values
from .ledger import Claim
from .ledger import Ledger
from .origin import check_origin
from .pages import route_of
from .policies import current_user
from .ratelimit import check_rate_limit
from .registry import ActionSpec
from .registry import action_of
from .revalidation import bumps_after
from .state import ActionState
from .submissions import submitter
from .urls import local_path

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

logger = logging.getLogger("flask_server_actions")

#: What executing an action gives: its state, and its form bound to the input.
Outcome = tuple[ActionState, "FlaskForm | None"]


def handle(act: ActionSpec, view_args: Mapping[str, t.Any]) -> Response:
    """The whole life of a request to ``act``: guard, run once, execute, answer."""
    exchange = current_exchange()
    exchange.action = act
    try:
        guard(exchange, act)
        if exchange.checking is not None:
            return answer_check(exchange, validation(exchange, act))
        if exchange.unconfirmed is not None:
            # Ask only someone who may do it, about arguments that are genuine.
            admit(exchange, act)
            return ask_first(exchange, act, exchange.unconfirmed)
        if exchange.retry:
            state, form = restore(exchange, act)
        else:
            state, form = run_once(exchange, act, view_args)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a state
        if exchange.checking is not None:
            return refuse_check(exchange, failure_state(exchange, exc))
        state, form = refused(exchange, act, exc)
    return answer(exchange, act, state, form)


# -- guard ---------------------------------------------------------------------


def guard(exchange: Exchange, act: ActionSpec) -> None:
    """Refuse what must not reach the action: each check raises what it refuses."""
    read_body(exchange, act)
    check_csrf(exchange)
    check_origin(exchange.request, exchange.settings.allowed_origins)
    endpoint = exchange.request.endpoint or act.endpoint
    # A validation check is counted by its own, generous limit, never the action's.
    check_rate_limit(
        exchange, endpoint if exchange.checking is None else check_endpoint(endpoint)
    )


def check_endpoint(endpoint: str) -> str:
    """The name validation checks of ``endpoint`` are rate-limited under."""
    return f"{endpoint}:validate"


def read_body(exchange: Exchange, act: ActionSpec) -> None:
    """Cap the body, check it can be read faithfully, and read its control fields.

    A body that is refused here is never parsed again: the answer keeps the
    browser's form as it is rather than refilling it.
    """
    request = exchange.request
    # Before anything reads the body.
    limit = body_limit(act, exchange.settings)
    request.max_content_length = limit
    try:
        if request.content_length is None and request.environ.get(
            "wsgi.input_terminated"
        ):
            read_unframed(request, limit)
        exchange.posted, exchange.not_text = read_form(
            request, exchange.settings.csrf_field
        )
    except HTTPException:
        exchange.body_refused = True
        raise
    finally:
        read_control_fields(exchange, act)


def read_control_fields(exchange: Exchange, act: ActionSpec) -> None:
    """What the form says about itself: its page, its id, its key, its kind."""
    page = local_path(exchange.posted_field(PAGE_FIELD))
    current = local_path(exchange.htmx.current_path)
    # htmx may have changed the address since the form was rendered (a search
    # replaced the URL): answer for where the browser is now, when that is the
    # same page.
    if (
        page is not None
        and current is not None
        and current != page
        and exchange.mode == "htmx"
        and route_of(current) == route_of(page)
    ):
        page = current
    exchange.posted_page = page or current
    form_id = exchange.posted_field(FORM_FIELD) or exchange.htmx.target_id
    exchange.form_id = (
        form_id
        if form_id is not None and is_form_id(form_id)
        else default_form_id(exchange.request.endpoint or act.endpoint)
    )
    exchange.kind = exchange.posted_field(KIND_FIELD)
    key = exchange.posted_field(KEY_FIELD)
    exchange.key = key if key and len(key) <= MAX_KEY else None
    exchange.retry = exchange.posted_field(RETRY_FIELD) == "1"
    checked = exchange.request.headers.get(VALIDATE_HEADER)
    if checked is not None:
        names = [n.strip() for n in checked.split(",") if n.strip()]
        exchange.checking = tuple(names[:MAX_CHECKED_FIELDS])
    # htmx asked the question in a dialog already; a JSON client asks its own.
    question = exchange.posted_field(CONFIRM_FIELD)
    if (
        question
        and exchange.mode == "plain"
        and exchange.posted_field(CONFIRMED_FIELD) != "1"
    ):
        exchange.unconfirmed = question


# -- validation ------------------------------------------------------------------


def validation(exchange: Exchange, act: ActionSpec) -> list[t.Any]:
    """A validation check: the fields the user touched, validated; nothing run.

    Authorization (before validation) and the signed arguments are checked as
    a submit checks them; then the touched fields are validated by the form's
    own validators (those marked ``submit_only`` aside), with the body check's
    problems for them. The action never runs and its submission key is never
    claimed, so nothing is written. Returns the fields checked.
    """
    admit(exchange, act)
    form = bind_form(act, exchange.formdata())
    if form is None or not exchange.checking:
        return []
    checked = check_fields(form, exchange.checking)
    problems = field_problems(
        form,
        exchange.posted or MultiDict(),
        exchange.request.files,
        exchange.not_text,
        exchange.app.messages,
    )
    names = {str(f.name) for f in checked}
    add_field_errors(form, {k: v for k, v in problems.items() if k in names})
    return checked


# -- run once -------------------------------------------------------------------


def run_once(
    exchange: Exchange, act: ActionSpec, view_args: Mapping[str, t.Any]
) -> Outcome:
    """Execute the action unless the form's submission key was applied before.

    The key is claimed only when the action is about to run, so a form refused
    before that (invalid, not allowed) writes nothing to the ledger. It only
    looks the key up: it may be the form an earlier request with the key
    applied, sent again because that answer never arrived, and refused now
    because that request ran (a title now taken) or since (a policy, expired
    signed arguments). It is still that submission, and gets its result.
    """
    settings = exchange.settings
    scope = submitter(settings.csrf_field) if act.once and exchange.key else None
    if scope is None or exchange.key is None:
        return execute(exchange, act, view_args)
    ledger = exchange.app.ledger
    once = Once(ledger, ledger.entry(act.endpoint, scope, exchange.key))
    try:
        state, form = execute(exchange, act, view_args, once=once)
    except BaseException:
        if once.claimed:
            ledger.release(once.entry)
        raise
    if once.claimed:
        if state.ok:
            ledger.record(once.entry, state)
        else:
            # Nothing was written, so the key stays usable for the corrected form.
            ledger.release(once.entry)
    elif not once.tried and not state.ok:
        try:
            found = ledger.look(once.entry)
        except exchange.app.unavailable_errors:
            return state, form  # the refusal is the answer
        replayed = earlier_request(exchange, act, found)
        if replayed is not None:
            return replayed
    return state, form


@dataclasses.dataclass
class Once:
    """A submission key's entry in the ledger, and what this request did with it."""

    ledger: Ledger
    entry: str
    #: The action was about to run: the key was claimed, or found taken.
    tried: bool = False
    #: The key is this request's: its result is recorded, or the key released.
    claimed: bool = False

    def claim(self) -> Claim:
        self.tried = True
        found = self.ledger.claim(self.entry)
        self.claimed = found.ours
        return found


def earlier_request(
    exchange: Exchange, act: ActionSpec, found: Claim
) -> Outcome | None:
    """The answer when another request had the key: its result, or 409 while it runs."""
    if found.applied is not None:
        exchange.headers["X-Submission-Replayed"] = "1"
        # What the first request revalidated is not known here, and its answer
        # may never have arrived (a kept submission sent again after the
        # connection dropped): the page's regions all come back fresh.
        exchange.stale.everything = True
        # The form shows what was typed, as the first answer did.
        return found.applied, bind_form(act, exchange.formdata())
    if found.busy:
        raise SubmissionInProgress()
    return None


# -- execute --------------------------------------------------------------------


def execute(
    exchange: Exchange,
    act: ActionSpec,
    view_args: Mapping[str, t.Any],
    *,
    bound: Mapping[str, t.Any] | None = None,
    once: Once | None = None,
) -> Outcome:
    """Authorize, bind, validate and run ``act`` on the request's input.

    :param bound: the bound arguments, already trusted (a Python caller); ``None``
        reads and verifies them from the signed form field.
    :param once: the submission key's ledger entry, claimed right before the
        action runs (see :func:`run_once`).
    """
    form: FlaskForm | None = None
    try:
        view_args = {**view_args, **admit(exchange, act, bound)}
        form = bind_form(act, exchange.formdata())
        if form is not None:
            say = exchange.app.messages
            errors = field_problems(
                form,
                exchange.posted or MultiDict(),
                exchange.request.files,
                exchange.not_text,
                say,
            )
            add_field_errors(form, errors)
            if errors or not form.validate():
                state = ActionState.failure(
                    say("invalid"), status=422, errors=errors or field_errors(form)
                )
                return state.with_values(submitted_values(form, exchange.posted)), form
        authorize(exchange, act, form, after_validation=True)
        if once is not None:
            replayed = earlier_request(exchange, act, once.claim())
            if replayed is not None:
                return replayed
        state = run_in_transaction(exchange, act, form, view_args)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a state
        state = failure_state(exchange, exc)
        if form is None and exchange.posted is not None:
            # Refused before the form was bound (sign in, tampered arguments):
            # it is bound now, so it comes back with the input.
            form = bind_form(act, exchange.formdata())
        add_field_errors(form, state.errors)
    if not state.ok:
        state = state.with_values(submitted_values(form, exchange.posted))
    return state, form


def admit(
    exchange: Exchange, act: ActionSpec, bound: Mapping[str, t.Any] | None = None
) -> Mapping[str, t.Any]:
    """Let the user in (before the form is read) and give the verified bound arguments.

    :param bound: arguments a Python caller already trusts; ``None`` verifies
        the signed form field.
    """
    authorize(exchange, act, None, after_validation=False)
    if not act.bind:
        return {}
    if bound is not None:
        return bound
    return verify_arguments(
        act.endpoint,
        exchange.posted_field(BOUND_FIELD),
        act.bind,
        max_age=exchange.settings.bind_max_age,
    )


def authorize(
    exchange: Exchange,
    act: ActionSpec,
    form: FlaskForm | None,
    *,
    after_validation: bool,
) -> None:
    """Raise 401 or 403 unless the action's policy lets the current user in."""
    policy = act.policy
    if policy.is_public:
        return
    say = exchange.app.messages
    user = current_user()
    signed_in = bool(getattr(user, "is_authenticated", False))
    if policy.requires_login and not signed_in:
        raise ActionError(say("sign_in"), status=401)
    if policy.check is None or policy.needs_form != after_validation:
        return
    if not policy.check(user, form):
        if signed_in:
            raise ActionError(say("forbidden"), status=403)
        raise ActionError(say("sign_in"), status=401)


class _RollBack(Exception):
    """Carries a failed state out of the transaction so its writes are undone."""

    def __init__(self, state: ActionState) -> None:
        self.state = state


def run_in_transaction(
    exchange: Exchange,
    act: ActionSpec,
    form: FlaskForm | None,
    view_args: Mapping[str, t.Any],
) -> ActionState:
    """Call the action's function inside the app's transaction: all or nothing."""
    factory = exchange.app.transaction
    args = (form,) if form is not None else ()
    try:
        with bumps_after(exchange), factory() if factory else nullcontext():
            result = act.func(*args, **view_args)
            state = result if result is not None else ActionState.success()
            if not isinstance(state, ActionState):
                raise TypeError(
                    f"Action {act.endpoint} returned {type(state).__name__};"
                    " return an ActionState or None."
                )
            if not state.ok:
                raise _RollBack(state)
    except _RollBack as rolled_back:
        state = rolled_back.state
    # From here on a failure must not claim that nothing was saved.
    exchange.committed = state.ok
    if state.ok and not act.reset:
        state = dataclasses.replace(state, reset=False)
    return state


# -- refusals, and "Try again" ------------------------------------------------------


def refused(exchange: Exchange, act: ActionSpec, exc: Exception) -> Outcome:
    """The outcome of a refusal before the action ran: the form keeps the input."""
    state = failure_state(exchange, exc)
    if exchange.posted is None or exchange.body_refused:
        return state, None
    form = bind_form(act, exchange.formdata())
    add_field_errors(form, state.errors)
    return state.with_values(submitted_values(form, exchange.posted)), form


def restore(exchange: Exchange, act: ActionSpec) -> Outcome:
    """ "Try again" after an unexpected error: the form as the user left it, nothing run."""
    form = bind_form(act, exchange.formdata())
    state = ActionState(ok=False, status=200)
    return state.with_values(submitted_values(form, exchange.posted)), form


# -- failures outside the action's own view --------------------------------------------


def _request_action(exchange: Exchange) -> ActionSpec | None:
    request = exchange.request
    if request.method != "POST" or request.endpoint is None:
        return None
    return action_of(current_app.view_functions.get(request.endpoint))


def handle_http_error(exc: HTTPException) -> Response | HTTPException:
    """Error handler: a refusal before the action's view ran is answered in its form.

    Another extension's hook (a default rate limit, a maintenance switch) may
    refuse a request to an action before the pipeline starts; the form still
    says why and keeps the input. Any other request gets the app's own handling.
    """
    exchange = current_exchange()
    act = _request_action(exchange)
    if act is None:
        return exc
    return _answer_refusal(exchange, act, exc)


def handle_unavailable(exc: Exception) -> BaseResponse:
    """Error handler for the app's "backend down" errors: a 503, never a 500.

    A request to an action answers in its form (input kept); any other request
    gets the app's 503 page (``@app.errorhandler(503)``) with ``Retry-After``.
    """
    exchange = current_exchange()
    act = _request_action(exchange)
    if act is not None:
        return _answer_refusal(exchange, act, exc)
    logger.warning("A backend is unavailable: %s", exc)
    unavailable = ServiceUnavailable(exchange.settings.retry_after)
    handled = handle_http_exception(current_app._get_current_object(), unavailable)  # type: ignore[attr-defined]
    if isinstance(handled, HTTPException):
        return unavailable.get_response()
    response = current_app.make_response(handled)
    response.headers["Retry-After"] = str(unavailable.seconds)
    return response


def _answer_refusal(exchange: Exchange, act: ActionSpec, exc: Exception) -> Response:
    exchange.action = act
    if exchange.form_id is None:
        # The pipeline never started: read the body as it would have.
        with suppress(HTTPException):
            read_body(exchange, act)
    state, form = refused(exchange, act, exc)
    return answer(exchange, act, state, form)


__all__ = [
    "Outcome",
    "authorize",
    "check_endpoint",
    "execute",
    "guard",
    "handle",
    "handle_http_error",
    "handle_unavailable",
    "read_body",
    "refused",
    "restore",
    "run_once",
    "validation",
]
