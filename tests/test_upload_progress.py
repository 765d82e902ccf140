"""A form that sends files tells the toolkit's script its limit and its words."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page


class PictureForm(FlaskForm):
    picture = FileField("Picture")
    caption = StringField("Caption")


class TitleForm(FlaskForm):
    title = StringField("Title")


@pytest.fixture
def app(app):
    bp = Blueprint("pics", __name__)

    @bp.get("/pics")
    def index():
        return render_page("avatar.html")

    @action(bp, page=index, form=PictureForm, allow=allow.public, max_body="1 MB")
    def upload(form):
        return ActionState.success("Up.")

    @action(bp, page=index, form=TitleForm, allow=allow.public)
    def rename(form):
        return ActionState.success("Renamed.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


def form_tag(page: str, form_id: str) -> str:
    found = re.search(rf'<form id="{form_id}"[^>]*>', page)
    assert found
    return found.group(0)


def test_a_form_with_files_carries_its_limit_and_the_servers_sentence(client):
    page = client.get("/pics").text
    tag = form_tag(page, "pics-upload")
    assert 'data-sa-max-body="1048576"' in tag
    sentence = (
        "What you sent is larger than this form accepts (1 MB), so nothing was"
        " saved. Make it smaller and try again."
    )
    assert f'data-sa-too-large="{sentence}"' in tag
    assert 'data-sa-upload-label="Sending your file"' in tag
    assert 'data-sa-upload-cancel="Cancel"' in tag
    # The server's own 413 says the same: tests/browser/test_forms_help.py.


def test_a_form_of_text_carries_none_of_it(client):
    tag = form_tag(client.get("/pics").text, "pics-rename")
    assert "data-sa-max-body" not in tag


def test_a_file_is_not_checked_while_the_form_is_unless_asked(client):
    page = client.get("/pics").text
    picture = re.search(r'<input[^>]*name="picture"[^>]*>', page)
    caption = re.search(r'<input[^>]*name="caption"[^>]*>', page)
    assert picture
    assert caption
    # Checking a file would upload it each time it changes.
    assert "hx-post" not in picture.group(0)
    assert "data-sa-validate" in caption.group(0)
