"""The seed's ``deleteUser``: admins only, never yourself, the list revalidated."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask_login import current_user
from flask_login import login_required

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

from .models import User
from .models import db
from .users import all_users

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@login_required
def users() -> str:
    if current_user.role != "admin":
        abort(403)
    return render_page("admin/users.html", users=lazy(all_users))


@action(
    bp, page=users, allow=allow.role("admin"), bind=("user_id",), rule="/users/delete"
)
def delete_user(user_id: int) -> ActionState:
    if user_id == current_user.id:
        raise ActionError("You cannot delete yourself.", status=409)
    user = db.session.get(User, user_id)
    if user is None:
        raise ActionError("That user no longer exists.", status=404)
    db.session.delete(user)
    revalidate_tag("users")
    return ActionState.success(f"{user.name} was deleted.")
