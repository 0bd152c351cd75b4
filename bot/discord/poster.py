"""Posting digests to Discord: the :class:`bot.digests.service.DigestPoster` of the bot.

Each part goes out with ``channel.send``'s REST call (``POST /channels/{id}/messages``) and its
deterministic nonce, which discord.py sends with ``enforce_nonce`` (Discord then answers a
repeated nonce with the message it already has), and with no allowed mentions. Paper text is
escaped with :mod:`bot.discord.render`, so a title can neither ping nor inject markdown. Errors
become the service's: 403 and 404 are :class:`ChannelGone` (the subscription pauses), 429, 5xx
and lost connections :class:`Retryable` (retried with the same nonce). A resumed delivery asks
:meth:`DiscordPoster.find_posted` first whether its next part is already in the channel: Discord
keeps no nonce with a message, so after the nonce window only the history can tell.

:class:`DiscordPauseNotifier` tells a server its subscription was paused, in another channel the
bot can post in (the system channel first); when there is none, the reply to the next command
of any kind in that server says it (bot.discord.responses, bot.commands.topics.pause_notice).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import discord
from discord.http import handle_message_parameters

from bot.digests.service import ChannelGone, Retryable
from bot.domain.digest import DigestCard, DigestMessage
from bot.domain.subscriptions import Subscription
from bot.messages.limits import fit_text
from bot.messages.topics import build_pause_notice

from .render import escape

log = logging.getLogger(__name__)

__all__ = ["DiscordPauseNotifier", "DiscordPoster", "digest_embed", "render_digest_message"]

NONCE_MAX = 25
THREAD_NAME_MAX = 100
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
HISTORY_LIMIT = 100  # messages read back when looking for a part posted before a crash
HISTORY_SLACK = timedelta(minutes=1)  # the claim's clock against Discord's
_EMBED_TOTAL = 6000


def _description(card: DigestCard) -> str:
    parts = [escape(p) for p in (card.byline, card.body) if p]
    links = " · ".join(f"[{escape(link.label)}]({link.url})" for link in card.links)
    if links:
        parts.append(links)
    text = "\n".join(parts)
    if len(text) > 4096:
        text = escape(fit_text("\n".join(p for p in (card.byline, card.body) if p), 3500))
    return text


def digest_embed(card: DigestCard) -> discord.Embed:
    """One digest card as an embed, every paper text escaped."""
    title = escape(card.title)
    if len(title) > 256:
        title = escape(fit_text(card.title, 256))
    embed = discord.Embed(title=title or None, url=card.url, description=_description(card) or None)
    if card.footer:
        embed.set_footer(text=card.footer[:2048])  # footers show no markdown: verbatim
    return embed


def render_digest_message(message: DigestMessage) -> tuple[str, list[discord.Embed]]:
    """The message's content (escaped, at most 2000 characters) and its embeds (at most 10,
    6000 characters together)."""
    content = escape(message.content)
    if len(content) > 2000:
        content = escape(fit_text(message.content, 2000))
    embeds = [digest_embed(c) for c in message.cards[:10]]
    while embeds and sum(len(e) for e in embeds) > _EMBED_TOTAL:
        longest = max(embeds, key=lambda e: len(e.description or ""))
        text = longest.description or ""
        longest.description = text[: max(0, len(text) - 500)].rsplit(" ", 1)[0] + "…"
    return content, embeds


def _status_error(channel_id: int, exc: discord.HTTPException) -> Exception:
    if exc.status in (403, 404):
        return ChannelGone(channel_id, exc.status, exc.text or type(exc).__name__)
    if exc.status == 429 or exc.status >= 500:
        return Retryable(f"HTTP {exc.status} {exc.text}".strip())
    return exc


class DiscordPoster:
    """Posts digest messages through the bot's HTTP client (works without the channel cached)."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def post(self, channel_id: int, message: DigestMessage, *, nonce: str) -> int:
        if len(nonce) > NONCE_MAX:
            raise ValueError(f"nonce {nonce!r} is longer than Discord's {NONCE_MAX} characters")
        content, embeds = render_digest_message(message)
        params = handle_message_parameters(
            content=content or None,
            embeds=embeds,
            nonce=nonce,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        try:
            with params:
                data: Any = await self.client.http.send_message(channel_id, params=params)
        except discord.HTTPException as exc:
            raise _status_error(channel_id, exc) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        return int(data["id"])

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        try:
            data: Any = await self.client.http.start_thread_with_message(
                channel_id,
                message_id,
                name=name[:THREAD_NAME_MAX] or "digest",
                auto_archive_duration=1440,
            )
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS:
                return message_id  # a thread started from a message shares its id
            if 400 <= exc.status < 500 and exc.status != 429:
                # No thread here (no permission, or a channel kind without threads): the
                # digest service goes on in the channel itself.
                raise ChannelGone(channel_id, exc.status, exc.text or type(exc).__name__) from exc
            raise _status_error(channel_id, exc) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        return int(data["id"])

    async def find_posted(
        self, channel_id: int, message: DigestMessage, *, since: datetime
    ) -> int | None:
        """The bot's own message in the channel's last 100 since ``since`` (less a minute for
        clocks) with ``message``'s text and card titles. Discord keeps no nonce with a message,
        so this is how a part posted before a crash is recognised once the nonce has expired;
        without Read Message History (or on any error) it is None, and the nonce decides."""
        me = self.client.user
        if me is None:
            return None
        content, embeds = render_digest_message(message)
        wanted = ((content or "").strip(), [(e.title or "").strip() for e in embeds])
        after = discord.utils.time_snowflake(since - HISTORY_SLACK)
        try:
            found: Any = await self.client.http.logs_from(channel_id, HISTORY_LIMIT, after=after)
        except (discord.HTTPException, TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning(
                "could not read the history of channel %d to check for a posted digest part "
                "(%s); its nonce alone guards against a second post",
                channel_id,
                exc,
            )
            return None
        for item in found:
            if int(item.get("author", {}).get("id", 0)) != me.id:
                continue
            titles = [str(e.get("title") or "").strip() for e in item.get("embeds") or []]
            if (str(item.get("content") or "").strip(), titles) == wanted:
                return int(item["id"])
        return None


class DiscordPauseNotifier:
    """Tells a server about a paused subscription in a channel the bot can still post in.

    The notice is taken before it is posted (``mark_notified``: only one taker, the same mark a
    command's reply takes it by), so a command answered meanwhile cannot show it a second time;
    when no channel takes the post it is given back (``release_notice``) for the next reply.
    """

    def __init__(self, client: discord.Client, mark_notified: Any, release_notice: Any) -> None:
        self.client = client
        self.mark_notified = mark_notified
        self.release_notice = release_notice

    def _channels(self, sub: Subscription) -> list[discord.TextChannel]:
        guild = self.client.get_guild(sub.guild_id)
        if guild is None:
            return []
        me = guild.me
        candidates = [guild.system_channel, *guild.text_channels]
        out: list[discord.TextChannel] = []
        for channel in candidates:
            if channel is None or channel.id == sub.channel_id or channel in out:
                continue
            if me is not None and not channel.permissions_for(me).send_messages:
                continue
            out.append(channel)
        return out

    async def subscription_paused(self, subscription: Subscription, reason: str) -> None:
        channels = self._channels(subscription)
        if channels:
            if not await asyncio.to_thread(self.mark_notified, subscription.id):
                return  # a command's reply showed it already
            paused = replace(subscription, paused=True, pause_reason=reason)
            notice = build_pause_notice([paused], lambda c: _label(self.client, c))
            for channel in channels:
                try:
                    await channel.send(
                        escape(notice), allowed_mentions=discord.AllowedMentions.none()
                    )
                    return
                except discord.HTTPException as exc:
                    log.info("could not post the pause notice in channel %d: %s", channel.id, exc)
            await asyncio.to_thread(self.release_notice, subscription.id)
        log.info(
            "no channel of guild %d to tell about paused subscription %d; the next command's "
            "reply will",
            subscription.guild_id,
            subscription.id,
        )


def _label(client: discord.Client, channel_id: int) -> str:
    channel = client.get_channel(channel_id)
    name = getattr(channel, "name", None)
    return f"#{name}" if name else f"channel {channel_id}"


def channel_label(client: discord.Client) -> Any:
    """A ChannelLabel naming channels by their cached name."""
    return lambda channel_id: _label(client, channel_id)
