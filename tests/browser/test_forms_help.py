"""Forms that help: validation while typing, upload progress, an offline outbox."""

from __future__ import annotations

import os
import re
import time

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func

from app.models import ContactMessage
from app.models import Profile
from app.models import Todo
from app.models import User
from app.models import db
from flask_server_actions.uploads import remove_upload

from .helpers import assert_no_axe_violations
from .helpers import focused_id
from .helpers import is_check
from .helpers import scripts_settled
from .helpers import sign_in as sign_in_through_the_form
from .helpers import submit_and_status
from .helpers import unique
from .test_profile_page import EMAIL as GRACE
from .test_profile_page import sign_in


@pytest.fixture
def files_stored(site):
    folder = os.path.join(site.app.instance_path, "avatars")
    return lambda: sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def count_users(site) -> int:
    with site.app.app_context():
        return int(db.session.scalar(db.select(func.count(User.id))))


# -- 1. validation while typing ------------------------------------------------------


def test_a_field_error_appears_while_typing_and_nothing_is_written(page, js, site):
    page.goto("/users")
    before = count_users(site)
    checks: list[float] = []
    page.on(
        "request", lambda r: checks.append(time.monotonic()) if is_check(r) else None
    )
    email = page.get_by_label("Email")
    page.get_by_label("Name").fill("Ann Lee")
    email.click()  # the name changed: it is checked as it loses focus
    page.wait_for_timeout(700)
    checks.clear()
    email.press_sequentially("not-an-email", delay=20)
    error = page.locator("#email-error")
    if not js:
        # Without JavaScript nothing is asked until the form is submitted.
        page.wait_for_timeout(800)
        assert checks == []
        expect(error).to_have_count(0)
        assert submit_and_status(page, "Create user") == 422
        expect(error).to_contain_text("Enter a valid email address")
        return
    expect(error).to_have_text("Enter a valid email address, like name@example.com.")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", "email-error")
    expect(page.locator(".sa-field--invalid")).to_have_count(1)
    # Debounced: one check for the whole word (two if the machine stalled
    # mid-word), never one per keystroke.
    assert 1 <= len(checks) <= 2, checks
    # Focus never moved, and the field kept what was typed.
    assert focused_id(page) == "email"
    expect(email).to_have_value("not-an-email")
    # Announced politely, once.
    expect(page.locator("#sa-announcer")).to_have_text(
        "Enter a valid email address, like name@example.com."
    )
    assert_no_axe_violations(page)
    # A database rule runs too: an address that is taken.
    email.fill("")
    email.press_sequentially("ada@example.com", delay=20)
    expect(error).to_have_text("This email is already in use.")
    # Fixed: the error goes, and so do aria-invalid and the reference to it.
    fresh = unique("ann-") + "@example.com"
    email.fill(fresh)
    expect(error).to_have_count(0)
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(email).not_to_have_attribute("aria-describedby", "email-error")
    assert count_users(site) == before
    # How long a check takes, typed to shown (the note quotes it).
    answered = page.evaluate(
        """() => performance.getEntriesByType("resource")
              .filter(e => e.initiatorType === "fetch" && e.name.endsWith("/users/create"))
              .map(e => [e.duration, e.transferSize - e.encodedBodySize, e.encodedBodySize])"""
    )
    print(
        "checks (ms, header bytes, body bytes):",
        [(round(d, 1), h, b) for d, h, b in answered],
    )
    # No key was claimed by the checks: the submit is applied, not replayed.
    with page.expect_response(
        lambda r: r.request.method == "POST" and not is_check(r.request)
    ) as info:
        page.get_by_role("button", name="Create user").click()
    assert info.value.status == 200
    assert "x-submission-replayed" not in info.value.headers
    expect(page.locator("#user-list")).to_contain_text("Ann Lee")
    assert count_users(site) == before + 1


def test_a_stale_check_never_lands(page, js, slow):
    if not js:
        return
    page.goto("/contact")
    message = page.get_by_label("Message")
    # The first check is slow; the second (the text is long enough now) is not.
    slow(1.0)
    message.press_sequentially("short", delay=10)
    page.wait_for_timeout(600)
    slow(0.0)
    message.press_sequentially(" but now long enough", delay=10)
    page.wait_for_timeout(1500)
    expect(page.locator("#message-error")).to_have_count(0)
    expect(message).not_to_have_attribute("aria-invalid", "true")


# -- 2. upload progress ----------------------------------------------------------------

#: Record every value the page's upload progress bar takes, with when.
WATCH_PROGRESS = """() => {
  window.__progress = [];
  new MutationObserver((records) => {
    for (const r of records) {
      const bar = r.target.matches && r.target.matches(".sa-upload progress")
        ? r.target : document.querySelector(".sa-upload progress");
      if (bar) window.__progress.push([performance.now(), bar.value]);
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ["value"]});
}"""


