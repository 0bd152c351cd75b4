"""The front-end-neutral message model: what a command answers, before any front end draws it.

Text that comes from papers or people is kept as plain strings here; each front end escapes it
for its own medium (Discord markdown, rich markup) when it renders. Styling is structural: a
:class:`Span` says "bold", "code" or "link to this URL", never markdown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeAlias

Style: TypeAlias = Literal["plain", "bold", "italic", "code"]


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text with one style; with ``url`` it is a link whose label is ``text``."""

    text: str
    style: Style = "plain"
    url: str | None = None


RichText: TypeAlias = tuple[Span, ...]


def plain(text: str) -> RichText:
    return (Span(text),) if text else ()


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: RichText
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Card:
    """One embed-like block: a title (linked when ``url`` is set), a body, fields, a footer."""

    title: str = ""
    url: str | None = None
    description: RichText = ()
    fields: tuple[Field, ...] = ()
    footer: str = ""
    color: int | None = None


@dataclass(frozen=True, slots=True)
class PagerState:
    """Where a paged list stands: enough to ask the same command for another page.

    ``command`` names a registry command; ``argument`` is the one text it pages over (the query
    with any ``sort:``, the author name, the category, or the paper key).
    """

    command: str
    argument: str
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command answers. ``error`` marks a short failure message (shown privately)."""

    content: str = ""
    cards: tuple[Card, ...] = ()
    ephemeral: bool = False
    pager: PagerState | None = None
    error: bool = False


def text_of(spans: RichText) -> str:
    """The spans' text without styling (links show their label)."""
    return "".join(span.text for span in spans)


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """The reply as JSON-ready data (``paperbot ask --json``)."""
    return asdict(reply)
