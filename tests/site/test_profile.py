from __future__ import annotations

import io

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from app.models import Profile
from app.models import User
from app.models import db
from tests.conftest import csrf_token_from

from .conftest import MEMBER
from .conftest import sign_in

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/profile"}


def image_bytes(fmt="PNG", size=(64, 64), color=(63, 60, 187)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def token(client):
    sign_in(client, *MEMBER)
    return csrf_token_from(client.get("/profile").text)


def upload(client, token, data, filename, headers=None):
    # Encoded in memory: werkzeug's test client spools big bodies to a temporary
    # file it never closes, which the ResourceWarning filter would report.
    boundary, body = encode_multipart(
        MultiDict(
            {
                "csrf_token": token,
                "_sa_page": "/profile",
                "avatar": FileStorage(io.BytesIO(data), filename),
            }
        )
    )
    return client.post(
        "/profile/avatar",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers or {},
    )


def stored_files(app):
    folder = app.instance_path + "/avatars"
    import os

    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def profile_row(app):
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == MEMBER[0]))
        return db.session.get(Profile, user.id)


def test_profile_needs_sign_in(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_profile_shows_initials_without_picture(client, token):
    html = client.get("/profile").text
    assert 'aria-label="No picture yet: your initials, GH"' in html
    assert 'value="Grace Hopper"' in html


def test_update_profile_plain(app, client, token):
    response = client.post(
        "/profile/update",
        data={
            "csrf_token": token,
            "_sa_page": "/profile",
            "name": "Amazing Grace",
            "bio": "  Wrote the first compiler.  ",
        },
    )
    assert response.status_code == 303
    page = client.get("/profile").text
    assert "Your profile is saved." in page
    assert 'value="Amazing Grace"' in page
    assert "Wrote the first compiler.</textarea>" in page
    assert profile_row(app).bio == "Wrote the first compiler."


def test_update_profile_htmx_revalidates_account_name(client, token):
    response = client.post(
        "/profile/update",
        data={
            "csrf_token": token,
            "_sa_page": "/profile",
            "name": "Grace B. Hopper",
            "bio": "",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert 'id="profile-update-profile"' in response.text
    # The header's account name comes back out of band with the new name.
    assert 'id="account-name"' in response.text
    assert "Grace B. Hopper</a>" in response.text


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_update_profile_invalid_keeps_input(app, client, token, headers):
    response = client.post(
        "/profile/update",
        data={
            "csrf_token": token,
            "_sa_page": "/profile",
            "name": "G",
            "bio": "x" * 501,
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert "Field must be between 2 and 100 characters long." in response.text
    assert "Keep your bio to 500 characters." in response.text
    assert 'value="G"' in response.text
    with app.app_context():
        assert (
            db.session.scalar(db.select(User.name).where(User.email == MEMBER[0]))
            == "Grace Hopper"
        )


def test_upload_avatar_stores_and_serves(app, client, token):
    data = image_bytes("PNG")
    response = upload(client, token, data, "me.png")
    assert response.status_code == 303
    files = stored_files(app)
    assert len(files) == 1
    name = files[0]
    assert name.endswith(".png") and name != "me.png"
    row = profile_row(app)
    assert (row.avatar_file, row.avatar_type) == (name, "image/png")
    page = client.get("/profile").text
    assert f'src="/profile/avatars/{name}"' in page
    assert "Your new picture is up." in page
    served = client.get(f"/profile/avatars/{name}")
    assert served.status_code == 200
    assert served.data == data
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline")
    assert "private" in served.headers["Cache-Control"]
    served.close()


def test_upload_avatar_htmx_swaps_preview(app, client, token):
    response = upload(client, token, image_bytes("WEBP"), "me.webp", HTMX)
    assert response.status_code == 200
    name = stored_files(app)[0]
    assert name.endswith(".webp")
    assert f'src="/profile/avatars/{name}"' in response.text
    assert 'hx-encoding="multipart/form-data"' in response.text


def test_replacing_avatar_removes_old_file(app, client, token):
    upload(client, token, image_bytes("PNG"), "one.png")
    first = stored_files(app)
    upload(client, token, image_bytes("JPEG"), "two.jpg")
    second = stored_files(app)
    assert len(first) == len(second) == 1
    assert first != second
    assert second[0].endswith(".jpg")
    assert profile_row(app).avatar_file == second[0]
    assert client.get(f"/profile/avatars/{first[0]}").status_code == 404


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


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
@pytest.mark.parametrize(("data", "filename", "status", "message"), REFUSALS)
def test_bad_upload_is_refused_and_nothing_stored(
    app, client, token, headers, data, filename, status, message
):
    response = upload(client, token, data, filename, headers)
    assert response.status_code == status
    assert message in response.text
    assert stored_files(app) == []
    row = profile_row(app)
    assert row is None or row.avatar_file is None


def test_failed_commit_leaves_no_file(app, client, token):
    upload(client, token, image_bytes("PNG"), "first.png")
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
    response = upload(client, token, image_bytes("GIF"), "second.gif")
    assert response.status_code == 500
    assert "nothing was saved" in response.text
    assert stored_files(app) == before
    assert profile_row(app).avatar_file == before[0]


def test_upload_needs_sign_in(app, client):
    token = csrf_token_from(client.get("/sign-in").text)
    response = upload(client, token, image_bytes(), "me.png", HTMX)
    assert response.status_code == 401
    assert stored_files(app) == []


@pytest.mark.parametrize("name", ["..%2Fsite.db", "site.db", "0" * 32 + ".png", "x"])
def test_avatar_route_serves_only_stored_avatars(client, token, name):
    assert client.get(f"/profile/avatars/{name}").status_code == 404
