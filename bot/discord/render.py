"""Replies as Discord messages: embeds with every paper and person text escaped.

Builders leave text plain; here each text gets a backslash before any character Discord would read
as markdown or a mention, so ``@everyone``, ``<@&123>``, ``||spoiler||`` or ``[link](http://evil)``
in a title shows as typed and pings no one (the client also sends no allowed mentions). Builders
counted these backslashes in advance (bot.messages.limits.markup_len), so a reply that fits
before escaping still fits after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord

from bot.messages.limits import LINE_START_CHARS, MARKUP_CHARS
from bot.messages.model import Card, Reply, RichText, Span

# A bare URL stays clickable: Discord reads no markdown inside one. Characters that could start
# markup are not taken as part of it (a "URL" containing "||" is cut there and escaped).
_URL = r"https?://[^\s<>()\[\]|*~`\"'\\]+"
# Markup anywhere in a line; "#", "-", ">" and "1." are markup only where a line starts.
_INLINE = "".join(sorted(MARKUP_CHARS - LINE_START_CHARS))
_ESCAPE = re.compile(f"(?P<url>{_URL})|[{re.escape(_INLINE)}]")
_LINE_START = re.compile(f"^([ \t]*)(?=[{re.escape(''.join(sorted(LINE_START_CHARS)))}])", re.M)
_LIST_NUMBER = re.compile(r"^([ \t]*\d+)\.", re.MULTILINE)


def _escape_one(m: re.Match[str]) -> str:
    return m.group("url") or "\\" + m.group(0)


def escape(text: str) -> str:
    """``text`` shown literally by Discord: markdown, mentions, emoji and masked links inert."""
    text = _ESCAPE.sub(_escape_one, text)
    text = _LINE_START.sub(r"\1\\", text)
    return _LIST_NUMBER.sub(r"\1\\.", text)


def render_span(span: Span) -> str:
    if span.style == "code":
        text = f"`{span.text.replace('`', 'ˋ')}`"
    else:
        text = escape(span.text)
        if span.style == "bold":
            text = f"**{text}**"
        elif span.style == "italic":
            text = f"*{text}*"
    if span.url:
        text = f"[{text}]({span.url})"
    return text


def render_text(spans: RichText) -> str:
    return "".join(render_span(s) for s in spans)


def render_card(card: Card) -> discord.Embed:
    embed = discord.Embed(
        title=escape(card.title) or None,
        url=card.url,
        description=render_text(card.description) or None,
        color=card.color,
    )
    for f in card.fields:
        embed.add_field(name=escape(f.name), value=render_text(f.value), inline=f.inline)
    if card.footer:
        embed.set_footer(text=card.footer)  # footers show no markdown: left verbatim
    return embed


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    content: str
    embeds: list[discord.Embed]
    ephemeral: bool


def render_reply(reply: Reply) -> DiscordMessage:
    return DiscordMessage(
        content=escape(reply.content),
        embeds=[render_card(c) for c in reply.cards],
        ephemeral=reply.ephemeral,
    )
