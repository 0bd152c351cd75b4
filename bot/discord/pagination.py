"""Page buttons that only the asker can press and that keep working after a restart.

All a button needs is in its ``custom_id``: ``pb:<command>:<page>:<asker id>:<argument>``, e.g.
``pb:search:2:80351110224678912:long context sort:recent``. discord.py routes any click whose
id matches the template to :class:`PageButton` (registered with ``bot.add_dynamic_items``), so
a message sent before a restart still pages.

An id holds at most 100 characters. When the argument (a long query) does not fit, the list's
command, argument and asker are stored in the database (:class:`PagedQueryStore`, the
``paged_queries`` table) under a short hash of the three, and the buttons carry only that key:
``pbq:<key>:<page>`` (:class:`StoredPageButton`). The state is in the database, so these too
keep working after a restart, and only the stored asker may press them.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.domain.paged_queries import PagedQuery, PagedQueryStore
from bot.messages.model import PagerState

if TYPE_CHECKING:
    from bot.discord.client import PaperBot

CUSTOM_ID_MAX = 100
LABEL_MAX = 80
_PREFIX = "pb"
TEMPLATE = re.compile(
    r"pb:(?P<command>[a-z][a-z0-9_-]{0,31}):(?P<page>[0-9]{1,6}):(?P<user>[0-9]{1,20}):"
    r"(?P<argument>.*)\Z",
    re.DOTALL,
)
STORED_TEMPLATE = re.compile(r"pbq:(?P<key>[0-9a-f]{8,40}):(?P<page>[0-9]{1,6})\Z")


def discord_length(text: str) -> int:
    """Length as Discord counts it (UTF-16 code units): an emoji may count twice."""
    return len(text.encode("utf-16-le")) // 2


def encode_page_id(command: str, argument: str, page: int, user_id: int) -> str | None:
    """The custom_id of a button showing ``page``, or None when it would be too long."""
    custom_id = f"{_PREFIX}:{command}:{page}:{user_id}:{argument}"
    if discord_length(custom_id) > CUSTOM_ID_MAX or not TEMPLATE.match(custom_id):
        return None
    return custom_id


def decode_page_id(custom_id: str) -> tuple[str, str, int, int] | None:
    """(command, argument, page, asker id) of a page button's custom_id."""
    m = TEMPLATE.match(custom_id)
    if m is None:
        return None
    return m["command"], m["argument"], int(m["page"]), int(m["user"])


class PageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """Previous, next, or the (disabled) "page n of m" label between them."""

    def __init__(
        self,
        command: str,
        argument: str,
        page: int,
        user_id: int,
        *,
        label: str = "",
        disabled: bool = False,
    ) -> None:
        custom_id = encode_page_id(command, argument, page, user_id)
        if custom_id is None:
            raise ValueError("page button id over 100 characters")
        self.command, self.argument, self.page, self.user_id = command, argument, page, user_id
        super().__init__(
            discord.ui.Button(
                label=label[:LABEL_MAX] or str(page),
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id,
                disabled=disabled,
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PageButton:
        label = getattr(item, "label", None) or match["page"]
        return cls(match["command"], match["argument"], int(match["page"]), int(match["user"]),
                   label=label)  # fmt: skip

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        from bot.discord.responses import respond_page

        bot = cast("PaperBot", interaction.client)
        await respond_page(
            interaction,
            bot,
            command=self.command,
            argument=self.argument,
            page=self.page,
            owner=self.user_id,
        )


class StoredPageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=STORED_TEMPLATE):
    """A page button of a list whose state is stored in the database under ``key``."""

    def __init__(self, key: str, page: int, *, label: str = "", disabled: bool = False) -> None:
        self.key, self.page = key, page
        super().__init__(
            discord.ui.Button(
                label=label[:LABEL_MAX] or str(page),
                style=discord.ButtonStyle.secondary,
                custom_id=f"pbq:{key}:{page}",
                disabled=disabled,
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> StoredPageButton:
        label = getattr(item, "label", None) or match["page"]
        return cls(match["key"], int(match["page"]), label=label)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        from bot.discord.responses import log_command, respond_page

        bot = cast("PaperBot", interaction.client)
        state = await asyncio.to_thread(bot.services.paged_queries.get, self.key)
        if state is None:
            await interaction.response.send_message(
                "These page buttons no longer work; run the command again.", ephemeral=True
            )
            log_command(interaction, f"page {self.page} of list {self.key}", None, "expired")
            return
        await respond_page(
            interaction,
            bot,
            command=state.command,
            argument=state.argument,
            page=self.page,
            owner=state.owner_id,
        )


def fits_in_ids(pager: PagerState, user_id: int) -> bool:
    """Whether every page button of ``pager`` can carry its state in its own id."""
    return encode_page_id(pager.command, pager.argument, pager.pages + 1, user_id) is not None


def pager_view(
    pager: PagerState | None, user_id: int, *, key: str | None = None
) -> discord.ui.View | None:
    """Buttons for ``pager``, pressable by ``user_id`` only; None when there is one page.

    When the state does not fit in the buttons' ids, ``key`` is where it is stored (see
    :func:`page_buttons`). Every item is dynamic, so discord.py keeps no view object in memory
    for the message.
    """
    if pager is None or pager.pages <= 1:
        return None
    stored = not fits_in_ids(pager, user_id)
    if stored and key is None:
        raise ValueError("this list's state does not fit in its buttons' ids: store it first")
    view = discord.ui.View(timeout=None)
    where = f"page {pager.page} of {pager.pages}"
    for target, label, enabled in (
        (pager.page - 1, "◀ previous", pager.has_previous),
        (pager.page, where, False),
        (pager.page + 1, "next ▶", pager.has_next),
    ):
        item: discord.ui.Item[Any]
        if key is not None and stored:
            item = StoredPageButton(key, target, label=label, disabled=not enabled)
        else:
            item = PageButton(
                pager.command, pager.argument, target, user_id, label=label, disabled=not enabled
            )
        view.add_item(item)
    return view


async def page_buttons(
    pager: PagerState | None, user_id: int, store: PagedQueryStore
) -> discord.ui.View | None:
    """:func:`pager_view`, storing the list's state in ``store`` first when it does not fit in
    the buttons' ids (saving the same list again keeps one row)."""
    if pager is None or pager.pages <= 1 or fits_in_ids(pager, user_id):
        return pager_view(pager, user_id)
    state = PagedQuery(pager.command, pager.argument, user_id)
    key = await asyncio.to_thread(store.save, state)
    return pager_view(pager, user_id, key=key)
