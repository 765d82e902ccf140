"""Validators that run on submit only, never while the user types.

A validation check (``field(form.email, validate="change")``) runs a field's
validators as the user types. One that must not run then (it sends a message,
costs money, or would tell a stranger too much) is marked with
:func:`submit_only`; it still runs when the form is submitted::

    email = StringField(validators=[DataRequired(), submit_only(NotBlocked())])

    @submit_only
    def validate_code(form, field): ...
"""

from __future__ import annotations

import typing as t

#: The attribute that marks a validator as submit-only.
SUBMIT_ONLY_ATTRIBUTE: t.Final = "server_actions_submit_only"

_V = t.TypeVar("_V", bound=t.Callable[..., t.Any])


class _SubmitOnly:
    """A validator that only runs on submit (wraps one that cannot take attributes)."""

    server_actions_submit_only = True

    def __init__(self, validator: t.Callable[..., t.Any]) -> None:
        self.validator = validator
        self.field_flags = getattr(validator, "field_flags", {})

    def __call__(self, form: t.Any, field: t.Any) -> t.Any:
        return self.validator(form, field)

    def __repr__(self) -> str:
        return f"submit_only({self.validator!r})"


def submit_only(validator: _V) -> _V:
    """Mark ``validator`` (a WTForms validator or an inline ``validate_<field>``)
    to run when the form is submitted, never in a validation check.

    .. versionadded:: 0.2
    """
    try:
        setattr(validator, SUBMIT_ONLY_ATTRIBUTE, True)
    except (AttributeError, TypeError):  # a bound method, a slotted object
        return t.cast(_V, _SubmitOnly(validator))
    return validator


def is_submit_only(validator: t.Any) -> bool:
    """Whether ``validator`` runs on submit only."""
    return bool(getattr(validator, SUBMIT_ONLY_ATTRIBUTE, False))
