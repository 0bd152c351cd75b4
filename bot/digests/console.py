"""Digests in the terminal: ``paperbot digest TOPIC``, and a poster for the console's scheduler.

Paper text only ever goes into rich ``Text`` objects, never through console markup, so a title
with ``[bold]`` in it prints as typed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from bot.digests.service import DigestService
from bot.domain.digest import Digest, DigestCard, DigestMessage
from bot.domain.subscriptions import NotFound
from bot.domain.topics import find_ready_made, load_ready_made
from storage.subscriptions import SqlSubscriptions

__all__ = ["ConsolePoster", "digest_json", "preview", "render_digest", "render_message"]


def _card(card: DigestCard) -> RenderableType:
    parts: list[RenderableType] = [Text(card.title, style="bold")]
    if card.byline:
        parts.append(Text(card.byline, style="dim"))
    if card.body:
        parts.append(Text(card.body))
    if card.links:
        line = Text()
        for i, link in enumerate(card.links):
            if i:
                line.append(" · ", style="dim")
            line.append(link.label, style=f"link {link.url}")
            line.append(f" {link.url}", style="dim")
        parts.append(line)
    return Panel(
        Group(*parts),
        subtitle=Text(card.footer, style="dim") if card.footer else None,
        subtitle_align="right",
        expand=True,
    )


def render_message(message: DigestMessage, *, channel: str | None = None) -> RenderableType:
    """One digest message as it would appear in a channel."""
    head = Text()
    if channel:
        head.append(f"#{channel} ", style="cyan")
    head.append(message.content, style="bold")
    return Group(head, *(_card(c) for c in message.cards))


def render_digest(digest: Digest, *, channel: str | None = None) -> RenderableType:
    """Every message of a digest, or a line saying there is nothing to post (and why)."""
    if not digest.messages:
        why = f" ({digest.empty_reason.text})" if digest.empty_reason else ""
        return Text(f"{digest.topic_name}: nothing to post{why}", style="dim")
    return Group(*(render_message(m, channel=channel) for m in digest.messages))


def digest_json(digest: Digest) -> dict[str, Any]:
    """What ``paperbot digest --json`` prints: the summary and the messages as posted."""
    return {
        "topic": digest.topic_name,
        "summary": digest.summary,
        "themes": list(digest.themes),
        "papers": [
            {"key": e.paper.key, "title": e.paper.title, "score": e.score, "tldr": e.tldr}
            for e in digest.entries
        ],
        "more": len(digest.overflow),
        "empty_reason": (
            {"kind": digest.empty_reason.kind, "text": digest.empty_reason.text}
            if digest.empty_reason
            else None
        ),
        "messages": [m.to_json() for m in digest.messages],
    }


class ConsolePoster:
    """A :class:`bot.digests.service.DigestPoster` that prints to the terminal. Like Discord,
    a repeated nonce gives back the message already "posted" instead of printing it again."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self._ids = count(1)
        self._by_nonce: dict[str, int] = {}

    async def post(self, channel_id: int, message: DigestMessage, *, nonce: str) -> int:
        known = self._by_nonce.get(nonce)
        if known is not None:
            return known
        message_id = next(self._ids)
        self._by_nonce[nonce] = message_id
        self.console.print(render_message(message, channel=str(channel_id)))
        return message_id

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        # A thread started from a message shares the message's id on Discord.
        self.console.print(Text(f"— thread: {name}", style="dim"))
        return message_id

    async def find_posted(
        self, channel_id: int, message: DigestMessage, *, since: datetime
    ) -> int | None:
        # A terminal has no history to read back; what this process printed, its nonces know.
        return None


def preview(
    store: SqlSubscriptions,
    topic_name: str,
    *,
    guild_id: int | None = None,
    now: datetime | None = None,
) -> Digest:
    """What a digest of the topic would post now (``paperbot digest``): the guild's topic as
    its subscription would get it, or a ready-made topic as a new subscription's first digest.
    Nothing is claimed or posted. :class:`NotFound` names what is missing."""
    moment = now or datetime.now(UTC)
    service = DigestService(store, ConsolePoster(), clock=lambda: moment)
    name = topic_name.strip().lower()
    if guild_id is not None and store.get_topic(guild_id, name) is not None:
        return service.preview(guild_id, name, now=moment)
    ready_made = load_ready_made()
    found = find_ready_made(name, ready_made)
    if found is None:
        names = ", ".join(t.name for t in ready_made)
        if guild_id is not None:
            raise NotFound(
                f"this server has no topic called {topic_name}, and no ready-made topic has "
                f"that name: {names}"
            )
        raise NotFound(
            f"no ready-made topic called {topic_name!r}; use --guild ID for a server's own "
            f"topics, or one of: {names}"
        )
    if guild_id is not None and store.get_topic(guild_id, found.name) is not None:
        return service.preview(guild_id, found.name, now=moment)  # the server's copy
    # A ready-made topic (not added to the server yet): a new subscription's first digest.
    return service.preview_new(found.for_guild(guild_id or 0), moment)
