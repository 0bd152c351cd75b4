"""Page buttons that only the asker can press and that keep working after a restart.

All a button needs is in its ``custom_id``: ``pb:<command>:<page>:<asker id>:<argument>``, e.g.
``pb:search:2:80351110224678912:long context sort:recent``. discord.py routes any click whose
id matches the template to :class:`PageButton` (registered with ``bot.add_dynamic_items``), so
a message sent before a restart still pages. An id holds at most 100 characters; when the
argument (a long query) does not fit, the reply shows its first page with the buttons disabled
and says why, rather than keeping state in a table.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

import discord

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
_OFF_TEMPLATE = re.compile(r"pb-off:(?P<slot>[0-9])\Z")


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


class PagesOff(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_OFF_TEMPLATE):
    """A disabled button saying why a list has no page buttons (its argument is too long)."""

    def __init__(self, label: str, slot: int = 0) -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:LABEL_MAX],
                style=discord.ButtonStyle.secondary,
                custom_id=f"pb-off:{slot}",
                disabled=True,
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PagesOff:
        return cls(getattr(item, "label", None) or "", int(match["slot"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(
            "This list has no page buttons: its query is too long to keep in one.", ephemeral=True
        )


def pager_view(pager: PagerState | None, user_id: int) -> discord.ui.View | None:
    """Buttons for ``pager``, pressable by ``user_id`` only; None when there is one page.

    Every item is dynamic, so discord.py keeps no view object in memory for the message.
    """
    if pager is None or pager.pages <= 1:
        return None
    view = discord.ui.View(timeout=None)
    where = f"page {pager.page} of {pager.pages}"
    if encode_page_id(pager.command, pager.argument, pager.pages + 1, user_id) is None:
        view.add_item(PagesOff(f"{where} · query too long for page buttons"))
        return view
    for target, label, enabled in (
        (pager.page - 1, "◀ previous", pager.has_previous),
        (pager.page, where, False),
        (pager.page + 1, "next ▶", pager.has_next),
    ):
        view.add_item(
            PageButton(
                pager.command, pager.argument, target, user_id, label=label, disabled=not enabled
            )
        )
    return view
