from __future__ import annotations

from flask import Blueprint

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
        "admin.users",
        "Delete users (admins)",
        "The seed's deleteUser: sign in as an admin; each Delete button carries the"
        " user's id signed by the server, you cannot delete yourself, and the list"
        " is revalidated in the same response.",
    ),
    (
        "auth.sign_in_page",
        "Sign in",
        "Authentication as a server action: a wrong password answers in the form"
        " and keeps your email; pages and actions that need an account send you here.",
    ),
]


@bp.get("/")
def index() -> str:
    return render_page("home.html", examples=EXAMPLES)
