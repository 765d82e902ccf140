"""The protocol between a rendered form and the server: field names, ids, block names.

A form rendered by the toolkit carries hidden fields that say which page it is on,
which form it is, its one-time submission key and its signed arguments. The same
names are read back by the pipeline, written by the test client and checked for
repeats by the body check, so they are defined once, here.
"""

from __future__ import annotations

import re
import typing as t

#: Hidden field: the page the form was rendered on (for PRG and re-rendering).
PAGE_FIELD: t.Final = "_sa_page"
#: Hidden field: the id of the submitted form, when a page has several.
FORM_FIELD: t.Final = "_sa_form"
#: Hidden field: ``button`` for :func:`action_button` forms.
KIND_FIELD: t.Final = "_sa_kind"
#: Hidden field: the form's one-time submission key.
KEY_FIELD: t.Final = "_sa_key"
#: Hidden field: the signed arguments bound on the server (``bind=``).
BOUND_FIELD: t.Final = "_sa_bound"
#: Hidden field of the "Try again" form: bring the form back, run nothing.
RETRY_FIELD: t.Final = "_sa_retry"
#: Hidden field: the question an action asks first (``confirm=``), for browsers
#: without JavaScript, which answer it on a page of its own.
CONFIRM_FIELD: t.Final = "_sa_confirm"
#: Hidden field of that page's form: the question was answered yes.
CONFIRMED_FIELD: t.Final = "_sa_confirmed"
#: Request header of a validation check: the names of the fields the user has
#: touched, comma-separated. The form is validated for those; the action never runs.
VALIDATE_HEADER: t.Final = "SA-Validate"
#: Most fields a validation check names; more are not fields of a form we wrote.
MAX_CHECKED_FIELDS: t.Final = 50

#: Fields the toolkit reads itself (besides the CSRF token); each comes once at most.
CONTROL_FIELDS: t.Final = (
    BOUND_FIELD,
    PAGE_FIELD,
    FORM_FIELD,
    KIND_FIELD,
    KEY_FIELD,
    RETRY_FIELD,
    CONFIRM_FIELD,
    CONFIRMED_FIELD,
)

#: Longest form id read back from a request; longer ones are not ids we wrote.
MAX_FORM_ID: t.Final = 200
#: Longest submission key read back; longer ones are not keys we wrote.
MAX_KEY: t.Final = 200

#: Block names of regions start with this, so a page's regions can be listed.
REGION_PREFIX: t.Final = "sa_region__"
#: Block names of action forms start with this.
FORM_PREFIX: t.Final = "sa_form__"

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_NOT_WORD = re.compile(r"\W")
_REGION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def default_form_id(endpoint: str) -> str:
    """``users.create_user`` → ``users-create-user``."""
    return _ID_UNSAFE.sub("-", endpoint.replace(".", "-").replace("_", "-"))


def is_form_id(value: str) -> bool:
    """Whether ``value`` could be an id the toolkit wrote (safe to echo back)."""
    return len(value) <= MAX_FORM_ID and default_form_id(value) == value


def button_id(endpoint: str, bind: t.Mapping[str, t.Any]) -> str:
    """The default id of the button form for ``endpoint`` bound to ``bind``."""
    suffix = "-".join(_ID_UNSAFE.sub("-", str(v)) for v in bind.values())
    base = default_form_id(endpoint)
    return f"{base}-{suffix}" if suffix else base


def form_block_name(form_id: str) -> str:
    """The Jinja block that holds the form with ``form_id``."""
    return FORM_PREFIX + _NOT_WORD.sub("_", form_id)


def region_block_name(name: str) -> str:
    """The Jinja block that holds the region ``name``."""
    return REGION_PREFIX + _NOT_WORD.sub("_", name)


def check_region_name(name: str) -> None:
    """Refuse a region name that cannot be an element id."""
    if not _REGION_NAME.match(name):
        raise ValueError(
            f"Region name {name!r} must start with a letter and use letters,"
            " digits, '-' and '_' only (it becomes the element's id)."
        )
