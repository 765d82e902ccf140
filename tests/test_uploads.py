from __future__ import annotations

import io

import pytest
from flask import Blueprint
from flask import render_template_string
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions.uploads import ImageUpload
from flask_server_actions.uploads import remove_upload
from flask_server_actions.uploads import send_upload
from flask_server_actions.uploads import sniff_image_type
from flask_server_actions.uploads import store_upload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
GIF = b"GIF89a" + b"\x00" * 24
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16
HTML = b"<!doctype html><script>alert(1)</script>"
FORM = '{% action_form "pics.upload" %}{{ field(form.picture) }}{% endaction_form %}'


class PictureForm(FlaskForm):
    picture = FileField("Picture", validators=[ImageUpload(max_size="1 KB")])


@pytest.fixture
def app(app):
    bp = Blueprint("pics", __name__)

    @bp.get("/pics")
    def index():
        return render_template_string(FORM)

    @action(bp, page=index, form=PictureForm, allow=allow.public)
    def upload(form):
        return ActionState.success(data={"type": form.picture.image_type})

    app.register_blueprint(bp)
    ServerActions(app)
    return app


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (WEBP, "image/webp"),
        (HTML, None),
        (b"RIFF\x10\x00\x00\x00WAVE", None),
        (b"", None),
    ],
)
def test_sniff_image_type(head, expected):
    assert sniff_image_type(head) == expected


def validate(app, filename, data):
    with app.test_request_context(
        "/",
        method="POST",
        data=MultiDict({"picture": FileStorage(io.BytesIO(data), filename)}),
    ):
        form = PictureForm(meta={"csrf": False})
        form.validate()
        return form


def test_image_upload_accepts_real_image(app):
    form = validate(app, "me.png", PNG)
    assert form.errors == {}
    assert form.picture.image_type == "image/png"


def test_image_upload_accepts_name_without_extension(app):
    assert validate(app, "photo", JPEG).picture.image_type == "image/jpeg"


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("page.html", HTML, "That file is not a GIF, JPEG, PNG or WEBP image."),
        ("evil.png", HTML, "That file is not a GIF, JPEG, PNG or WEBP image."),
        ("me.png", JPEG, "That file is named .png but is really a JPEG image."),
        ("me.png", b"", "That file is empty."),
        (
            "big.png",
            PNG + b"\x00" * 1024,
            "That file is 1056 bytes; the limit is 1 KB.",
        ),
    ],
)
def test_image_upload_refuses(app, filename, data, message):
    errors = validate(app, filename, data).errors["picture"]
    assert len(errors) == 1
    assert errors[0].startswith(message)


def test_image_upload_refuses_missing_file(app):
    with app.test_request_context("/", method="POST", data={}):
        form = PictureForm(meta={"csrf": False})
        assert not form.validate()
        assert form.errors["picture"] == ["Choose an image file to upload."]


def test_image_upload_rejects_unknown_type():
    with pytest.raises(ValueError, match=r"Unknown image types: image/bmp\."):
        ImageUpload(["image/bmp"])


def test_action_form_with_file_field_is_multipart(app):
    with app.test_request_context("/"):
        html = render_template_string(FORM)
    assert 'enctype="multipart/form-data"' in html
    assert 'hx-encoding="multipart/form-data"' in html


def test_action_form_multipart_option(app):
    bp = Blueprint("plain", __name__)

    @action(bp, allow=allow.public)
    def ping():
        return None

    app.register_blueprint(bp)
    with app.test_request_context("/"):
        plain = render_template_string(
            '{% action_form "plain.ping" %}{% endaction_form %}'
        )
        multi = render_template_string(
            '{% action_form "plain.ping", multipart=true %}{% endaction_form %}'
        )
    assert "enctype" not in plain
    assert "hx-encoding" not in plain
    assert 'hx-encoding="multipart/form-data"' in multi


def test_upload_action_over_http(app, client):
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/pics").text)
    ok = client.post(
        "/actions/upload",
        data={"csrf_token": token, "picture": (io.BytesIO(GIF), "a.gif")},
        headers={"Accept": "application/json"},
    )
    assert ok.status_code == 200
    assert ok.json["data"] == {"type": "image/gif"}
    bad = client.post(
        "/actions/upload",
        data={"csrf_token": token, "picture": (io.BytesIO(HTML), "a.gif")},
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 422
    assert bad.json["errors"]["picture"] == [
        "That file is not a GIF, JPEG, PNG or WEBP image. Choose an image file."
    ]


def test_store_upload_uses_a_random_name(tmp_path):
    first = store_upload(PNG, tmp_path, "image/png")
    second = store_upload(PNG, tmp_path, "image/png")
    assert first != second
    assert first.endswith(".png")
    assert (tmp_path / first).read_bytes() == PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first, second])


def test_remove_upload_only_removes_stored_names(tmp_path):
    name = store_upload(GIF, tmp_path, "image/gif")
    keep = tmp_path / "keep.txt"
    keep.write_text("not an upload")
    remove_upload(tmp_path, "keep.txt")
    remove_upload(tmp_path, "../keep.txt")
    remove_upload(tmp_path, None)
    assert keep.exists()
    remove_upload(tmp_path, name)
    assert not (tmp_path / name).exists()


def test_send_upload_headers(app, tmp_path):
    name = store_upload(WEBP, tmp_path, "image/webp")
    with app.test_request_context("/"):
        response = send_upload(tmp_path, name, "image/webp")
        response.direct_passthrough = False
        assert response.get_data() == WEBP
        response.close()
    assert response.mimetype == "image/webp"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == f'inline; filename="{name}"'
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.cache_control.private
    assert response.cache_control.max_age == 3600


@pytest.mark.parametrize(
    "name", ["../secret.png", "..%2Fsecret.png", "x.png", "0" * 32 + ".html", ""]
)
def test_send_upload_refuses_other_names(app, tmp_path, name):
    from werkzeug.exceptions import NotFound

    (tmp_path.parent / "secret.png").write_bytes(PNG)
    with app.test_request_context("/"), pytest.raises(NotFound):
        send_upload(tmp_path, name, "image/png")


def test_send_upload_missing_file_is_404(app, tmp_path):
    from werkzeug.exceptions import NotFound

    with app.test_request_context("/"), pytest.raises(NotFound):
        send_upload(tmp_path, "0" * 32 + ".png", "image/png")
