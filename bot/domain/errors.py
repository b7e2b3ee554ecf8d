"""Domain errors: refusals a person caused by clicking, shown to them as an ephemeral message.

`message` is what the single `@app.error` handler shows. It is Slack mrkdwn written by us: the
only `<@…>` in it come from `user_ref`, which accepts nothing but a well-formed user id, so no
untrusted text (posts, author names) can ever ping someone through an error message.
"""

from __future__ import annotations

import re

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def user_ref(user_id: str | None) -> str:
    """`<@U…>` for a Slack user id; anything else (None, "system", junk) stays unlinked."""
    if user_id and _USER_ID.match(user_id):
        return f"<@{user_id}>"
    return "the bot" if user_id == "system" else "someone"


class DomainError(Exception):
    default = "That didn't work."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default
        super().__init__(self.message)


class ConcurrentChange(DomainError):
    """Someone else changed the mention first (two clicks, one winner)."""

    default = "Someone else changed this mention first."


class NotAllowed(DomainError):
    """The action exists from this state, but not for this person (or not with this input)."""

    default = "You can't do that here."


class InvalidTransition(DomainError):
    """The action makes no sense from the mention's current status."""

    default = "That action isn't possible in this state."


class StaleCard(DomainError):
    """The card the user clicked is older than the mention: refused, not applied."""

    default = "This card changed since you looked at it — refreshed. Check it and try again."


class NotFound(DomainError):
    default = "That mention no longer exists."


class PolicyViolation(DomainError):
    """A reply breaks the rules file's policy (bot.desk.send)."""

    default = "This reply breaks the reply policy."
