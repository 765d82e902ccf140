from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import url_for
from werkzeug.wrappers import Response

from flask_server_actions import render_page

bp = Blueprint("home", __name__)

#: Every example of the site, with the seed pattern it shows.
EXAMPLES = [
    (
        "users.index",
        "Create a user",
        "The seed's createUser: a validated form with field errors, a role that"
        " defaults to user, and a list that updates once the user exists.",
    ),
    (
        "posts.index",
        "Write a blog post",
        "The seeds' createPost: revalidatePath and revalidateTag, then a redirect to"
        " the new post; the popular-posts box is cached for an hour and still shows"
        " the new post at once.",
    ),
    (
        "username.index",
        "Request a username",
        "The seed's requestUsername: the action's returned state says whether the"
        " name you asked for was available (useActionState).",
    ),
    (
        "contact.index",
        "Contact us (rate limited)",
        "The seed's submitContactForm: 10 messages a minute per sender through"
        " Flask-Limiter; one more answers 429 in the form and sends nothing.",
    ),
    (
        "todos.index",
        "To-do list (optimistic)",
        "The seed's useOptimistic: a new item shows at once as “Saving…”, the"
        " server's list replaces it, and a failure takes it back and returns your"
        " text. Ticking off and deleting are optimistic too.",
    ),
    (
        "likes.index",
        "Like button and view counter",
        "Actions outside forms: a like button that updates its count in place"
        " (a plain form without JavaScript) and a view counter that counts page"
        " views, atomically in SQL.",
    ),
    (
        "admin.users",
        "Delete users (admins)",
        "The seed's deleteUser: sign in as an admin; each Delete button carries the"
        " user's id signed by the server, you cannot delete yourself, and the list"
        " is revalidated in the same response.",
    ),
    (
        "profile.index",
        "Your profile and picture",
        "The seed's updateProfile and uploadAvatar, composed in one module: sign in;"
        " the picture is checked by what it really is, stored under a random name"
        " and served back safely.",
    ),
    (
        "reports.index",
        "Streamed report",
        "The seed's generateReport: sign in; the report streams month by month with"
        " a progress bar (server-sent events, or the page itself without JavaScript,"
        " or NDJSON), and stops when you leave.",
    ),
    (
        "auth.sign_in_page",
        "Sign in",
        "Authentication as a server action: a wrong password answers in the form"
        " and keeps your email; pages and actions that need an account send you here.",
    ),
    (
        "products.index",
        "Search products (debounced)",
        "Results as you type: a short delay, stale answers cancelled, the URL kept"
        " bookmarkable; without JavaScript a plain GET form gives the same page.",
    ),
    (
        "cart.index",
        "Update the cart (one transaction)",
        "The seed's batchUpdateItems: every line's quantity in one transaction;"
        " one wrong line means nothing is saved and the form says which.",
    ),
]


@bp.get("/")
def index() -> str:
    return render_page("home.html", examples=EXAMPLES)


@bp.get("/favicon.ico")
def favicon() -> Response:
    # Every page links its icon; this answers clients that ask the old fixed
    # address anyway (a raw error or JSON answer opened in a tab, feed readers).
    return redirect(url_for("static", filename="favicon.ico"), 301)
