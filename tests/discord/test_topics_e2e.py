"""/topic, /subscribe, /digest end to end: the real PaperBot against the fake Discord.

The topic and subscription cogs and commands are part of the default extensions and registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.commands import default_registry
from bot.discord.client import PaperBot
from bot.discord.cogs import EXTENSIONS
from tests.fakediscord import FakeDiscord, FakeMessage, Perm

from .conftest import ALICE, TOKEN, World, make_services

CAROL = 5151  # has Manage Channels


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """A private copy of the catalog (topics and deliveries are per test), one guild with one
    channel, ALICE (no Manage Channels) and CAROL (Manage Channels)."""
    copy = tmp_path / "paperbot.db"
    copy.write_bytes(Path(database_url.removeprefix("sqlite:///")).read_bytes())
    async with FakeDiscord(token=TOKEN) as fake:
        gid = fake.add_guild("Lab")
        cid = fake.add_channel(gid, "papers")
        fake.add_member(gid, ALICE, "alice")
        fake.add_member(gid, CAROL, "carol", Perm.MANAGE_CHANNELS)
        services = make_services(f"sqlite:///{copy}", fake)
        bot = PaperBot(
            services,
            extensions=EXTENSIONS,
            registry=default_registry(),
            guild_ready_timeout=0.1,
        )
        try:
            async with fake.run_client(bot, token=TOKEN, configure=False):
                yield World(fake, bot, services, gid, cid)
        finally:
            services.close()


def _posted(world: World, channel_id: int | None = None) -> list[FakeMessage]:
    return world.fake.messages_in(channel_id or world.channel_id, include_ephemeral=False)


def _bot_posts(world: World, channel_id: int | None = None) -> list[FakeMessage]:
    """Messages the bot posted itself (not interaction replies)."""
    return [m for m in _posted(world, channel_id) if m.nonce is not None]


async def test_the_synced_commands_match_the_registry(world: World) -> None:
    synced = {c["name"]: c for c in world.fake.commands}
    registry = default_registry()
    assert set(synced) == {c.name for c in registry.commands}
    for command in registry.commands:
        remote = synced[command.name]
        assert remote["description"] == command.description
        options = remote.get("options") or []
        assert [o["name"] for o in options] == [p.name for p in command.params]
        for option, param in zip(options, command.params, strict=True):
            assert option["description"] == param.description
            assert bool(option.get("required")) == param.required
    assert int(synced["subscribe"]["default_member_permissions"]) == Perm.MANAGE_CHANNELS


async def test_a_bad_query_gets_the_parsers_message(world: World) -> None:
    handle = await world.slash(
        "topic add", {"name": "bad", "query": "cat:nonsense.XX llm"}, user=CAROL
    )
    assert handle.ephemeral and handle.embeds == []
    assert handle.content.startswith("The query cannot be used: ")
    assert "nonsense" in handle.content


async def test_a_member_without_manage_channels_is_refused(world: World) -> None:
    handle = await world.slash("topic add", {"name": "lctx", "query": "long context"}, user=ALICE)
    assert handle.ephemeral
    assert handle.content == "You need the Manage Channels permission to use /topic add."
    refused = await world.slash("subscribe", {"topic": "cs-cl"}, user=ALICE)
    assert refused.ephemeral and "Manage Channels" in refused.content
    assert world.services.subscriptions.list_topics(world.guild_id) == []
    # reading is for everyone
    listed = await world.slash("topic list", user=ALICE)
    assert not listed.ephemeral and listed.embeds[0]["title"] == "Topics of this server"


async def test_add_list_show_and_autocomplete(world: World) -> None:
    added = await world.slash(
        "topic add", {"name": "lctx", "query": '"long context" OR "million tokens"'}, user=CAROL
    )
    (embed,) = added.embeds
    assert embed["title"] == "Topic lctx added"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Last 7 days"].endswith("of the last 7 days")
    listed = await world.slash("topic list", user=ALICE)
    assert "**lctx**" in listed.embeds[0]["description"]
    shown = await world.slash("topic show", {"name": "lctx"}, user=ALICE)
    assert shown.embeds[0]["title"] == "Topic lctx"
    choices = await world.fake.send_autocomplete(
        world.guild_id, world.channel_id, CAROL, "topic show", {"name": "lc"}, focused="name"
    )
    assert choices[0] == {"name": "lctx", "value": "lctx"}
    everything = await world.fake.send_autocomplete(
        world.guild_id, world.channel_id, CAROL, "subscribe", {"topic": ""}, focused="topic"
    )
    assert 0 < len(everything) <= 25
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in everything)
    assert world.fake.rejections == []


async def test_subscribe_preview_post_and_never_twice(world: World) -> None:
    await world.slash("topic add", {"name": "language", "query": "cat:cs.CL"}, user=CAROL)
    sub = await world.slash("subscribe", {"topic": "language"}, user=CAROL)
    assert "#papers will receive language daily at 08:00 (UTC)" in sub.content

    preview = await world.slash("digest preview", {"topic": "language"}, user=ALICE)
    assert preview.ephemeral
    assert preview.content.startswith("Preview (only you see this): ")
    assert 1 <= len(preview.embeds) <= 10
    assert _bot_posts(world) == []  # a preview posts nothing

    now = await world.slash("digest now", {"topic": "language"}, user=CAROL)
    assert now.ephemeral and "#papers: posted" in now.content
    posts = _bot_posts(world)
    assert posts and all(m.author_id == world.fake.bot_user.id for m in posts)
    assert all(m.nonce is not None and len(m.nonce) <= 25 for m in posts)
    assert posts[0].embeds and posts[0].embeds[0]["url"].startswith("https://arxiv.org/abs/")
    assert world.fake.rejections == []
    sends = world.fake.requests_to("POST", r"^/channels/\d+/messages$")
    assert sends and all(r.json is not None for r in sends)
    assert all(r.json["allowed_mentions"] == {"parse": []} for r in sends if r.json)

    again = await world.slash("digest now", {"topic": "language"}, user=CAROL)
    # Within the same period the claim says so; in a later one nothing is left to post. Either
    # way no message is posted twice.
    assert (
        "nothing new to post" in again.content or "this digest was posted already" in again.content
    )
    assert len(_bot_posts(world)) == len(posts)


def _page_buttons(message: FakeMessage) -> list[dict[str, object]]:
    return [c for c in message.iter_components() if c.get("type") == 2]


async def test_the_preview_pages_through_every_message_the_digest_then_posts(world: World) -> None:
    await world.slash("topic add", {"name": "language", "query": "cat:cs.CL"}, user=CAROL)
    await world.slash("subscribe", {"topic": "language"}, user=CAROL)
    first = (await world.slash("digest preview", {"topic": "language"}, user=ALICE)).final
    assert first is not None and first.ephemeral
    buttons = _page_buttons(first)
    pages = int(str(buttons[1]["label"]).removeprefix("page 1 of "))
    assert pages >= 2, "the sample catalog gives cs.CL a digest of several messages"
    assert first.content.endswith(f"(1/{pages})")
    assert [b["label"] for b in buttons] == ["◀ previous", f"page 1 of {pages}", "next ▶"]
    assert buttons[2]["custom_id"] == f"pb:digest:2:{ALICE}:preview language"

    titles = [[e["title"] for e in first.embeds]]
    for page in range(2, pages + 1):
        click = await world.fake.send_component_click(
            first, f"pb:digest:{page}:{ALICE}:preview language", ALICE
        )
        await click.wait_for_response()
        shown = world.fake.message(first.id)
        assert shown is not None and shown.ephemeral and shown.edited_at is not None
        assert shown.content.endswith(f"language · continued ({page}/{pages})")
        titles.append([e["title"] for e in shown.embeds])
    assert _bot_posts(world) == []  # turning pages posts nothing

    await world.slash("digest now", {"topic": "language"}, user=CAROL)
    posted = [[e["title"] for e in m.embeds] for m in _bot_posts(world)]
    assert titles == posted  # the preview showed exactly what went out, message by message
    assert world.fake.rejections == []


async def test_a_lost_channel_pauses_and_the_next_reply_says_so(world: World) -> None:
    await world.slash("subscribe", {"topic": "cs-cl"}, user=CAROL)  # ready-made: added
    (sub,) = world.services.subscriptions.list_subscriptions(world.guild_id)
    world.fake.set_channel_access(world.channel_id, False)
    result = await world.services.digests.run_subscription(sub.id)  # as the scheduler would
    assert result.outcome == "paused"
    assert world.services.subscriptions.get_subscription(sub.id).paused  # type: ignore[union-attr]

    world.fake.set_channel_access(world.channel_id, True)
    reply = await world.slash("subscriptions", user=ALICE)
    assert "Note: the cs-cl digest for #papers is paused" in reply.content
    assert "Use /subscribe again to resume." in reply.content
    quiet = await world.slash("topic list", user=ALICE)
    assert "paused" not in quiet.content  # told once

    resumed = await world.slash("subscribe", {"topic": "cs-cl"}, user=CAROL)
    assert "#papers receives again cs-cl" in resumed.content
    posted = await world.slash("digest now", {"topic": "cs-cl"}, user=CAROL)
    assert "#papers: posted" in posted.content
    assert _bot_posts(world)


async def test_another_channel_hears_about_a_pause(world: World) -> None:
    other = world.fake.add_channel(world.guild_id, "general")
    await asyncio.sleep(0.05)  # CHANNEL_CREATE reaches the bot's cache
    await world.slash("subscribe", {"topic": "cs-lg"}, user=CAROL)
    (sub,) = world.services.subscriptions.list_subscriptions(world.guild_id)
    world.fake.set_channel_access(world.channel_id, False)
    result = await world.services.digests.run_subscription(sub.id)
    assert result.outcome == "paused"
    (notice,) = _posted(world, other)
    assert notice.content.startswith("Note: the cs-lg digest for #papers is paused (channel ")
    assert notice.content.endswith(
        "(Discord answered 403: Missing Access)). Use /subscribe again to resume."
    )
    assert world.services.subscriptions.paused_unnotified(world.guild_id) == []


async def test_one_guild_cannot_see_another_guilds_topics(world: World) -> None:
    await world.slash("topic add", {"name": "secret", "query": "diffusion"}, user=CAROL)
    gid2 = world.fake.add_guild("Other Lab")
    cid2 = world.fake.add_channel(gid2, "feed")
    dave = world.fake.add_member(gid2, 6161, "dave", Perm.MANAGE_CHANNELS)
    await asyncio.sleep(0.1)  # GUILD_CREATE reaches the bot

    async def slash2(name: str, options: dict[str, str]) -> str:
        handle = await world.fake.send_slash_command(gid2, cid2, dave, name, options)
        await world.fake.wait_for(
            lambda: handle.final is not None and not handle.final.loading, timeout=5.0
        )
        return handle.content + " ".join(str(e) for e in handle.embeds)

    assert "secret" not in await slash2("topic list", {})
    assert "no topic called secret" in await slash2("topic show", {"name": "secret"})
    assert "no topic called secret" in await slash2("digest preview", {"topic": "secret"})
    assert "no topic called secret" in await slash2("subscribe", {"topic": "secret"})
    choices = await world.fake.send_autocomplete(
        gid2, cid2, dave, "topic show", {"name": "sec"}, focused="name"
    )
    assert all(c["value"] != "secret" for c in choices)
