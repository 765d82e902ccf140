from __future__ import annotations

import typing as t

from flask import has_request_context
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Regexp
from wtforms.validators import ValidationError

from .models import User
from .models import db


def signed_in_admin() -> bool:
    """Whether the current request comes from a signed-in admin."""
    return bool(
        has_request_context()
        and current_user.is_authenticated
        and current_user.role == "admin"
    )


def strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def strip_lower(value: object) -> object:
    """Emails and usernames compare without case or stray spaces."""
    return value.strip().lower() if isinstance(value, str) else value


def email_field(missing: str) -> EmailField:
    """A required, normalised email address; ``missing`` says what to enter."""
    return EmailField(
        "Email",
        validators=[
            InputRequired(missing),
            Length(max=254),
            Email("Enter a valid email address, like name@example.com."),
        ],
        filters=[strip_lower],
    )


class CreateUserForm(FlaskForm):
    """The seed's ``createUserSchema``: name 2–100, a valid email, a role."""

    name = StringField(
        "Name",
        validators=[InputRequired("Enter a name."), Length(min=2, max=100)],
        filters=[strip],
    )
    email = email_field("Enter an email address.")
    role = SelectField(
        "Role",
        choices=[SelectChoice("user", "User"), SelectChoice("admin", "Admin")],
        default="user",
        validate_choice=True,
        description="Only admins see this; anyone else's new accounts are users.",
    )

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if not signed_in_admin():
            # Only an admin chooses a role. For anyone else the field is not
            # there: not shown, and a ``role`` in a crafted post is never read,
            # so the account gets the default role.
            del self.role

    def validate_email(self, field: EmailField) -> None:
        """Taken already? Asked while typing too (the page validates on change);
        the action checks again on submit, for two people taking it at once."""
        taken = db.session.scalar(db.select(User.id).where(User.email == field.data))
        if taken is not None:
            raise ValidationError("This email is already in use.")


class RequestUsernameForm(FlaskForm):
    """The seed's ``requestUsername``: one field, answered available or taken."""

    username = StringField(
        "Username",
        description="3 to 20 characters: lowercase letters, digits and _.",
        validators=[
            InputRequired("Enter the username you would like."),
            Length(min=3, max=20),
            Regexp(
                r"^[a-z0-9_]+$",
                message="Use lowercase letters, digits and _ only.",
            ),
        ],
        filters=[strip_lower],
    )


class SignInForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[InputRequired("Enter your email address."), Length(max=254)],
        filters=[strip_lower],
    )
    password = PasswordField(
        "Password", validators=[InputRequired("Enter your password."), Length(max=200)]
    )
    next = HiddenField(validators=[Length(max=2000)])


class ContactForm(FlaskForm):
    """The seed's ``submitContactForm``, rate limited."""

    name = StringField(
        "Your name",
        validators=[InputRequired("Enter your name."), Length(min=2, max=100)],
        filters=[strip],
    )
    email = email_field("Enter an email address we can answer.")
    message = TextAreaField(
        "Message",
        description="10 to 2000 characters.",
        validators=[InputRequired("Write a message."), Length(min=10, max=2000)],
    )


class TodoForm(FlaskForm):
    """The seed's ``addTodo``: one line of text."""

    text = StringField(
        "New to-do",
        description="Up to 200 characters.",
        validators=[
            # DataRequired, not InputRequired: only spaces is empty too.
            DataRequired("Write what there is to do."),
            Length(
                max=200,
                message="Keep it to %(max)d characters or fewer"
                " (this one has %(length)d).",
            ),
        ],
        filters=[strip],
    )