@pytest.fixture
def grace(site, page):
    """Signed in as Grace on /profile; her picture is put back afterwards."""
    sign_in(page)
    yield page
    with site.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == GRACE))
        profile = db.session.get(Profile, user.id)
        if profile is not None:
            remove_upload(
                os.path.join(site.app.instance_path, "avatars"), profile.avatar_file
            )
            db.session.delete(profile)
        db.session.commit()


def throttle(page, bytes_per_second: int) -> None:
    """Slow the page's uploads down (Chromium's own network emulation)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 20,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


@pytest.fixture
def photo(tmp_path):
    """A real image of almost 2 MB (the avatar limit): noise does not compress."""
    path = tmp_path / "noise.png"
    side = 790
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(path)
    assert 1.7 * 2**20 < path.stat().st_size < 2 * 2**20
    return path


def test_a_multi_mb_upload_shows_its_progress(grace, js, photo):
    page = grace
    form = page.locator("form#profile-upload-avatar")
    page.get_by_label("Image file").set_input_files(photo)
    if not js:
        assert submit_and_status(page, "Upload picture") == 303
        expect(form.get_by_role("status")).to_have_text("Your new picture is up.")
        return
    page.evaluate(WATCH_PROGRESS)
    throttle(page, 1_000_000)  # about 2 seconds for the photo
    started = time.monotonic()
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.get_by_role("button", name="Upload picture").click()
        bar = page.get_by_label("Sending your file")
        expect(bar).to_be_visible()
        expect(form.get_by_role("button", name="Cancel")).to_be_visible()
    assert info.value.status == 200
    elapsed = time.monotonic() - started
    expect(form.get_by_role("status")).to_have_text("Your new picture is up.")
    expect(page.locator(".sa-upload")).to_have_count(0)
    seen = page.evaluate("window.__progress")
    values = [v for _, v in seen]
    assert values == sorted(values), "progress never goes back"
    assert any(0 < v < 100 for v in values), values
    assert values[-1] == 100
    # Updates per second while the bar moves (first value above 0 to 100).
    # (One record per change of value; the text beside it changes with it.)
    moving = [
        t for i, (t, v) in enumerate(seen) if v > 0 and (i == 0 or seen[i - 1][1] != v)
    ]
    span = (moving[-1] - moving[0]) / 1000 if len(moving) > 1 else 0
    rate = (len(moving) - 1) / span if span else 0
    print(
        f"upload of {photo.stat().st_size} bytes: answered in {elapsed:.1f} s,"
        f" bar moving {span:.1f} s, {len(set(values))} distinct values,"
        f" {rate:.1f} updates/s"
    )
    assert len(set(values)) >= 5


def test_a_too_large_file_is_refused_before_sending(grace, js, tmp_path):
    page = grace
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (4 * 2**20))
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.get_by_label("Image file").set_input_files(big)
    message = (
        "What you sent is larger than this form accepts (3 MB), so nothing was"
        " saved. Make it smaller and try again."
    )
    form = page.locator("form#profile-upload-avatar")
    if js:
        page.get_by_role("button", name="Upload picture").click()
        expect(form.get_by_role("alert")).to_have_text(message)
        page.wait_for_timeout(300)
        assert posts == []  # refused at once, nothing sent
        # The file is still chosen.
        assert page.get_by_label("Image file").evaluate("e => e.files.length") == 1
    else:
        # The server says the same, after the upload.
        assert submit_and_status(page, "Upload picture") == 413
        expect(form.get_by_role("alert")).to_have_text(message)


def test_cancel_aborts_the_upload_and_keeps_the_file(grace, js, photo, files_stored):
    page = grace
    if not js:
        return  # nothing to cancel without JavaScript: the browser posts
    form = page.locator("form#profile-upload-avatar")
    page.get_by_label("Image file").set_input_files(photo)
    throttle(page, 200_000)
    page.get_by_role("button", name="Upload picture").click()
    expect(page.get_by_label("Sending your file")).to_be_visible()
    assert_no_axe_violations(page)
    form.get_by_role("button", name="Cancel").click()
    expect(form.get_by_role("alert")).to_contain_text("The upload was cancelled")
    expect(page.locator(".sa-upload")).to_have_count(0)
    assert (
        page.get_by_label("Image file").evaluate("e => e.files[0].name") == "noise.png"
    )
    # The Cancel button went with the bar: the focus is on the file, not lost.
    expect(page.get_by_label("Image file")).to_be_focused()
    expect(form.get_by_role("button", name="Upload picture")).to_be_enabled()
    page.wait_for_timeout(500)
    assert files_stored() == []


# -- 3. submissions that survive a lost connection ------------------------------------

KEPT = "Not sent yet — will send when you are back online."


def todo_rows(site, text: str) -> int:
    with site.app.app_context():
        return int(
            db.session.scalar(db.select(func.count(Todo.id)).where(Todo.text == text))
        )


def add_todo(page, text: str) -> None:
    # The outbox keeps a submission only once its script runs, a moment after load.
    scripts_settled(page)
    page.get_by_label("New to-do").fill(text)
    page.get_by_role("button", name="Add").click()


def todo_form(page):
    return page.locator("form#todos-add-todo")


def outbox(page):
    return page.get_by_role("region", name=re.compile("Waiting to be sent"))


def test_a_submission_made_offline_is_sent_once_back_online(page, js, site):
    page.goto("/todos")
    text = unique("Offline ")
    if not js:
        # Without JavaScript the browser posts as it always did.
        page.get_by_label("New to-do").fill(text)
        assert submit_and_status(page, "Add") == 303
        assert todo_rows(site, text) == 1
        return
    page.context.set_offline(True)
    add_todo(page, text)
    expect(todo_form(page).get_by_role("status")).to_have_text(KEPT)
    expect(page.get_by_label("New to-do")).to_have_value(text)
    expect(outbox(page)).to_contain_text("Waiting to be sent (1)")
    expect(outbox(page)).to_contain_text(f"Add: {text}")
    assert todo_rows(site, text) == 0
    assert_no_axe_violations(page)
    page.context.set_offline(False)  # the "online" event sends it
    expect(todo_form(page).get_by_role("status")).to_have_text(f"Added “{text}”.")
    expect(page.locator("#todo-list")).to_contain_text(text)
    expect(outbox(page)).to_have_count(0)
    assert todo_rows(site, text) == 1


def test_a_kept_submission_survives_a_reload(page, js, site):
    if not js:
        return  # nothing is kept without JavaScript
    page.goto("/todos")
    text = unique("Kept ")
    refused = []

    def unreachable(route):
        refused.append(route.request.url)
        route.abort("internetdisconnected")

    page.route("**/todos/add", unreachable)
    add_todo(page, text)
    expect(todo_form(page).get_by_role("status")).to_have_text(KEPT)
    page.reload()
    # Still kept after the reload (the attempt on load failed again).
    expect(outbox(page)).to_contain_text(f"Add: {text}")
    # That attempt has ended before the network comes back, so what sends it
    # next is Send now (else the attempt could race the click and win).
    for _ in range(100):
        if len(refused) >= 2:
            break
        page.wait_for_timeout(50)
    assert len(refused) >= 2, refused
    assert todo_rows(site, text) == 0
    page.unroute("**/todos/add")
    outbox(page).get_by_role("button", name="Send now").click()
    expect(todo_form(page).get_by_role("status")).to_have_text(f"Added “{text}”.")
    expect(outbox(page)).to_have_count(0)
    assert todo_rows(site, text) == 1


def test_a_kept_submission_never_goes_into_the_next_person_s_account(page, js, site):
    """A shared computer: Ada keeps a to-do while the server is unreachable and
    signs out; Grace signs in on the same browser. Ada's submission is neither
    sent into Grace's account nor shown to her, and is no longer kept."""
    if not js:
        return
    sign_in_through_the_form(page, "ada@example.com", "/todos")
    text = unique("Ada's private ")
    page.route("**/todos/add", lambda route: route.abort("internetdisconnected"))
    add_todo(page, text)
    expect(todo_form(page).get_by_role("status")).to_have_text(KEPT)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    page.unroute("**/todos/add")
    sign_in_through_the_form(page, GRACE, "/todos")
    page.goto("/todos")  # a page load sends what is kept
    expect(page.get_by_role("button", name="Add")).to_be_enabled()
    page.wait_for_timeout(1000)  # what the outbox would send on load, it has sent
    expect(outbox(page)).to_have_count(0)
    assert todo_rows(site, text) == 0
    kept = page.evaluate(
        """() => new Promise((resolve) => {
            const opening = indexedDB.open("server-actions", 1);
            opening.onsuccess = () => {
                const all = opening.result.transaction("outbox").objectStore("outbox").getAll();
                all.onsuccess = () => resolve(all.result.length);
            };
        })"""
    )
    assert kept == 0


