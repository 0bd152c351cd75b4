"""Short failure messages, shown only to the person who asked."""

from __future__ import annotations

from bot.messages.limits import fit_reply
from bot.messages.model import Reply


def build_error(message: str) -> Reply:
    """A one-line error; the text says what went wrong in the person's terms."""
    text = " ".join(message.split()) or "Something went wrong."
    return fit_reply(Reply(content=text[:1].upper() + text[1:], ephemeral=True, error=True))
