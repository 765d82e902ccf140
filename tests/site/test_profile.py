"""/profile: the profile form and the avatar upload (issue 5)."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from app.models import Profile
from app.models import User
from app.models import db

from .conftest import MEMBER
from .conftest import sign_in


def image_bytes(fmt="PNG", size=(64, 64), color=(63, 60, 187)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def member(client):
    sign_in(client, *MEMBER)
    return client


def update(client, mode="plain", **fields):
    return client.submit("profile.update_profile", mode=mode, **fields)


def upload(client, data, filename, mode="plain"):
    return client.submit(
        "profile.upload_avatar", mode=mode, avatar=(io.BytesIO(data), filename)
    )


def stored_files(app):
    folder = app.instance_path + "/avatars"
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def profile_row(app):
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == MEMBER[0]))
        return db.session.get(Profile, user.id)


def member_name(app):
    with app.app_context():
        return db.session.scalar(db.select(User.name).where(User.email == MEMBER[0]))


def test_profile_needs_sign_in(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_profile_shows_initials_without_picture(member):
    html = member.get("/profile").text
    assert 'aria-label="No picture yet: your initials, GH"' in html
    assert 'value="Grace Hopper"' in html


def test_update_profile_plain_saves_and_trims_the_bio(app, member):
    result = update(member, name="Amazing Grace", bio="  Wrote the first compiler.  ")
    assert result.status == 303
    page = member.get("/profile").text
    assert "Your profile is saved." in page
    assert 'value="Amazing Grace"' in page
    assert "Wrote the first compiler.</textarea>" in page
    assert profile_row(app).bio == "Wrote the first compiler."


def test_update_profile_htmx_revalidates_account_name(member):
    result = update(member, mode="htmx", name="Grace B. Hopper", bio="")
    assert result.status == 200
    assert result.fragment.startswith('<form id="profile-update-profile"')
    # The header's account name comes back out of band with the new name.
    assert "Grace B. Hopper</a>" in result.regions["account-name"]


@pytest.mark.parametrize("mode", ["plain", "htmx"])
def test_update_profile_invalid_keeps_input_and_writes_nothing(app, member, mode):
    result = update(member, mode=mode, name="G", bio="x" * 501)
    assert result.status == 422
    assert result.errors["name"] == ["Field must be between 2 and 100 characters long."]
    assert "Keep your bio to 500 characters." in result.text
    assert 'value="G"' in result.text
    assert member_name(app) == "Grace Hopper"


def test_upload_avatar_stores_it_under_a_new_name(app, member):
    result = upload(member, image_bytes("PNG"), "me.png")
    assert result.status == 303
    (name,) = stored_files(app)
    assert name.endswith(".png")
    assert name != "me.png"
    row = profile_row(app)
    assert (row.avatar_file, row.avatar_type) == (name, "image/png")
    page = member.get("/profile").text
    assert f'src="/profile/avatars/{name}"' in page
    assert "Your new picture is up." in page


def test_uploaded_avatar_is_served_inline_and_privately(app, member):
    data = image_bytes("PNG")
    upload(member, data, "me.png")
    (name,) = stored_files(app)
    served = member.get(f"/profile/avatars/{name}")
    assert served.status_code == 200
    assert served.data == data
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline")
    assert "private" in served.headers["Cache-Control"]
    served.close()


def test_upload_avatar_htmx_swaps_preview(app, member):
    result = upload(member, image_bytes("WEBP"), "me.webp", mode="htmx")
    assert result.status == 200
    name = stored_files(app)[0]
    assert name.endswith(".webp")
    assert f'src="/profile/avatars/{name}"' in result.text
    assert 'hx-encoding="multipart/form-data"' in result.text


def test_replacing_avatar_removes_old_file(app, member):
    upload(member, image_bytes("PNG"), "one.png")
    first = stored_files(app)
    upload(member, image_bytes("JPEG"), "two.jpg")
    second = stored_files(app)
    assert len(first) == len(second) == 1
    assert first != second
    assert second[0].endswith(".jpg")
    assert profile_row(app).avatar_file == second[0]
    assert member.get(f"/profile/avatars/{first[0]}").status_code == 404


HTML_PAGE = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
REFUSALS = [
    pytest.param(
        b"just some text\n",
        "notes.txt",
        422,
        "is not a GIF, JPEG, PNG or WEBP image",
        id="wrong-type",
    ),
    pytest.param(
        HTML_PAGE,
        "avatar.png",
        422,
        "is not a GIF, JPEG, PNG or WEBP image",
        id="html-named-png",
    ),
    pytest.param(
        image_bytes("JPEG"),
        "avatar.png",
        422,
        "is named .png but is really a JPEG image",
        id="jpeg-named-png",
    ),
    pytest.param(b"", "empty.png", 422, "That file is empty.", id="empty"),
    pytest.param(
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        "broken.png",
        422,
        "could not be read",
        id="damaged",
    ),
    pytest.param(
        image_bytes("PNG", size=(5000, 8)),
        "wide.png",
        422,
        "the limit is 4096 × 4096",
        id="too-many-pixels",
    ),
    pytest.param(
        b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024),
        "big.png",
        422,
        "the limit is 2 MB",
        id="over-file-limit",
    ),
    pytest.param(
        b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024),
        "huge.png",
        413,
        "larger than this form accepts (3 MB)",
        id="over-body-limit",
    ),
]


@pytest.mark.parametrize("mode", ["plain", "htmx"])
@pytest.mark.parametrize(("data", "filename", "status", "message"), REFUSALS)
def test_bad_upload_is_refused_and_nothing_stored(
    app, member, mode, data, filename, status, message
):
    result = upload(member, data, filename, mode=mode)
    assert result.status == status
    assert message in result.text
    assert stored_files(app) == []
    row = profile_row(app)
    assert row is None or row.avatar_file is None


def test_failed_commit_leaves_no_file(app, member):
    upload(member, image_bytes("PNG"), "first.png")
    before = stored_files(app)
    with app.app_context():
        # A real database refusal at commit time (no mocks): the row cannot change.
        db.session.execute(
            db.text(
                "CREATE TRIGGER no_avatar BEFORE UPDATE ON profiles"
                " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
        db.session.commit()
    result = upload(member, image_bytes("GIF"), "second.gif")
    assert result.status == 500
    assert "nothing was saved" in result.text
    assert stored_files(app) == before
    assert profile_row(app).avatar_file == before[0]


def test_upload_needs_sign_in(app, client):
    result = upload(client, image_bytes(), "me.png", mode="htmx")
    assert result.status == 401
    assert stored_files(app) == []


@pytest.mark.parametrize("name", ["..%2Fsite.db", "site.db", "0" * 32 + ".png", "x"])
def test_avatar_route_serves_only_stored_avatars(member, name):
    assert member.get(f"/profile/avatars/{name}").status_code == 404