def test_a_submission_applied_before_the_connection_dropped_is_written_once(
    page, js, site
):
    if not js:
        return
    page.goto("/todos")
    text = unique("Dropped ")
    first = []

    def applied_then_dropped(route):
        if first:
            route.continue_()
            return
        first.append(route.fetch())  # the server applies it...
        route.abort("connectionreset")  # ...and the answer never arrives

    page.route("**/todos/add", applied_then_dropped)
    add_todo(page, text)
    expect(todo_form(page).get_by_role("status")).to_have_text(KEPT)
    assert first[0].status == 200
    assert todo_rows(site, text) == 1
    with page.expect_response("**/todos/add") as info:
        outbox(page).get_by_role("button", name="Send now").click()
    # The same key: the server replays its first answer, writes nothing more.
    assert info.value.headers.get("x-submission-replayed") == "1"
    expect(todo_form(page).get_by_role("status")).to_have_text(f"Added “{text}”.")
    expect(page.locator("#todo-list")).to_contain_text(text)
    expect(outbox(page)).to_have_count(0)
    assert todo_rows(site, text) == 1


def test_a_503_with_retry_after_is_sent_again_after_the_wait(page, js, site):
    if not js:
        return
    page.goto("/todos")
    text = unique("Busy ")
    answered = []

    def busy_once(route):
        if answered:
            route.continue_()
            return
        answered.append(time.monotonic())
        route.fulfill(status=503, headers={"Retry-After": "1"}, body="busy")

    page.route("**/todos/add", busy_once)
    add_todo(page, text)
    expect(todo_form(page).get_by_role("status")).to_have_text(KEPT)
    expect(todo_form(page).get_by_role("status")).to_have_text(
        f"Added “{text}”.", timeout=5000
    )
    assert todo_rows(site, text) == 1


