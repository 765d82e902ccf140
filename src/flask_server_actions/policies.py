"""Who may call an action: every action says so, or the app refuses to start."""

from __future__ import annotations

import dataclasses
import typing as t

from flask import current_app

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

#: A policy callable: gets the current user and the validated form (or ``None``).
PolicyCheck = t.Callable[[t.Any, "FlaskForm | None"], bool]


@dataclasses.dataclass(frozen=True)
class Policy:
    """An authorization rule attached to an action.

    .. versionadded:: 0.1
    """

    #: How ``flask actions`` shows the rule.
    label: str
    #: The rule itself; ``None`` means anyone may call.
    check: PolicyCheck | None = None
    #: Anonymous callers get 401 (sign in) rather than 403.
    requires_login: bool = False
    #: The rule looks at the validated input, so it runs after validation.
    needs_form: bool = False

    @property
    def is_public(self) -> bool:
        return self.check is None and not self.requires_login


class AnonymousUser:
    """Nobody signed in, for apps without Flask-Login (as its ``AnonymousUserMixin``)."""

    is_authenticated: t.Final = False
    is_active: t.Final = False
    is_anonymous: t.Final = True

    def get_id(self) -> None:
        return None


#: The user of every request of an app without Flask-Login.
ANONYMOUS: t.Final = AnonymousUser()


def current_user() -> t.Any:
    """The signed-in user from Flask-Login, or an anonymous user without it."""
    if getattr(current_app, "login_manager", None) is None:
        return ANONYMOUS
    # Imported by apps that set up Flask-Login only: the others do not carry it.
    from flask_login import current_user as user

    return user._get_current_object()


def _has_role(user: t.Any, roles: tuple[str, ...]) -> bool:
    has_role = getattr(user, "has_role", None)
    if callable(has_role):
        return any(bool(has_role(r)) for r in roles)
    return getattr(user, "role", None) in roles


class _Allow:
    """The namespace of ready-made policies: ``allow.public``, ``allow.signed_in``…"""

    #: Anyone may call the action, signed in or not. Say so on purpose.
    public: t.Final = Policy(label="public")
    #: Any signed-in user may call the action.
    signed_in: t.Final = Policy(label="signed in", requires_login=True)

    @staticmethod
    def role(*roles: str) -> Policy:
        """Signed-in users whose ``role`` (or ``has_role()``) is one of ``roles``."""
        if not roles:
            raise TypeError("allow.role() needs at least one role name.")
        return Policy(
            label="role:" + "|".join(roles),
            check=lambda user, _form: _has_role(user, roles),
            requires_login=True,
        )

    @staticmethod
    def when(check: PolicyCheck, *, label: str | None = None) -> Policy:
        """Any ``check(user, form) -> bool``; it runs after the input is validated."""
        return Policy(
            label=label or str(getattr(check, "__name__", "policy")),
            check=check,
            needs_form=True,
        )


allow: t.Final = _Allow()


def as_policy(value: Policy | PolicyCheck) -> Policy:
    """Accept a :class:`Policy` or a bare ``callable(user, form) -> bool``."""
    if isinstance(value, Policy):
        return value
    if callable(value):
        return allow.when(value)
    raise TypeError(f"allow={value!r} is not a policy or a callable(user, form).")
