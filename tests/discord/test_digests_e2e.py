"""Digests end to end on the fake Discord: the pause notice on the next command of any kind, a
long digest continued in a thread (within Discord's limits), crashes during a thread digest, and
previews of ready-made topics.

The real PaperBot posts through its real DiscordPoster over HTTP to tests/fakediscord, which
enforces Discord's message limits and nonce de-duplication.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.digests.service import DigestService
from bot.discord.client import PaperBot
from bot.discord.poster import DiscordPoster
from bot.domain.digest import NO_THREAD, DigestMessage
from bot.domain.subscriptions import Subscription
from tests.digests.support import Crash
from tests.fakediscord import FakeDiscord, FakeMessage, Perm
from tests.fakediscord.limits import check_message

from .conftest import ALICE, TOKEN, World, make_services

CAROL = 5151  # has Manage Channels
RESTART = timedelta(minutes=3)  # a restart takes this long: within Discord's nonce window


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """A private copy of the catalog, one guild with one channel (#papers), ALICE (a member)
    and CAROL (Manage Channels)."""
    copy = tmp_path / "paperbot.db"
    copy.write_bytes(Path(database_url.removeprefix("sqlite:///")).read_bytes())
    async with FakeDiscord(token=TOKEN) as fake:
        gid = fake.add_guild("Lab")
        cid = fake.add_channel(gid, "papers")
        fake.add_member(gid, ALICE, "alice")
        fake.add_member(gid, CAROL, "carol", Perm.MANAGE_CHANNELS)
        services = make_services(f"sqlite:///{copy}", fake)
        bot = PaperBot(services, guild_ready_timeout=0.1)
        try:
            async with fake.run_client(bot, token=TOKEN, configure=False):
                yield World(fake, bot, services, gid, cid)
        finally:
            services.close()


def bot_posts(world: World, channel_id: int) -> list[FakeMessage]:
    """What the bot posted itself in a channel or thread (digests carry a nonce)."""
    return [m for m in world.fake.messages_in(channel_id) if m.nonce is not None]


def subscription(world: World) -> Subscription:
    (sub,) = world.services.subscriptions.list_subscriptions(world.guild_id)
    return sub


# --- the pause notice ----------------------------------------------------------------------------


async def test_the_next_command_of_any_kind_carries_the_pause_notice_once(world: World) -> None:
    await world.slash("subscribe", {"topic": "cs-cl"}, user=CAROL)
    sub = subscription(world)
    world.fake.set_channel_access(world.channel_id, False)  # the bot lost the channel
    result = await world.services.digests.run_subscription(sub.id)  # as the scheduler would
    assert result.outcome == "paused"
    world.fake.set_channel_access(world.channel_id, True)  # commands answer (interactions)

    # Another guild's commands neither see nor use up the notice.
    gid2 = world.fake.add_guild("Other Lab")
    cid2 = world.fake.add_channel(gid2, "feed")
    dave = world.fake.add_member(gid2, 6161, "dave")
    await asyncio.sleep(0.1)  # GUILD_CREATE reaches the bot
    other = await world.fake.send_slash_command(gid2, cid2, dave, "stats", {})
    await world.fake.wait_for(lambda: other.final is not None and not other.final.loading)
    assert "paused" not in other.content

    searched = await world.slash("search", {"query": "language models"}, user=ALICE)
    first_line = searched.content.splitlines()[0]
    assert first_line.startswith("Note: the cs-cl digest for #papers is paused (channel ")
    assert "Discord answered 403" in first_line
    assert first_line.endswith("Use /subscribe again to resume.")
    assert searched.embeds, "the search results are still there"
    assert not searched.ephemeral  # the channel sees it, not only the asker

    again = await world.slash("search", {"query": "language models"}, user=ALICE)
    assert "paused" not in again.content  # told once
    stats = await world.slash("stats", user=ALICE)
    assert "paused" not in stats.content
    listed = await world.slash("subscriptions", user=ALICE)
    assert "PAUSED" in listed.embeds[0]["description"]  # the state stays visible where asked

    resumed = await world.slash("subscribe", {"topic": "cs-cl"}, user=CAROL)
    assert "#papers receives again cs-cl" in resumed.content
    assert not subscription(world).paused

    # Paused again (its papers are still pending): a new pause is a new notice.
    world.fake.set_channel_access(world.channel_id, False)
    later = await world.services.digests.run_subscription(sub.id, period_key="test:later")
    assert later.outcome == "paused"
    world.fake.set_channel_access(world.channel_id, True)
    stats = await world.slash("stats", user=ALICE)
    assert stats.content.startswith("Note: the cs-cl digest for #papers is paused")
    assert "paused" not in (await world.slash("stats", user=ALICE)).content

    await world.slash("subscribe", {"topic": "cs-cl"}, user=CAROL)
    posted = await world.slash("digest now", {"topic": "cs-cl"}, user=CAROL)
    assert "#papers: posted" in posted.content and bot_posts(world, world.channel_id)


async def test_the_pause_notice_goes_to_another_channel_once_or_else_to_the_next_reply(
    world: World,
) -> None:
    general = world.fake.add_channel(world.guild_id, "general")
    await asyncio.sleep(0.1)  # CHANNEL_CREATE reaches the bot
    await world.slash("subscribe", {"topic": "cs-cl"}, user=CAROL)
    sub = subscription(world)
    world.fake.set_channel_access(world.channel_id, False)
    assert (await world.services.digests.run_subscription(sub.id)).outcome == "paused"
    world.fake.set_channel_access(world.channel_id, True)
    (notice,) = world.fake.messages_in(general)
    assert notice.content.startswith("Note: the cs-cl digest for #papers is paused")
    assert "paused" not in (await world.slash("stats", user=ALICE)).content  # told once

    # A command that showed the notice first: the notifier, coming after, posts nothing.
    notifier = world.services.digests.notifier
    assert notifier is not None
    assert world.services.subscriptions.release_pause_notice(sub.id) is None
    assert "paused" in (await world.slash("stats", user=ALICE)).content
    await notifier.subscription_paused(subscription(world), "again")
    assert len(world.fake.messages_in(general)) == 1

    # The other channel fails when the notice is posted: it goes back to the next reply.
    world.services.subscriptions.release_pause_notice(sub.id)
    world.fake.set_channel_access(general, False)  # the bot's cache still offers it
    await notifier.subscription_paused(subscription(world), "again")
    assert len(world.fake.messages_in(general)) == 1
    world.fake.set_channel_access(general, True)
    stats = await world.slash("stats", user=ALICE)
    assert stats.content.startswith("Note: the cs-cl digest for #papers is paused")


async def test_a_paper_lookup_after_a_pause_carries_the_notice(world: World) -> None:
    await world.slash("subscribe", {"topic": "cs-lg"}, user=CAROL)
    sub = subscription(world)
    world.fake.set_bot_can_post(world.channel_id, False)  # 403 Missing Permissions
    await asyncio.sleep(0.05)
    assert (await world.services.digests.run_subscription(sub.id)).outcome == "paused"
    world.fake.set_bot_can_post(world.channel_id, True)
    await asyncio.sleep(0.05)
    missing = await world.slash("paper", {"id": "2411.99999"}, user=ALICE)
    assert missing.ephemeral  # an error reply: private, with the notice first
    assert missing.content.startswith("Note: the cs-lg digest for #papers is paused")
    assert "paused" not in (await world.slash("help", user=ALICE)).content


# --- a long digest in a thread --------------------------------------------------------------------


def assert_within_limits(message: FakeMessage) -> None:
    body = {"content": message.content, "embeds": message.embeds}
    errors, empty = check_message(body, creating=True)
    assert not errors and not empty, errors


def assert_thread_digest(world: World, *, rejected: tuple[int, ...] = ()) -> None:
    """One header in the channel, the rest in one thread on it, every paper once, the last
    message ending with "and N more" and how to see them."""
    (header,) = bot_posts(world, world.channel_id)
    thread = world.fake.channels[header.id]  # a thread started on a message shares its id
    assert thread.is_thread and thread.parent_id == world.channel_id
    threads = [c for c in world.fake.channels.values() if c.is_thread]
    assert threads == [thread]
    assert 1 <= len(thread.name) <= 100 and thread.name.startswith("cs-cl · ")
    rest = bot_posts(world, thread.id)
    parts = [header, *rest]
    total = len(parts)
    assert total >= 3
    match = re.match(r"cs-cl · (\d+) new papers", header.content)
    assert match is not None and header.content.endswith(f"(1/{total})")
    found = int(match.group(1))
    assert [m.content for m in rest] == [
        f"cs-cl · continued ({i}/{total})" for i in range(2, total + 1)
    ]
    nonces = [m.nonce for m in parts]
    assert len(set(nonces)) == total and all(n is not None and len(n) <= 25 for n in nonces)
    for message in parts:
        assert_within_limits(message)
    cards = [e for m in parts for e in m.embeds]
    papers = [e["url"] for e in cards if e.get("url")]
    assert len(papers) == len(set(papers)) == 20  # max_papers: each once
    more = parts[-1].embeds[-1]
    assert more["title"] == f"and {found - 20} more"
    assert re.search(
        r"See them all with /search cat:cs\.CL since:\d{4}-\d\d-\d\d", more["description"]
    )
    assert [r.code for r in world.fake.rejections] == list(rejected)


async def test_a_long_digest_posts_its_header_in_the_channel_and_continues_in_a_thread(
    world: World,
) -> None:
    sub = await world.slash("subscribe", {"topic": "cs-cl", "thread": True}, user=CAROL)
    assert "in a thread" in sub.content
    done = await world.slash("digest now", {"topic": "cs-cl"}, user=CAROL)
    assert re.search(r"#papers: posted \d+ messages with \d+ papers", done.content)
    assert_thread_digest(world)
    assert len(world.fake.requests_to("POST", r"^/channels/\d+/messages/\d+/threads$")) == 1
    delivery = world.services.subscriptions.unfinished_deliveries(subscription(world).id)
    assert delivery == []


async def test_a_long_digest_stays_in_the_channel_when_the_bot_may_not_create_threads(
    world: World,
) -> None:
    guild = world.fake.guilds[world.guild_id]
    assert guild.bot_role_id is not None
    for role in (guild.everyone_role, guild.roles[guild.bot_role_id]):
        world.fake.set_role_permissions(
            world.guild_id, role.id, role.permissions & ~Perm.CREATE_PUBLIC_THREADS
        )
    await asyncio.sleep(0.05)  # the client hears of it
    sub = await world.slash("subscribe", {"topic": "cs-cl", "thread": True}, user=CAROL)
    assert not sub.ephemeral
    note = "Note: I am missing Create Public Threads there, so long digests will continue in the"
    assert note in sub.content
    done = await world.slash("digest now", {"topic": "cs-cl"}, user=CAROL)

    assert re.search(r"#papers: posted \d+ messages with \d+ papers", done.content)
    assert not [c for c in world.fake.channels.values() if c.is_thread]
    assert [r.code for r in world.fake.rejections] == [50013]  # the thread, refused once
    posts = bot_posts(world, world.channel_id)
    assert len(posts) >= 3
    assert NO_THREAD not in posts[0].content
    assert all(m.content.endswith(NO_THREAD) for m in posts[1:])
    for message in posts:
        assert_within_limits(message)
    papers = [e["url"] for m in posts for e in m.embeds if e.get("url")]
    assert len(papers) == len(set(papers)) == 20
    sub = subscription(world)
    assert not sub.paused
    assert world.services.subscriptions.unfinished_deliveries(sub.id) == []


async def test_subscribing_a_channel_the_bot_cannot_post_in_is_refused_with_the_reason(
    world: World,
) -> None:
    world.fake.set_bot_can_post(world.channel_id, False)
    await asyncio.sleep(0.05)
    reply = await world.slash("subscribe", {"topic": "cs-cl"}, user=CAROL)
    assert reply.ephemeral
    assert reply.content.startswith(
        "I cannot post digests in #papers: I am missing Send Messages and Embed Links there."
    )
    assert world.services.subscriptions.list_subscriptions(world.guild_id) == []
    world.fake.set_bot_can_post(world.channel_id, True)
    await asyncio.sleep(0.05)
    again = await world.slash("subscribe", {"topic": "cs-cl"}, user=CAROL)
    assert not again.ephemeral and "Note:" not in again.content
    assert len(world.services.subscriptions.list_subscriptions(world.guild_id)) == 1


@dataclass
class CrashingPoster:
    """The bot's poster, killed (kill -9) at one point of a thread digest."""

    inner: DiscordPoster
    at: str  # "thread_created" | "before_part" | "part_accepted"
    part: int = 2  # which post (1-based) the part crashes are about
    posts: int = 0

    async def post(self, channel_id: int, message: DigestMessage, *, nonce: str) -> int:
        self.posts += 1
        if self.at == "before_part" and self.posts == self.part:
            raise Crash("killed before Discord got the part")
        message_id = await self.inner.post(channel_id, message, nonce=nonce)
        if self.at == "part_accepted" and self.posts == self.part:
            raise Crash("killed after Discord accepted the part")
        return message_id

    async def find_posted(
        self, channel_id: int, message: DigestMessage, *, since: datetime
    ) -> int | None:
        return await self.inner.find_posted(channel_id, message, since=since)

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        thread_id = await self.inner.start_thread(channel_id, message_id, name)
        if self.at == "thread_created":
            raise Crash("killed after Discord created the thread")
        return thread_id


@pytest.mark.parametrize("at", ["thread_created", "before_part", "part_accepted"])
async def test_a_crash_during_a_thread_digest_then_a_restart_posts_nothing_twice(
    world: World, at: str
) -> None:
    await world.slash("subscribe", {"topic": "cs-cl", "thread": True}, user=CAROL)
    sub = subscription(world)
    store = world.services.subscriptions
    crashing = CrashingPoster(DiscordPoster(world.bot), at)
    with pytest.raises(Crash):
        await DigestService(store, crashing, holder="old-process").run_subscription(sub.id)
    (pending,) = store.unfinished_deliveries(sub.id)

    # The new process (another holder), a few minutes later: recover() runs first.
    restarted = DigestService(
        store,
        DiscordPoster(world.bot),
        holder="new-process",
        clock=lambda: datetime.now(UTC) + RESTART,
    )
    (result,) = await restarted.recover()
    assert result.outcome == "posted" and result.period_key == pending.period_key
    assert store.unfinished_deliveries(sub.id) == []
    # Discord refuses a second thread on the header (160004): the recorded-or-not thread is
    # found again; every other request was accepted.
    assert_thread_digest(world, rejected=(160004,) if at == "thread_created" else ())
    again = await restarted.run_subscription(sub.id, period_key=pending.period_key)
    assert again.outcome == "already_done"
    assert_thread_digest(world, rejected=(160004,) if at == "thread_created" else ())


# --- previewing a ready-made topic ----------------------------------------------------------------


async def test_preview_a_ready_made_topic_before_adding_it(world: World) -> None:
    preview = await world.slash("digest preview", {"topic": "cs-ro"}, user=ALICE)
    assert preview.ephemeral
    assert preview.content.startswith("Preview (only you see this): cs-ro · ")
    assert "cs-ro is a ready-made topic this server has not added yet" in preview.content
    assert "/subscribe cs-ro" in preview.content
    assert 1 <= len(preview.embeds) <= 10
    by_alias = await world.slash("digest preview", {"topic": "cs.RO"}, user=ALICE)
    assert by_alias.content == preview.content
    assert world.services.subscriptions.list_topics(world.guild_id) == []  # nothing added
    assert bot_posts(world, world.channel_id) == []  # nothing posted

    unknown = await world.slash("digest preview", {"topic": "no-such-topic"}, user=ALICE)
    assert unknown.ephemeral
    assert "no topic called no-such-topic, and no ready-made topic has that name" in unknown.content

    # Once added (and edited), the alias previews the server's own copy.
    await world.slash("topic add", {"name": "cs-ro"}, user=CAROL)
    await world.slash("topic edit", {"name": "cs-ro", "query": "cat:cs.RO robot"}, user=CAROL)
    own = await world.slash("digest preview", {"topic": "cs.RO"}, user=ALICE)
    assert own.content.startswith("Preview (only you see this): cs-ro · ")
    assert "ready-made" not in own.content
    assert world.fake.rejections == []


async def test_topic_autocomplete_offers_ready_made_topics_where_they_are_accepted(
    world: World,
) -> None:
    await world.slash("topic add", {"name": "lctx", "query": '"long context"'}, user=CAROL)

    async def complete(command: str, option: str, typed: str) -> list[str]:
        choices = await world.fake.send_autocomplete(
            world.guild_id, world.channel_id, CAROL, command, {option: typed}, focused=option
        )
        assert len(choices) <= 25
        assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
        return [c["value"] for c in choices]

    for command, option in (
        ("digest preview", "topic"),
        ("subscribe", "topic"),
        ("topic add", "name"),
        ("topic show", "name"),
    ):
        offered = await complete(command, option, "")
        assert offered[0] == "lctx" and "cs-ro" in await complete(command, option, "cs-r")
    for command, option in (
        ("digest now", "topic"),
        ("unsubscribe", "topic"),
        ("topic edit", "name"),
        ("topic remove", "name"),
    ):
        assert await complete(command, option, "") == ["lctx"]
        assert await complete(command, option, "cs-r") == []
