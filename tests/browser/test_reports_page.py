from __future__ import annotations

import dataclasses
import re
import threading

import pytest
from playwright.sync_api import expect

from flask_server_actions.streaming import stream_closed

from .helpers import assert_no_axe_violations
from .helpers import sign_in as sign_in_through_the_form


def sign_in(page):
    sign_in_through_the_form(page, "grace@example.com", "/reports")


@pytest.fixture
def report_knobs(site):
    """A short per-month delay, and a gate that holds the last month back."""
    hold = threading.Event()
    site.app.config["SITE_REPORT_SECTION_DELAY"] = 0.05
    site.app.config["TEST_REPORT_HOLD_LAST"] = hold
    yield site.app.config
    hold.set()
    site.app.config["TEST_REPORT_HOLD_LAST"] = None
    site.app.config["SITE_REPORT_SECTION_DELAY"] = 0.25


@pytest.fixture
def stream_ends(site):
    """Records every report stream that ends while the test runs."""
    ended = threading.Event()
    seen: list[dict] = []

    def record(sender, produced, complete):
        seen.append({"produced": produced, "complete": complete})
        ended.set()

    with stream_closed.connected_to(record, site.app):
        yield ended, seen


def report_area(page, js):
    return page.locator("#report-live" if js else ".report")


def test_report_shows_months_before_the_last_is_made(page, js, report_knobs):
    sign_in(page)
    page.get_by_label("Region").select_option("North")
    page.get_by_role("button", name="Generate report").click()
    area = report_area(page, js)
    # The last month is held back on the server: what shows came while streaming.
    expect(area.get_by_role("heading", name="January 2026")).to_be_visible()
    expect(area.get_by_role("heading", name="November 2026")).to_be_visible()
    progress = area.locator(".run-progress").filter(visible=True)
    expect(progress.locator(".run-progress__text")).to_have_text("11 of 12 months")
    expect(
        progress.get_by_role("progressbar", name="Report progress")
    ).to_have_attribute("value", "11")
    expect(area.get_by_role("heading", name="December 2026")).to_have_count(0)
    expect(page.get_by_text("Year total:")).to_have_count(0)

    report_knobs["TEST_REPORT_HOLD_LAST"].set()
    expect(area.get_by_role("heading", name="December 2026")).to_be_visible()
    expect(area.locator(".run-progress__text").filter(visible=True)).to_have_text(
        "Done: 12 of 12 months"
    )
    expect(page.get_by_text("Year total:")).to_be_visible()
    if js:
        expect(page).to_have_url(re.compile(r"/reports$"))
        expect(
            page.locator("form#reports-generate-report").get_by_role("status")
        ).to_have_text("The 2026 report is coming in below.")
    else:
        expect(page).to_have_url(re.compile(r"/reports/run\?year=2026&region=north$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Sales report, 2026")


def test_report_pending_state(page, js, slow, report_knobs):
    report_knobs["TEST_REPORT_HOLD_LAST"].set()
    sign_in(page)
    button = page.locator("form#reports-generate-report [type=submit]")
    slow(1.5)
    if js:
        button.click()
        expect(button).to_be_disabled()
        expect(button).to_have_accessible_name("Starting…")
        expect(button).to_have_accessible_name("Generate report")
    else:
        expect(button).to_have_accessible_name("Generate report")
        button.click()
    expect(page.get_by_text("Done: 12 of 12 months")).to_be_visible()


def test_leaving_the_page_stops_the_report(page, js, site, report_knobs, stream_ends):
    ended, seen = stream_ends
    site.app.config["SITE_REPORT_SECTION_DELAY"] = 0.3
    sign_in(page)
    page.get_by_role("button", name="Generate report").click()
    expect(
        report_area(page, js).get_by_role("heading", name="January 2026")
    ).to_be_visible()
    page.close()
    # The last month is held back, so only a client that went away ends it early.
    assert ended.wait(20), "the server kept working after the page closed"
    assert seen[-1]["complete"] is False
    assert seen[-1]["produced"] < 12


def test_report_page_has_no_axe_violations(page, js, report_knobs):
    report_knobs["TEST_REPORT_HOLD_LAST"].set()
    sign_in(page)
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Generate report").click()
    expect(page.get_by_text("Done: 12 of 12 months")).to_be_visible()
    assert_no_axe_violations(page)


BUSY = (
    "You already have 2 streams open, the most at once. Wait for one to finish"
    " (or close its page), then try again."
)


def open_held_report(context):
    """Another tab streaming a report, held at its last month."""
    other = context.new_page()
    other.goto("/reports/run?year=2026&region=all", wait_until="commit")
    expect(other.get_by_role("heading", name="November 2026")).to_be_visible()
    return other


def test_a_third_report_at_once_is_refused_in_the_form(page, js, report_knobs):
    sign_in(page)
    others = [open_held_report(page.context) for _ in range(2)]
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.get_by_role("button", name="Generate report").click()
    assert info.value.status == 429
    form = page.locator("form#reports-generate-report")
    expect(form.get_by_role("alert")).to_have_text(BUSY)
    expect(page.locator("#report-live")).to_have_count(0)
    assert_no_axe_violations(page)
    # Once those finish, a report starts again.
    report_knobs["TEST_REPORT_HOLD_LAST"].set()
    for other in others:
        expect(other.get_by_text("Year total:")).to_be_visible()
        other.close()
    page.get_by_role("button", name="Generate report").click()
    expect(page.get_by_text("Year total:")).to_be_visible()


@pytest.fixture
def one_stream_per_process(site):
    # The settings are read once when the site starts; this shared server is
    # given other ones for the test, then its own back.
    state = site.app.extensions["server_actions"]
    started_with = state.settings
    state.settings = dataclasses.replace(started_with, streams_per_process=1)
    yield
    state.settings = started_with


def test_a_full_server_says_so_where_the_report_would_be(
    browser, site, page, js, report_knobs, one_stream_per_process
):
    admin = browser.new_context(base_url=site.url)
    try:
        tab = admin.new_page()
        tab.goto("/sign-in?next=/reports")
        tab.get_by_label("Email").fill("ada@example.com")
        tab.get_by_label("Password").fill("analytical-engine")
        tab.get_by_role("button", name="Sign in").click()
        tab.wait_for_url(re.compile(r"^https?://[^/]+/reports$"))
        open_held_report(admin)
        sign_in(page)
        page.get_by_role("button", name="Generate report").click()
        message = "The server is busy with other streams right now."
        if js:
            live = page.locator("#report-live")
            expect(live.get_by_role("alert")).to_contain_text(message)
        else:
            expect(
                page.get_by_role("heading", name="Too many reports at once")
            ).to_be_visible()
            expect(page.get_by_text(message)).to_be_visible()
            expect(page.get_by_role("link", name="Back to reports")).to_be_visible()
        assert_no_axe_violations(page)
    finally:
        report_knobs["TEST_REPORT_HOLD_LAST"].set()
        admin.close()
