"""Every sentence the toolkit shows to users, in one place, so an app can change them.

An app rewords a sentence with ``SERVER_ACTIONS_MESSAGES = {"csrf": "…"}`` and
translates them all with ``ServerActions(app, gettext=flask_babel.gettext)``: each
sentence goes through ``gettext`` first, then its ``%(name)s`` placeholders are
filled, as WTForms does with its validators' messages.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

#: The toolkit's sentences, by name. ``%(name)s`` marks a value filled in later.
DEFAULTS: t.Final[Mapping[str, str]] = {
    "invalid": "Please correct the errors below.",
    "sign_in": "Please sign in to do this.",
    "forbidden": "You are not allowed to do this.",
    "too_many": "Too many requests. Please wait a moment and try again.",
    "too_many_limit": (
        "Too many requests (the limit is %(limit)s). Please wait a moment and try again."
    ),
    "failed": "Something went wrong on our side, so nothing was saved.",
    "failed_id": (
        "Something went wrong on our side, so nothing was saved. Please try again."
        " (Error id %(error_id)s)"
    ),
    "csrf": "This form had expired, so nothing was saved. Please submit it again.",
    "cross_origin": (
        "This form was sent from another site, so it was not accepted. "
        "Open the page on this site and submit it again."
    ),
    "unavailable": (
        "The site is busy for a moment, so nothing was saved. Your input is still"
        " here: please try again in %(seconds)s seconds."
    ),
    "too_large": (
        "What you sent is larger than this form accepts (%(limit)s), so nothing was"
        " saved. Make it smaller and try again."
    ),
    "unreadable": (
        "What you sent could not be read (it was cut off, malformed or not valid"
        " text), so nothing was saved. Please submit the form again."
    ),
    "invalid_text": (
        "Some of what you sent is not valid text (UTF-8), so nothing was saved."
        " Please retype it and submit the form again."
    ),
    "repeated_control": (
        "This form was sent with a hidden field repeated, so nothing was done."
        " Reload the page and try again."
    ),
    "repeated_field": "This field was sent more than once; send it once.",
    "not_text": "This field must be text.",
    "nul_character": (
        "This contains a character that cannot be saved (a NUL). Please remove it."
    ),
    "tampered": (
        "This form is out of date or was changed, so nothing was done."
        " Reload the page and try again."
    ),
    "in_progress": (
        "This form is already being submitted. Please wait a moment, then reload"
        " the page."
    ),
    "saved_not_shown": (
        "Saved. The page could not be refreshed just now; reload it in %(seconds)s"
        " seconds to see the change."
    ),
    "not_saved_yet": "Not saved yet",
    "try_again": "Try again",
    "confirm": "Yes, go on",
    "cancel": "No, go back",
    "bad_request": "The request could not be handled.",
    "too_many_streams": (
        "You already have %(streams)s open, the most at once. Wait for one to"
        " finish (or close its page), then try again."
    ),
    "streams_busy": (
        "The server is busy with other streams right now. Please try again in"
        " %(seconds)s seconds."
    ),
    "offline_kept": "Not sent yet — will send when you are back online.",
    "offline_outbox": "Waiting to be sent",
    "offline_send_now": "Send now",
    "offline_discard": "Discard",
    "offline_open_page": "Open its page to send it",
    "offline_discarded": "Discarded: it will not be sent.",
    "upload_progress": "Sending your file",
    "upload_cancel": "Cancel",
    "upload_cancelled": (
        "The upload was cancelled, so nothing was saved. Your file is still chosen:"
        " send it again when you are ready."
    ),
    "upload_missing": "Choose an image file to upload.",
    "upload_empty": "That file is empty. Choose an image file.",
    "upload_too_large": (
        "That file is %(size)s; the limit is %(limit)s. Choose a smaller image."
    ),
    "upload_not_image": "That file is not a %(types)s image. Choose an image file.",
    "upload_misnamed": (
        "That file is named .%(extension)s but is really a %(real)s image. Rename it"
        " or choose another file."
    ),
}

#: A translation function: ``gettext(sentence) -> translated sentence``.
Gettext = t.Callable[[str], str]


def _untranslated(sentence: str) -> str:
    return sentence


class Messages:
    """The sentences of one app: the defaults, the app's own wording, translated.

    :param overrides: ``{name: sentence}`` replacing some of :data:`DEFAULTS`.
    :param gettext: translates a sentence before its placeholders are filled.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        overrides: Mapping[str, str] | None = None,
        gettext: Gettext | None = None,
    ) -> None:
        unknown = sorted(set(overrides or {}) - set(DEFAULTS))
        if unknown:
            raise ValueError(
                f"SERVER_ACTIONS_MESSAGES names unknown messages {unknown};"
                f" known: {', '.join(sorted(DEFAULTS))}."
            )
        self._sentences = {**DEFAULTS, **(overrides or {})}
        self._gettext = gettext or _untranslated

    def __call__(self, name: str, **values: t.Any) -> str:
        """The sentence ``name``, translated, with ``values`` filled in."""
        sentence = self._gettext(self._sentences[name])
        return sentence % values if values else sentence


#: The sentences as written here, for code that runs without an app.
DEFAULT_MESSAGES: t.Final = Messages()
