from __future__ import annotations

from playwright.sync_api import expect

from .helpers import is_check
from .helpers import same_document
from .helpers import sign_in as sign_in_through_the_form
from .helpers import submit_and_status
from .helpers import unique


def sign_in_as_admin(page):
    sign_in_through_the_form(page, "ada@example.com", "/users")


def test_create_user_valid(page, js):
    sign_in_as_admin(page)
    count_before = int(page.locator("#user-count").inner_text())
    requests: list[str] = []
    page.on(
        "request",
        lambda r: None if is_check(r) else requests.append(f"{r.method} {r.url}"),
    )
    name = unique("Ada ")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(f"{name.split()[1]}@example.com")
    page.get_by_label("Role").select_option("admin")
    with same_document(page, js):
        status = submit_and_status(page, "Create user")
    assert status == (200 if js else 303)
    expect(
        page.locator("#users-create-user")
        .get_by_role("status")
        .filter(has_text=f"{name} was created.")
    ).to_be_visible()
    # React's automatic reset: the form comes back empty with the default role.
    expect(page.get_by_label("Name")).to_have_value("")
    expect(page.get_by_label("Email")).to_have_value("")
    expect(page.get_by_label("Role")).to_have_value("user")
    # The list and the count in the header are fresh, from that one POST (htmx)
    # or from the page the redirect led to (no JavaScript).
    expect(page.locator("#user-list")).to_contain_text(name)
    expect(page.locator("#user-count")).to_have_text(str(count_before + 1))
    # Not the stylesheets, scripts and the icon that a page load brings.
    documents = [r for r in requests if not r.endswith((".css", ".js", ".svg", ".ico"))]
    assert documents == (
        [f"POST {page.url.replace('/users', '/users/create')}"]
        if js
        else [f"POST {page.url.replace('/users', '/users/create')}", f"GET {page.url}"]
    )


def test_create_user_invalid_keeps_input_and_shows_errors(page, js):
    page.goto("/users")
    page.get_by_label("Name").fill("A")
    page.get_by_label("Email").fill("not-an-email")
    with same_document(page, js):
        status = submit_and_status(page, "Create user")
    assert status == 422
    expect(page.get_by_label("Name")).to_have_value("A")
    expect(page.get_by_label("Email")).to_have_value("not-an-email")
    expect(page.locator("#name-error")).to_have_text(
        "Field must be between 2 and 100 characters long."
    )
    expect(page.locator("#email-error")).to_contain_text("Enter a valid email address")
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_be_focused()


def test_create_user_pending_state_while_server_is_slow(page, js, slow):
    page.goto("/users")
    name = unique("Slow ")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(f"{name.split()[1]}@example.com")
    slow(1.5)
    button = page.locator("form#users-create-user [type=submit]")
    if js:
        button.click()
        expect(button).to_be_disabled()
        expect(button).to_have_accessible_name("Creating…")
        expect(page.locator("form#users-create-user")).to_have_attribute(
            "aria-busy", "true"
        )
        expect(
            page.locator("#users-create-user")
            .get_by_role("status")
            .filter(has_text="was created")
        ).to_be_visible()
        expect(button).to_be_enabled()
        expect(button).to_have_accessible_name("Create user")
    else:
        # Without JavaScript the browser shows its own progress; the label stays.
        expect(button).to_have_accessible_name("Create user")
        button.click()
        expect(
            page.locator("#users-create-user")
            .get_by_role("status")
            .filter(has_text="was created")
        ).to_be_visible()


def test_create_user_without_csrf_token_is_refused_and_writes_nothing(page, js):
    page.goto("/users")
    name = unique("Csrf ")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(f"{name.split()[1]}@example.com")
    if js:
        # The fields are checked while typed (#17): let those answers land
        # first, or one could bring the session cookie back after it is cleared.
        page.wait_for_timeout(1000)
    # Losing the session cookie is what an expired session looks like.
    page.context.clear_cookies()
    status = submit_and_status(page, "Create user")
    assert status == 400
    expect(page.get_by_role("alert")).to_contain_text("This form had expired")
    expect(page.get_by_label("Name")).to_have_value(name)
    page.goto("/users")
    expect(page.locator("#user-list")).not_to_contain_text(name)


def test_a_visitor_makes_user_accounts_only(page, js):
    """The role is an admin's choice: a visitor is not offered it."""
    page.goto("/users")
    expect(page.get_by_label("Role")).to_have_count(0)
    name = unique("Visitor ")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(f"{name.split()[1]}@example.com")
    with same_document(page, js):
        status = submit_and_status(page, "Create user")
    assert status == (200 if js else 303)
    person = page.locator(".person").filter(has_text=name)
    expect(person.locator(".badge")).to_have_text("user")
    expect(page.get_by_label("Role")).to_have_count(0)
