from __future__ import annotations

from flask import Blueprint
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

from .forms import CreateUserForm
from .models import User
from .models import db

bp = Blueprint("users", __name__)

#: The role of an account made by anyone but an admin.
DEFAULT_ROLE = "user"


def all_users() -> list[User]:
    return list(db.session.scalars(db.select(User).order_by(User.name)))


@bp.get("/users")
def index() -> str:
    return render_page(
        "users/index.html",
        users=lazy(all_users),
        user_count=lazy(lambda: db.session.scalar(db.select(func.count(User.id)))),
    )


@action(bp, page=index, form=CreateUserForm, allow=allow.public, rule="/users/create")
def create_user(form: CreateUserForm) -> ActionState:
    """The seed's ``createUser``."""
    email = form.email.data
    if db.session.scalar(db.select(User.id).where(User.email == email)) is not None:
        raise ActionError(
            "A user with this email already exists.",
            status=409,
            errors={"email": ["This email is already in use."]},
        )
    # The role field exists for admins only (see CreateUserForm).
    role = form.role.data if form.role is not None else DEFAULT_ROLE
    user = User(name=form.name.data, email=email, role=role)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent request took the email first
        raise ActionError(
            "A user with this email already exists.",
            status=409,
            errors={"email": ["This email is already in use."]},
        ) from exc
    revalidate_tag("users")
    return ActionState.success(
        f"{user.name} was created.", data={"user_id": user.id, "role": user.role}
    )
