from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import submit_and_status


@pytest.fixture
def two_per_minute(site):
    site.app.config["SITE_CONTACT_RATE_LIMIT"] = "2/minute"
    site.app.extensions["server_actions"].limiter.reset()
    yield
    site.app.config["SITE_CONTACT_RATE_LIMIT"] = "10/minute"
    site.app.extensions["server_actions"].limiter.reset()


def fill(page, text):
    page.get_by_label("Your name").fill("Ann")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Message").fill(text)


def test_contact_rate_limit_answers_in_the_form(page, js, two_per_minute):
    page.goto("/contact")
    for n in range(2):
        fill(page, f"Message number {n} for you.")
        assert submit_and_status(page, "Send message") == (200 if js else 303)
        # Scoped to the form: the page-wide announcer repeats the same text.
        expect(
            page.locator("form")
            .get_by_role("status")
            .filter(has_text="We got your message")
        ).to_be_visible()
    fill(page, "One message too many, sorry.")
    assert submit_and_status(page, "Send message") == 429
    expect(page.get_by_role("alert")).to_contain_text(
        "Too many requests (the limit is 2/minute)"
    )
    expect(page.get_by_label("Message")).to_have_value("One message too many, sorry.")
