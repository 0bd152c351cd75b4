"""/search, /author, /recent, /similar, page buttons and autocomplete, end to end."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select

from bot.discord.client import PaperBot
from storage.paged_queries import paged_queries_t
from tests.fakediscord import FakeMessage, InteractionHandle

from .conftest import ALICE, BOB, TOKEN, World, make_services

PAGE_ID = re.compile(r"pb:(\w+):(\d+):(\d+):(.*)")


def _buttons(message: FakeMessage) -> list[dict[str, object]]:
    return [c for c in message.iter_components() if c.get("type") == 2]


def _next_id(message: FakeMessage) -> str:
    return str(_buttons(message)[2]["custom_id"])


async def _click(
    world: World, message: FakeMessage, custom_id: str, user: int
) -> InteractionHandle:
    handle = await world.fake.send_component_click(message, custom_id, user)
    await handle.wait_for_response()
    await world.fake.wait_for(lambda: handle.final is not None or handle.response is not None)
    return handle


async def test_search_shows_a_page_with_buttons_for_the_asker(world: World) -> None:
    handle = await world.slash("search", {"query": "long context"})
    message = handle.final
    assert message is not None and not message.ephemeral
    (embed,) = message.embeds
    assert embed["title"] == "Search: long context"
    assert embed["description"].startswith("**1\\.** [**")
    assert re.fullmatch(r"page 1 of \d+ · \d+ papers", embed["footer"]["text"])
    labels = [b["label"] for b in _buttons(message)]
    assert labels[0] == "◀ previous" and labels[2] == "next ▶"
    assert [b.get("disabled", False) for b in _buttons(message)] == [True, True, False]
    assert _next_id(message) == f"pb:search:2:{ALICE}:long context"


async def test_next_turns_the_page_in_place_and_previous_comes_back(world: World) -> None:
    first = (await world.slash("search", {"query": "long context"})).final
    assert first is not None
    click = await _click(world, first, _next_id(first), ALICE)
    page2 = world.fake.message(first.id)
    assert page2 is not None and page2.edited_at is not None
    assert page2.embeds[0]["footer"]["text"].startswith("page 2 of ")
    assert page2.embeds[0]["description"].startswith("**6\\.**")
    assert not click.ephemeral
    previous = str(_buttons(page2)[0]["custom_id"])
    assert previous == f"pb:search:1:{ALICE}:long context"
    await _click(world, page2, previous, ALICE)
    back = world.fake.message(first.id)
    assert back is not None and back.embeds == first.embeds
    assert world.fake.rejections == []


async def test_another_member_cannot_turn_the_pages(world: World) -> None:
    first = (await world.slash("search", {"query": "long context"})).final
    assert first is not None
    click = await _click(world, first, _next_id(first), BOB)
    reply = click.final
    assert reply is not None and reply.ephemeral
    assert reply.content == "Only the person who asked can turn these pages; run /search yourself."
    unchanged = world.fake.message(first.id)
    assert unchanged is not None and unchanged.embeds == first.embeds


async def test_buttons_still_work_after_a_restart(world: World) -> None:
    first = (await world.slash("recent", {"category": "cs.CL"})).final
    assert first is not None
    next_id = _next_id(first)
    assert next_id == f"pb:recent:2:{ALICE}:cs.CL"
    await world.bot.close()
    restarted = world.new_bot()
    async with world.fake.run_client(restarted, token=TOKEN, configure=False):
        click = await _click(world, first, next_id, ALICE)
        assert click.response is not None and click.response.type in (6, 7)
        page2 = world.fake.message(first.id)
        assert page2 is not None
        assert page2.embeds[0]["footer"]["text"].startswith("page 2 of ")
        assert page2.embeds[0]["title"] == "Newest papers in cs.CL"


async def test_sort_option_is_kept_across_pages(world: World) -> None:
    handle = await world.slash("search", {"query": "long context", "sort": "recent"})
    assert handle.final is not None
    assert _next_id(handle.final) == f"pb:search:2:{ALICE}:long context sort:recent"


LONG_QUERY = "model " + " OR ".join(["learning", "context", "network", "data"] * 5)
STORED_ID = re.compile(r"pbq:([0-9a-f]{24}):(\d+)")


async def test_a_query_too_long_for_the_button_id_pages_through_stored_state(
    world: World,
) -> None:
    assert len(LONG_QUERY) > 100
    first = (await world.slash("search", {"query": LONG_QUERY, "sort": "recent"})).final
    assert first is not None and not first.ephemeral
    assert first.embeds[0]["footer"]["text"].startswith("page 1 of ")
    ids = [str(b["custom_id"]) for b in _buttons(first)]
    keys = {m[1] for i in ids if (m := STORED_ID.fullmatch(i))}
    (key,) = keys
    assert [b.get("disabled", False) for b in _buttons(first)] == [True, True, False]
    stored = world.services.paged_queries.get(key)
    assert stored is not None and stored.owner_id == ALICE
    assert stored.argument == f"{LONG_QUERY} sort:recent"

    refused = await _click(world, first, _next_id(first), BOB)
    assert refused.final is not None and refused.final.ephemeral
    assert refused.final.content.startswith("Only the person who asked can turn these pages")
    unchanged = world.fake.message(first.id)
    assert unchanged is not None and unchanged.embeds == first.embeds

    await _click(world, first, _next_id(first), ALICE)
    page2 = world.fake.message(first.id)
    assert page2 is not None and page2.edited_at is not None
    assert page2.embeds[0]["footer"]["text"].startswith("page 2 of ")
    assert page2.embeds[0]["description"].startswith("**6\\.**")
    assert _next_id(page2) == f"pbq:{key}:3"
    # Asking again (or turning pages) stores nothing new.
    await world.slash("search", {"query": LONG_QUERY, "sort": "recent"})
    with world.services.engine.connect() as conn:
        rows = select(func.count()).where(paged_queries_t.c.key == key)
        assert conn.execute(rows).scalar_one() == 1
    assert world.fake.rejections == []


async def test_stored_page_buttons_work_after_a_restart_for_the_asker_only(
    world: World, database_url: str
) -> None:
    first = (await world.slash("search", {"query": LONG_QUERY})).final
    assert first is not None
    next_id = _next_id(first)
    assert STORED_ID.fullmatch(next_id)
    await world.bot.close()
    world.services.close()
    # A new process: new services (engine, stores) and a new client on the same database.
    services = make_services(database_url, world.fake)
    restarted = PaperBot(services, guild_ready_timeout=0.1)
    try:
        async with world.fake.run_client(restarted, token=TOKEN, configure=False):
            refused = await _click(world, first, next_id, BOB)
            assert refused.final is not None and refused.final.ephemeral
            click = await _click(world, first, next_id, ALICE)
            assert click.response is not None and click.response.type in (6, 7)
            page2 = world.fake.message(first.id)
            assert page2 is not None
            assert page2.embeds[0]["footer"]["text"].startswith("page 2 of ")
            assert page2.embeds[0]["title"] == f"Search: {LONG_QUERY}"
    finally:
        services.close()


async def test_a_stored_list_that_is_gone_says_so(world: World) -> None:
    first = (await world.slash("search", {"query": LONG_QUERY})).final
    assert first is not None
    match = STORED_ID.fullmatch(_next_id(first))
    assert match is not None
    key = match[1]
    with world.services.engine.begin() as conn:
        conn.execute(delete(paged_queries_t).where(paged_queries_t.c.key == key))
    click = await _click(world, first, _next_id(first), ALICE)
    assert click.final is not None and click.final.ephemeral
    assert click.final.content == "These page buttons no longer work; run the command again."


async def test_a_query_the_parser_rejects_is_a_private_error(world: World) -> None:
    handle = await world.slash("search", {"query": "cat:nonsense.XX llm"})
    assert handle.ephemeral and handle.embeds == []
    assert handle.content.startswith("Cannot search for that: ")


async def test_author(world: World) -> None:
    handle = await world.slash("author", {"name": "Banibrata Mukhopadhyay"})
    (embed,) = handle.embeds
    assert embed["title"] == "Papers by Banibrata Mukhopadhyay"
    assert embed["footer"]["text"] == "5 papers" and "\n\n**5\\.**" in embed["description"]
    assert handle.components == []  # one page: no buttons


async def test_author_entries_show_the_author_even_past_the_first_names(world: World) -> None:
    handle = await world.slash("author", {"name": "Ogniewski P"})
    (embed,) = handle.embeds
    assert embed["footer"]["text"] == "1 paper"
    line = embed["description"].split("\n")[1]
    assert line.startswith(
        "Martyna Poziomska, Marian Dovgialo, … Paweł Ogniewski (5th of 8), et al."
    )


async def test_recent_with_and_without_a_category(world: World) -> None:
    everything = await world.slash("recent")
    assert everything.embeds[0]["title"] == "Newest papers"
    in_cl = await world.slash("recent", {"category": "CS.cl"})
    assert in_cl.embeds[0]["title"] == "Newest papers in cs.CL"
    bad = await world.slash("recent", {"category": "astrology"})
    assert bad.ephemeral and "'astrology' is not an arXiv category" in bad.content


async def test_similar(world: World) -> None:
    handle = await world.slash("similar", {"id": "2411.17700"})
    (embed,) = handle.embeds
    assert embed["title"].startswith("Similar to: Exploring the Impact")
    assert embed["description"].startswith("**1\\.**")
    unknown = await world.slash("similar", {"id": "2411.99999"})
    assert unknown.ephemeral


async def test_category_autocomplete(world: World) -> None:
    choices = await world.fake.send_autocomplete(
        world.guild_id, world.channel_id, ALICE, "recent", {"category": "comp"}, focused="category"
    )
    assert 0 < len(choices) <= 25
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
    assert {"name": "cs.CL — Computation and Language", "value": "cs.CL"} in choices
    everything = await world.fake.send_autocomplete(
        world.guild_id, world.channel_id, ALICE, "recent", {"category": ""}, focused="category"
    )
    assert len(everything) == 25
    assert world.fake.rejections == []
