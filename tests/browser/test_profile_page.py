from __future__ import annotations

import os

import pytest
from PIL import Image
from playwright.sync_api import expect

from app.models import Profile
from app.models import User
from app.models import db
from flask_server_actions.uploads import remove_upload

from .helpers import assert_no_axe_violations
from .helpers import same_document
from .helpers import sign_in as sign_in_through_the_form
from .helpers import submit_and_status

EMAIL, PASSWORD, NAME = "grace@example.com", "compiler-1952", "Grace Hopper"


def sign_in(page):
    sign_in_through_the_form(page, EMAIL, "/profile")


@pytest.fixture
def grace(site, page):
    """Signed in as Grace; her name and picture are put back afterwards."""
    sign_in(page)
    yield page
    with site.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        user.name = NAME
        profile = db.session.get(Profile, user.id)
        if profile is not None:
            remove_upload(
                os.path.join(site.app.instance_path, "avatars"), profile.avatar_file
            )
            db.session.delete(profile)
        db.session.commit()


@pytest.fixture
def files(site, tmp_path):
    """Image and not-image files to upload, and the avatars folder's listing."""
    png = tmp_path / "portrait.png"
    Image.new("RGB", (120, 120), (63, 60, 187)).save(png)
    jpeg = tmp_path / "holiday.png"  # a JPEG that says it is a PNG
    Image.new("RGB", (40, 40), (200, 90, 20)).save(jpeg, "JPEG")
    html = tmp_path / "avatar.png"
    html.write_text("<!doctype html><script>alert(document.cookie)</script>")
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 10))
    folder = os.path.join(site.app.instance_path, "avatars")

    def stored():
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

    return {"png": png, "jpeg": jpeg, "html": html, "big": big, "stored": stored}


def avatar_form(page):
    return page.locator("form#profile-upload-avatar")


def test_update_profile_changes_name_everywhere(grace, js):
    page = grace
    page.get_by_label("Display name").fill("Rear Admiral Grace Hopper")
    page.get_by_label("Bio").fill("Invented the compiler.")
    with same_document(page, js):
        assert submit_and_status(page, "Save profile") == (200 if js else 303)
    form = page.locator("form#profile-update-profile")
    expect(form.get_by_role("status")).to_have_text("Your profile is saved.")
    expect(page.get_by_label("Display name")).to_have_value("Rear Admiral Grace Hopper")
    expect(page.get_by_label("Bio")).to_have_value("Invented the compiler.")
    # The header's account name was revalidated with the action.
    expect(page.locator(".site-header .account__name")).to_have_text(
        "Rear Admiral Grace Hopper"
    )


def test_update_profile_invalid_keeps_input(grace, js):
    page = grace
    page.get_by_label("Display name").fill("G")
    page.get_by_label("Bio").fill("Still here.")
    assert submit_and_status(page, "Save profile") == 422
    expect(page.locator("#name-error")).to_contain_text("between 2 and 100")
    expect(page.get_by_label("Display name")).to_be_focused()
    expect(page.get_by_label("Bio")).to_have_value("Still here.")
    expect(page.locator(".site-header .account__name")).to_have_text(NAME)


def test_upload_and_replace_picture(grace, js, files):
    page = grace
    form = avatar_form(page)
    expect(
        form.get_by_role("img", name="No picture yet: your initials, GH")
    ).to_be_visible()
    page.get_by_label("Image file").set_input_files(files["png"])
    with same_document(page, js):
        assert submit_and_status(page, "Upload picture") == (200 if js else 303)
    expect(form.get_by_role("status")).to_have_text("Your new picture is up.")
    picture = form.get_by_role("img", name="Your current picture")
    expect(picture).to_be_visible()
    # The image really loaded (the browser decoded what the server sent back).
    if js:
        expect(picture).to_have_js_property("naturalWidth", 120)
    first = files["stored"]()
    assert len(first) == 1
    page.get_by_label("Image file").set_input_files(files["png"])
    assert submit_and_status(page, "Upload picture") == (200 if js else 303)
    expect(form.get_by_role("status")).to_have_text("Your new picture is up.")
    second = files["stored"]()
    assert len(second) == 1
    assert second != first  # the old file is gone


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("html", "That file is not a GIF, JPEG, PNG or WEBP image."),
        ("jpeg", "That file is named .png but is really a JPEG image."),
        ("big", "the limit is 2 MB"),
    ],
)
def test_bad_upload_is_refused_in_the_form(grace, js, files, kind, message):
    page = grace
    before = files["stored"]()
    page.get_by_label("Image file").set_input_files(files[kind])
    with same_document(page, js):
        assert submit_and_status(page, "Upload picture") == 422
    form = avatar_form(page)
    expect(form.get_by_role("alert")).to_have_text("Please correct the errors below.")
    expect(form.locator("#avatar-error")).to_contain_text(message)
    expect(page.get_by_label("Image file")).to_have_attribute("aria-invalid", "true")
    expect(
        form.get_by_role("img", name="No picture yet: your initials, GH")
    ).to_be_visible()
    assert files["stored"]() == before


def test_upload_pending_state(grace, js, files, slow):
    page = grace
    page.get_by_label("Image file").set_input_files(files["png"])
    button = avatar_form(page).locator("[type=submit]")
    slow(1.5)
    if js:
        button.click()
        expect(button).to_be_disabled()
        expect(button).to_have_accessible_name("Uploading…")
        expect(avatar_form(page).get_by_role("status")).to_have_text(
            "Your new picture is up."
        )
        expect(button).to_be_enabled()
        expect(button).to_have_accessible_name("Upload picture")
    else:
        # Without JavaScript the browser shows its own progress; the label stays.
        expect(button).to_have_accessible_name("Upload picture")
        button.click()
        expect(avatar_form(page).get_by_role("status")).to_have_text(
            "Your new picture is up."
        )


def test_profile_page_has_no_axe_violations(grace, js):
    assert_no_axe_violations(grace)