def test_an_expired_token_is_renewed_before_the_kept_submission_goes(page, js, site):
    if not js:
        return
    page.goto("/contact")
    page.context.set_offline(True)
    page.get_by_label("Your name").fill("Ann")
    page.get_by_label("Email").fill("ann@example.com")
    message = unique("Sent while offline, token expired ")
    page.get_by_label("Message").fill(message)
    page.get_by_role("button", name="Send message").click()
    form = page.locator("form#contact-send-message")
    expect(form.get_by_role("status")).to_have_text(KEPT)
    # The page's token went stale while it waited.
    page.evaluate(
        """() => {
          document.querySelectorAll('input[name="csrf_token"]').forEach(e => e.value = "expired");
          document.body.setAttribute("hx-headers:inherited", '{"X-CSRFToken": "expired"}');
        }"""
    )
    statuses = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if r.request.method == "POST" else None,
    )
    page.context.set_offline(False)
    expect(form.get_by_role("status")).to_contain_text("We got your message")
    assert statuses == [400, 200]
    with site.app.app_context():
        sent = db.session.scalar(
            db.select(func.count(ContactMessage.id)).where(
                ContactMessage.message == message
            )
        )
    assert sent == 1


def test_discard_forgets_a_kept_submission(page, js, site):
    if not js:
        return
    page.goto("/todos")
    text = unique("Discarded ")
    page.context.set_offline(True)
    add_todo(page, text)
    expect(outbox(page)).to_contain_text(f"Add: {text}")
    outbox(page).get_by_role("button", name="Discard").click()
    expect(outbox(page)).to_have_count(0)
    expect(page.locator("#sa-announcer")).to_have_text(
        "Discarded: it will not be sent."
    )
    page.context.set_offline(False)
    page.reload()
    expect(outbox(page)).to_have_count(0)
    assert todo_rows(site, text) == 0


def test_a_kept_submission_that_is_invalid_comes_back_as_the_normal_form(
    page, js, site
):
    if not js:
        return
    page.goto("/todos")
    page.context.set_offline(True)
    add_todo(page, "   ")  # only spaces: nothing to do
    expect(todo_form(page).get_by_role("status")).to_have_text(KEPT)
    # The user moves on (focus leaves the form) while it waits.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    with page.expect_response("**/todos/add") as info:
        page.context.set_offline(False)
    assert info.value.status == 422
    expect(page.locator("#text-error")).to_have_text("Write what there is to do.")
    # It arrived while the user was elsewhere: the focus stays where it was.
    expect(page.get_by_label("New to-do")).not_to_be_focused()
    expect(outbox(page)).to_have_count(0)


def test_the_outbox_lists_what_waits_on_other_pages_too(page, js, site):
    if not js:
        return
    page.goto("/todos")
    text = unique("Elsewhere ")
    page.route("**/todos/add", lambda route: route.abort("internetdisconnected"))
    add_todo(page, text)
    expect(todo_form(page).get_by_role("status")).to_have_text(KEPT)
    page.goto("/users")  # no offline form here
    panel = outbox(page)
    expect(panel).to_contain_text(f"Add: {text}")
    page.unroute("**/todos/add")
    panel.get_by_role("link", name="Open its page to send it").click()
    page.wait_for_url("**/todos")
    # Its page sends it as it loads.
    expect(page.locator("#todo-list")).to_contain_text(text)
    expect(outbox(page)).to_have_count(0)
    assert todo_rows(site, text) == 1
