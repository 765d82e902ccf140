"""/todos in a real browser: optimistic add, toggle and delete (issue 5).

Every test gets a fresh browser context, so a fresh session and its own list.
With JavaScript, a test-only server delay (``slow``) holds the action in flight
to prove the optimistic item is on screen before the answer, and the test-only
failure switch (``failing``) proves it is taken back when the action fails.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from .helpers import assert_no_axe_violations
from .helpers import same_document
from .helpers import submit_and_status
from .helpers import unique


@pytest.fixture
def failing(site):
    """``failing(True)``: every to-do action fails (its write is rolled back)."""

    def set_failing(on: bool) -> None:
        site.app.config["SITE_TODOS_FAIL_FOR_TESTS"] = on

    yield set_failing
    set_failing(False)


def classes(*names: str) -> re.Pattern[str]:
    """Matches a class attribute that has all of ``names``, in any order."""
    return re.compile("".join(rf"(?=.*\b{re.escape(n)}(\s|$))" for n in names))


def form(page: Page):
    return page.locator("form#todos-add-todo")


def item(page: Page, text: str):
    return page.locator("#todo-items li.todo").filter(has_text=text)


def post_responses(page: Page) -> list[str]:
    """The URLs of POST answers the page receives from now on."""
    seen: list[str] = []
    page.on(
        "response",
        lambda r: seen.append(r.url) if r.request.method == "POST" else None,
    )
    return seen


def add(page: Page, text: str) -> None:
    page.get_by_label("New to-do").fill(text)
    form(page).get_by_role("button", name="Add").click()
    expect(item(page, text)).to_have_count(1)
    expect(item(page, text)).not_to_have_class(classes("sa-optimistic"))


def test_add_a_todo(page, js):
    page.goto("/todos")
    expect(page.locator(".todos__empty")).to_have_text(
        "Nothing to do yet. Add your first to-do on the left."
    )
    expect(page.locator(".todos__empty")).to_be_visible()
    expect(page.locator("#todo-summary")).to_have_text("Nothing yet")
    text = unique("Water the plants ")
    page.get_by_label("New to-do").fill(text)
    with same_document(page, js):
        status = submit_and_status(page, "Add")
    assert status == (200 if js else 303)
    expect(form(page).get_by_role("status")).to_have_text(f"Added “{text}”.")
    expect(page.get_by_label("New to-do")).to_have_value("")
    expect(item(page, text)).to_be_visible()
    expect(page.locator(".todos__empty")).to_be_hidden()
    expect(page.locator("#todo-summary")).to_have_text("0 of 1 done")
    assert_no_axe_violations(page)


def test_add_invalid_keeps_input_and_says_why(page, js):
    page.goto("/todos")
    page.get_by_label("New to-do").fill("   ")
    with same_document(page, js):
        status = submit_and_status(page, "Add")
    assert status == 422
    field = page.get_by_label("New to-do")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(page.locator("#text-error")).to_have_text("Write what there is to do.")
    expect(form(page).get_by_role("alert")).to_have_text(
        "Please correct the errors below."
    )
    expect(page.locator("#todo-items li.todo")).to_have_count(0)
    assert_no_axe_violations(page)


def test_optimistic_item_shows_before_the_answer(page, js, slow):
    page.goto("/todos")
    text = unique("Call the bank ")
    answers = post_responses(page)
    slow(3.0 if js else 0)  # without JavaScript there is no pending UI
    page.get_by_label("New to-do").fill(text)
    button = form(page).locator("[type=submit]")
    button.click()
    if js:
        pending = item(page, text)
        expect(pending).to_have_class(classes("todo--new", "sa-optimistic"))
        assert answers == [], "the optimistic item must show before the answer"
        expect(pending).to_have_attribute("aria-busy", "true")
        expect(pending.locator(".sa-optimistic__note")).to_have_text("Saving…")
        expect(page.get_by_label("New to-do")).to_have_value("")
        expect(button).to_be_disabled()
        expect(button).to_have_accessible_name("Adding…")
        # The server's list replaces it: one item, no longer pending.
        expect(form(page).get_by_role("status")).to_have_text(f"Added “{text}”.")
        expect(item(page, text)).to_have_count(1)
        expect(item(page, text)).not_to_have_attribute("aria-busy", "true")
        expect(item(page, text).get_by_role("button", name="Delete")).to_be_visible()
        expect(page.locator(".sa-optimistic")).to_have_count(0)
    else:
        # Without JavaScript the browser waits for the new page; it has the item.
        expect(form(page).get_by_role("status")).to_have_text(f"Added “{text}”.")
        expect(item(page, text)).to_have_count(1)
    assert len(answers) == 1


def test_optimistic_item_is_rolled_back_on_failure(page, js, slow, failing):
    page.goto("/todos")
    text = unique("Doomed <b>item</b> ")
    slow(2.5 if js else 0)  # without JavaScript there is no pending UI
    failing(True)
    page.get_by_label("New to-do").fill(text)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form(page).locator("[type=submit]").click()
        if js:
            expect(item(page, text)).to_have_attribute("aria-busy", "true")
            # Typed markup is shown as text, never parsed.
            expect(item(page, text).locator("b")).to_have_count(0)
    assert answer.value.status == 500
    # The form's place shows the error boundary with its id; the optimistic
    # item is gone, and "Try again" brings the form back with the text.
    boundary = page.locator("#todos-add-todo.sa-boundary")
    expect(boundary).to_contain_text("nothing was saved")
    expect(boundary.locator("code")).to_have_text(re.compile(r"^[0-9a-f]{8}$"))
    expect(item(page, text)).to_have_count(0)
    expect(page.locator(".sa-optimistic")).to_have_count(0)
    failing(False)
    slow(0)
    boundary.get_by_role("button", name="Try again").click()
    expect(page.get_by_label("New to-do")).to_have_value(text)
    page.goto("/todos")
    expect(item(page, text)).to_have_count(0)


def test_toggle_is_optimistic_and_sticks(page, js, slow):
    page.goto("/todos")
    text = unique("Ship it ")
    add(page, text)
    row = item(page, text)
    toggle = row.get_by_role("button", name="Done")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    slow(2.5 if js else 0)  # without JavaScript there is no pending UI
    toggle.click()
    if js:
        expect(row).to_have_class(classes("sa-optimistic", "todo--done"))
        expect(row).to_have_attribute("aria-busy", "true")
        expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#todo-summary")).to_have_text("1 of 1 done")
    expect(item(page, text)).to_have_class("todo todo--done")
    expect(item(page, text).get_by_role("button", name="Done")).to_have_attribute(
        "aria-pressed", "true"
    )
    if js:
        # The list was replaced; focus is back on the same button, not lost.
        expect(item(page, text).get_by_role("button", name="Done")).to_be_focused()
    # And back.
    slow(0)
    item(page, text).get_by_role("button", name="Done").click()
    expect(page.locator("#todo-summary")).to_have_text("0 of 1 done")
    expect(item(page, text)).to_have_class("todo")
    assert_no_axe_violations(page)


def test_toggle_is_undone_on_failure(page, js, slow, failing):
    page.goto("/todos")
    text = unique("Stays open ")
    add(page, text)
    failing(True)
    row = item(page, text)
    slow(2.5 if js else 0)  # without JavaScript there is no pending UI
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        row.get_by_role("button", name="Done").click()
        if js:
            expect(row).to_have_class(classes("sa-optimistic", "todo--done"))
    assert answer.value.status == 500
    row = item(page, text)
    expect(row).to_have_class("todo")
    expect(row).not_to_have_attribute("aria-busy", "true")
    expect(row.get_by_role("button", name="Done")).to_have_attribute(
        "aria-pressed", "false"
    )
    alert = row.get_by_role("alert") if js else page.get_by_role("alert")
    expect(alert).to_contain_text("Something went wrong")
    expect(page.locator("#todo-summary")).to_have_text("0 of 1 done")


def test_delete_is_optimistic(page, js, slow):
    page.goto("/todos")
    keep, drop = unique("Keep "), unique("Drop ")
    add(page, keep)
    add(page, drop)
    slow(2.5 if js else 0)  # without JavaScript there is no pending UI
    item(page, drop).get_by_role("button", name="Delete").click()
    if js:
        expect(item(page, drop)).to_have_class(
            classes("sa-optimistic", "sa-optimistic--removing")
        )
        expect(item(page, drop).locator(".sa-optimistic__note")).to_have_text(
            "Deleting…"
        )
    expect(item(page, drop)).to_have_count(0)
    expect(item(page, keep)).to_have_count(1)
    if js:
        # Its item is gone, so focus moves to the neighbouring item.
        expect(item(page, keep).get_by_role("button", name="Done")).to_be_focused()
    expect(page.locator("#todo-summary")).to_have_text("0 of 1 done")


def test_delete_is_restored_on_failure(page, js, slow, failing):
    page.goto("/todos")
    text = unique("Survivor ")
    add(page, text)
    failing(True)
    slow(2.5 if js else 0)  # without JavaScript there is no pending UI
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        item(page, text).get_by_role("button", name="Delete").click()
        if js:
            expect(item(page, text)).to_have_class(
                classes("sa-optimistic", "sa-optimistic--removing")
            )
    assert answer.value.status == 500
    expect(item(page, text)).to_have_class("todo")
    expect(item(page, text).locator(".sa-optimistic__note")).to_have_count(0)
    page.goto("/todos")
    expect(item(page, text)).to_have_count(1)


def test_typing_the_next_item_while_saving_is_kept(page, js, slow):
    page.goto("/todos")
    first, second = unique("First "), unique("Second ")
    page.get_by_label("New to-do").fill(first)
    if js:
        slow(2.5)
        form(page).locator("[type=submit]").click()
        expect(item(page, first)).to_have_attribute("aria-busy", "true")
        page.get_by_label("New to-do").fill(second)
        expect(form(page).get_by_role("status")).to_have_text(f"Added “{first}”.")
        # The server's fresh (empty) form did not wipe what was typed meanwhile.
        expect(page.get_by_label("New to-do")).to_have_value(second)
    else:
        form(page).locator("[type=submit]").click()
        expect(form(page).get_by_role("status")).to_have_text(f"Added “{first}”.")
        expect(page.get_by_label("New to-do")).to_have_value("")
    expect(item(page, first)).to_have_count(1)


def test_no_answer_at_all_rolls_back_too(browser, site):
    """The server cannot be reached (JavaScript only: without it the browser
    shows its own error page): the item goes, the text comes back, and the
    submission is kept to be sent later (adding a to-do is offline=True)."""
    context = browser.new_context(base_url=site.url)
    try:
        page = context.new_page()
        page.goto("/todos")
        page.route("**/todos/add", lambda route: route.abort())
        text = unique("Offline ")
        page.get_by_label("New to-do").fill(text)
        form(page).locator("[type=submit]").click()
        expect(form(page).get_by_role("status")).to_have_text(
            "Not sent yet — will send when you are back online."
        )
        expect(item(page, text)).to_have_count(0)
        expect(page.locator(".sa-optimistic")).to_have_count(0)
        expect(page.get_by_label("New to-do")).to_have_value(text)
    finally:
        context.close()
