from __future__ import annotations

import re

from playwright.sync_api import expect

from app.models import User
from app.models import db

from .helpers import same_document
from .helpers import sign_in as sign_in_through_the_form
from .helpers import submit_and_status
from .helpers import unique


def sign_in(page, email):
    sign_in_through_the_form(page, email, "/admin/users")


def test_sign_in_wrong_password_keeps_email(page, js):
    page.goto("/sign-in")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("not the password")
    with same_document(page, js):
        status = submit_and_status(page, "Sign in")
    assert status == 400
    expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account."
    )
    expect(page.get_by_label("Email")).to_have_value("ada@example.com")
    expect(page.get_by_label("Password")).to_have_value("")


def test_admin_page_sends_anonymous_to_sign_in_and_back(page, js):
    page.goto("/admin/users")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("analytical-engine")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.get_by_role("heading", name="Manage users")).to_be_visible()
    expect(page.get_by_text("Welcome back, Ada Lovelace.")).to_be_visible()


def test_member_sees_a_readable_403(page, js):
    sign_in(page, "grace@example.com")
    response = page.goto("/admin/users")
    assert response.status == 403
    expect(
        page.get_by_role("heading", name="You cannot open this page")
    ).to_be_visible()


def test_admin_deletes_a_user(page, js, site):
    name = unique("Temp ")
    with site.app.app_context():
        user = User(name=name, email=f"{name.split()[1]}@example.com")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    sign_in(page, "ada@example.com")
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(".person", has_text=name)
    with same_document(page, js):
        row.get_by_role("button", name="Delete").click()
    if js:
        expect(
            page.get_by_role("status").filter(has_text=f"{name} was deleted.")
        ).to_have_count(0)
    else:
        # No dialog without JavaScript: a page asks, and only "Yes" deletes.
        expect(page.get_by_role("heading", name=f"Delete {name}?")).to_be_visible()
        with site.app.app_context():
            assert db.session.get(User, user_id) is not None
        page.get_by_role("button", name="Yes, go on").click()
    expect(page.locator("#admin-user-list")).not_to_contain_text(name)
    if not js:
        expect(page.get_by_text(f"{name} was deleted.")).to_be_visible()
    with site.app.app_context():
        assert db.session.get(User, user_id) is None


def test_admin_cannot_delete_themselves(page, js):
    sign_in(page, "ada@example.com")
    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(".person", has_text="Ada Lovelace")
    if not js:
        row.get_by_role("button", name="Delete").click()
        page.get_by_role("link", name="No, go back").click()
        expect(page.locator("#admin-user-list")).to_contain_text("Ada Lovelace")
        row.get_by_role("button", name="Delete").click()
    yes = row if js else page
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        yes.get_by_role("button", name="Delete" if js else "Yes, go on").click()
    assert info.value.status == 409
    expect(page.get_by_role("alert")).to_have_text("You cannot delete yourself.")
    expect(page.locator("#admin-user-list")).to_contain_text("Ada Lovelace")


def test_sign_out_leaves_nothing_for_the_next_person(page, js):
    """A shared computer: after sign-out the cart and the visitor's to-dos are gone."""
    page.goto("/todos")
    errand = unique("Errand ")
    page.get_by_label("New to-do").fill(errand)
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#todo-list")).to_contain_text(errand)
    sign_in(page, "grace@example.com")
    page.goto("/products")
    page.locator("#product-results .product").first.get_by_role(
        "button", name="Add to cart"
    ).click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/cart")
    expect(page.locator(".cart-empty")).to_contain_text("Your cart is empty.")
    page.goto("/todos")
    expect(page.locator("#todo-list")).not_to_contain_text(errand)
