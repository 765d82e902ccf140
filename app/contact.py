"""The seed's rate-limited ``submitContactForm``: 10 messages a minute per sender."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app

from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import error_template
from flask_server_actions import render_page

from .forms import ContactForm
from .models import ContactMessage
from .models import db

bp = Blueprint("contact", __name__)
# The seeds' error.tsx: this page's own words when sending fails unexpectedly.
error_template(bp, "contact/error.html")


@bp.get("/contact")
def index() -> str:
    return render_page(
        "contact.html", limit=current_app.config["SITE_CONTACT_RATE_LIMIT"]
    )


@action(
    bp,
    page=index,
    form=ContactForm,
    allow=allow.public,
    rule="/contact/send",
    max_body="16 KB",
    rate_limit=lambda: str(current_app.config["SITE_CONTACT_RATE_LIMIT"]),
    # A message means the same whenever it arrives: kept while offline.
    offline=True,
)
def send_message(form: ContactForm) -> ActionState:
    db.session.add(
        ContactMessage(
            name=form.name.data, email=form.email.data, message=form.message.data
        )
    )
    return ActionState.success(f"Thanks, {form.name.data}. We got your message.")
