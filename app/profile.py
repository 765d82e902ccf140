"""The seed's composed actions: ``updateProfile`` and ``uploadAvatar`` in one module.

Both need a signed-in user and both revalidate what shows the user: the form's
own page, and the account name in the header (tag ``account``).

An avatar is checked by what it is, not what it claims: the toolkit's
:class:`~flask_server_actions.uploads.ImageUpload` sniffs its magic bytes and
refuses lying names, empty and oversized files; Pillow then decodes it and bounds
its dimensions. It is stored under ``instance/avatars/`` with a random name and
served back by :func:`avatar` with safe headers.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from PIL import Image
from PIL import UnidentifiedImageError
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import InputRequired
from wtforms.validators import Length

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag
from flask_server_actions.uploads import ImageUpload
from flask_server_actions.uploads import remove_upload
from flask_server_actions.uploads import send_upload
from flask_server_actions.uploads import store_upload

from .forms import strip
from .models import Profile
from .models import User
from .models import db

bp = Blueprint("profile", __name__)
logger = logging.getLogger(__name__)

#: Largest avatar file; the request body may be a little larger (multipart).
AVATAR_MAX_SIZE = "2 MB"
#: Largest width and height in pixels: bigger images cost memory to decode.
AVATAR_MAX_SIDE = 4096


class ProfileForm(FlaskForm):
    """The seed's ``updateProfile``: a display name and a short bio."""

    name = StringField(
        "Display name",
        validators=[InputRequired("Enter a display name."), Length(min=2, max=100)],
        filters=[strip],
    )
    bio = TextAreaField(
        "Bio",
        description="Up to 500 characters. Optional.",
        validators=[Length(max=500, message="Keep your bio to 500 characters.")],
        filters=[strip],
    )


class AvatarForm(FlaskForm):
    """The seed's ``uploadAvatar``: one image file."""

    avatar = FileField(
        "Image file",
        description="PNG, JPEG, WebP or GIF, up to 2 MB and 4096 × 4096 pixels.",
        validators=[ImageUpload(max_size=AVATAR_MAX_SIZE)],
        render_kw={"accept": "image/png,image/jpeg,image/webp,image/gif"},
    )


def avatar_folder() -> Path:
    return Path(current_app.instance_path) / "avatars"


def profile_of(user: User) -> Profile:
    found = db.session.get(Profile, user.id)
    if found is None:
        found = Profile(user_id=user.id, bio="")
        db.session.add(found)
    return found


def initials(name: str) -> str:
    return "".join(part[0] for part in name.split()[:2]).upper() or "?"


@bp.get("/profile")
@login_required
def index() -> str:
    user = db.session.get(User, current_user.id)
    assert user is not None
    profile = db.session.get(Profile, user.id)
    avatar_url = (
        url_for("profile.avatar", name=profile.avatar_file)
        if profile is not None and profile.avatar_file
        else None
    )
    return render_page(
        "profile/index.html",
        user=user,
        bio=profile.bio if profile is not None else "",
        avatar_url=avatar_url,
        initials=initials(user.name),
        prefill=_fill_profile_form,
    )


def _fill_profile_form(form: ProfileForm) -> None:
    """Show the saved values in a fresh form (not after a submission)."""
    if form.name.data is None:
        form.name.data = current_user.name
        profile = db.session.get(Profile, current_user.id)
        form.bio.data = profile.bio if profile is not None else ""


@action(
    bp,
    page=index,
    form=ProfileForm,
    allow=allow.signed_in,
    rule="/profile/update",
    reset=False,
    max_body="16 KB",
)
def update_profile(form: ProfileForm) -> ActionState:
    user = db.session.get(User, current_user.id)
    assert user is not None
    user.name = form.name.data
    profile_of(user).bio = form.bio.data or ""
    revalidate_tag("account")
    return ActionState.success("Your profile is saved.")


def _check_dimensions(data: bytes) -> None:
    """Decode the image with Pillow: a real, whole image of a sensible size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width > AVATAR_MAX_SIDE or height > AVATAR_MAX_SIDE:
                    raise ActionError(
                        f"That image is {width} × {height} pixels; the limit is"
                        f" {AVATAR_MAX_SIDE} × {AVATAR_MAX_SIDE}.",
                        status=422,
                        errors={"avatar": ["Choose a smaller image."]},
                    )
                image.verify()
    except ActionError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise ActionError(
            "That image could not be read; it may be damaged.",
            status=422,
            errors={"avatar": ["Choose another image file."]},
        ) from exc


@action(
    bp,
    page=index,
    form=AvatarForm,
    allow=allow.signed_in,
    rule="/profile/avatar",
    max_body="3 MB",
)
def upload_avatar(form: AvatarForm) -> ActionState:
    upload = form.avatar.data
    data = upload.read()
    _check_dimensions(data)
    content_type: str = form.avatar.image_type
    user = db.session.get(User, current_user.id)
    assert user is not None
    profile = profile_of(user)
    old_file = profile.avatar_file
    folder = avatar_folder()
    # File first, then the row: if the commit fails the new file goes, so no
    # file is left without a row and no row points at a missing file.
    new_file = store_upload(data, folder, content_type)
    try:
        profile.avatar_file = new_file
        profile.avatar_type = content_type
        db.session.commit()
    except BaseException:
        db.session.rollback()
        remove_upload(folder, new_file)
        raise
    # Only once the row names the new file is the old one unused.
    remove_upload(folder, old_file)
    revalidate_tag("account")
    return ActionState.success(
        "Your new picture is up.",
        data={"avatar_url": url_for("profile.avatar", name=new_file)},
    )


@bp.get("/profile/avatars/<name>")
@login_required
def avatar(name: str) -> ResponseReturnValue:
    """A stored avatar, served with the type sniffed on upload."""
    profile = db.session.scalar(db.select(Profile).where(Profile.avatar_file == name))
    if profile is None or profile.avatar_type is None:
        abort(404)
    return send_upload(avatar_folder(), name, profile.avatar_type)
