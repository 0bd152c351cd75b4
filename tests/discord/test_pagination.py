"""Page-button ids: everything a click needs within Discord's 100 characters, or a stored key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.discord.pagination import (
    CUSTOM_ID_MAX,
    STORED_TEMPLATE,
    PageButton,
    StoredPageButton,
    decode_page_id,
    discord_length,
    encode_page_id,
    page_buttons,
    pager_view,
)
from bot.domain.paged_queries import PagedQuery
from bot.messages import PagerState

USER = 80351110224678912


def test_round_trip() -> None:
    custom_id = encode_page_id("search", "long context sort:recent", 2, USER)
    assert custom_id == f"pb:search:2:{USER}:long context sort:recent"
    assert decode_page_id(custom_id) == ("search", "long context sort:recent", 2, USER)


@given(st.text(max_size=120), st.integers(0, 999_999))
def test_any_argument_round_trips_or_is_refused(argument: str, page: int) -> None:
    custom_id = encode_page_id("search", argument, page, USER)
    if custom_id is None:
        assert discord_length(f"pb:search:{page}:{USER}:{argument}") > CUSTOM_ID_MAX
    else:
        assert discord_length(custom_id) <= CUSTOM_ID_MAX
        assert decode_page_id(custom_id) == ("search", argument, page, USER)


def test_emoji_count_twice() -> None:
    assert discord_length("😀") == 2
    assert encode_page_id("search", "😀" * 36, 1, USER) is None
    assert encode_page_id("search", "😀" * 35, 1, USER) is not None


def test_view_has_previous_label_next_and_only_sensible_moves_enabled() -> None:
    view = pager_view(PagerState("search", "llm", 1, 4), USER)
    assert view is not None and view.timeout is None
    items = view.children
    assert all(isinstance(i, PageButton) for i in items)
    buttons = [i.item for i in items]  # type: ignore[attr-defined]
    assert [b.label for b in buttons] == ["◀ previous", "page 1 of 4", "next ▶"]
    assert [b.disabled for b in buttons] == [True, True, False]
    assert buttons[2].custom_id == f"pb:search:2:{USER}:llm"
    assert len({b.custom_id for b in buttons}) == 3


def test_no_view_for_one_page() -> None:
    assert pager_view(PagerState("search", "llm", 1, 1), USER) is None
    assert pager_view(None, USER) is None


class MemoryStore:
    def __init__(self) -> None:
        self.saved: dict[str, PagedQuery] = {}

    def save(self, query: PagedQuery) -> str:
        self.saved[query.key] = query
        return query.key

    def get(self, key: str) -> PagedQuery | None:
        return self.saved.get(key)


async def test_a_long_query_is_stored_and_its_buttons_carry_the_key() -> None:
    query = "word " * 30
    pager = PagerState("search", query, 2, 9)
    with pytest.raises(ValueError, match="store it first"):
        pager_view(pager, USER)
    store = MemoryStore()
    view = await page_buttons(pager, USER, store)
    assert view is not None and view.timeout is None
    key = PagedQuery("search", query, USER).key
    assert store.saved == {key: PagedQuery("search", query, USER)}
    assert all(isinstance(i, StoredPageButton) for i in view.children)
    buttons = [i.item for i in view.children]  # type: ignore[attr-defined]
    assert [b.custom_id for b in buttons] == [f"pbq:{key}:1", f"pbq:{key}:2", f"pbq:{key}:3"]
    assert all(STORED_TEMPLATE.match(str(b.custom_id)) for b in buttons)
    assert [b.label for b in buttons] == ["◀ previous", "page 2 of 9", "next ▶"]
    assert [b.disabled for b in buttons] == [False, True, False]
    again = await page_buttons(pager, USER, store)
    assert again is not None and len(store.saved) == 1


async def test_a_short_query_stores_nothing() -> None:
    store = MemoryStore()
    view = await page_buttons(PagerState("search", "llm", 1, 4), USER, store)
    assert view is not None and all(isinstance(i, PageButton) for i in view.children)
    assert store.saved == {}
    assert await page_buttons(PagerState("search", "word " * 30, 1, 1), USER, store) is None
    assert store.saved == {}


def test_a_too_long_id_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="over 100"):
        PageButton("search", "x" * 100, 1, USER)
