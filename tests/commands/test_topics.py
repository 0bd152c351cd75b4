"""Topic and subscription handlers on a real SQLite catalog (the recorded feed of 2024-11-28)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from rich.console import Console

from bot.app import Services, build_services
from bot.commands import default_registry, topics
from bot.commands import subscriptions as subs
from bot.commands.topics import Actor
from bot.console.repl import ConsoleSession, run_console
from bot.digests.console import ConsolePoster
from bot.digests.scheduler import DigestScheduler
from bot.digests.service import DigestService
from bot.domain.schedules import Schedule
from bot.messages.model import Reply, text_of
from bot.settings import Settings
from storage.search import SqlSearch
from storage.subscriptions import SqlSubscriptions

# The recorded papers were published on 2024-11-27/28: "the last seven days" is then.
THEN = datetime(2024, 11, 29, 12, 0, tzinfo=UTC)
_guilds = count(9000)


@dataclass
class Deps:
    """Services with a digest service on a chosen clock."""

    catalog: object
    search: SqlSearch
    subscriptions: SqlSubscriptions
    digests: DigestService
    scheduler: DigestScheduler | None = None


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, services: Services) -> Iterator[Services]:
    """A private copy of the module catalog (these tests add topics and subscriptions)."""
    source = services.settings.database_url.removeprefix("sqlite:///")
    target = tmp_path_factory.mktemp("topics") / "paperbot.db"
    target.write_bytes(Path(source).read_bytes())
    built = build_services(Settings(database_url=f"sqlite:///{target}"))
    yield built
    built.close()


def deps_at(services: Services, moment: datetime | None = None) -> Deps:
    digests = DigestService(
        services.subscriptions,
        ConsolePoster(),
        clock=(lambda: moment) if moment else (lambda: datetime.now(UTC)),
    )
    return Deps(services.catalog, services.search, services.subscriptions, digests)


def manager(guild: int | None = None) -> Actor:
    return Actor(guild or next(_guilds), 77, user_id=1, can_manage=True)


def member(actor: Actor) -> Actor:
    return Actor(actor.guild_id, actor.channel_id, user_id=2, can_manage=False)


def fields(reply: Reply) -> dict[str, str]:
    return {f.name: text_of(f.value) for f in reply.cards[0].fields}


async def test_a_query_the_parser_rejects_is_refused_with_its_message(services: Services) -> None:
    deps = deps_at(services, THEN)
    reply = await topics.add_topic(deps, manager(), "bad", 'cat:nonsense.XX "open')
    assert reply.error and reply.ephemeral
    assert reply.content.startswith("The query cannot be used: ")
    named = await topics.add_topic(deps, manager(), "Not A Name!", "llm")
    assert named.error and "not a topic name" in named.content


async def test_members_without_manage_channels_cannot_change_topics(services: Services) -> None:
    deps = deps_at(services, THEN)
    boss = manager()
    await topics.add_topic(deps, boss, "long-context", '"long context"')
    for reply in (
        await topics.add_topic(deps, member(boss), "x", "llm"),
        await topics.edit_topic(deps, member(boss), "long-context", "llm"),
        await topics.remove_topic(deps, member(boss), "long-context"),
        await subs.subscribe(deps, member(boss), "long-context"),
        await subs.unsubscribe(deps, member(boss), "long-context"),
        await subs.digest_now(deps, member(boss), "long-context"),
    ):
        assert reply.error and "Manage Channels" in reply.content
    assert (await topics.show_topic(deps, member(boss), "long-context")).error is False
    assert [t.name for t in services.subscriptions.list_topics(boss.guild_id)] == ["long-context"]


async def test_add_list_show_edit_remove(services: Services) -> None:
    deps = deps_at(services, THEN)
    boss = manager()
    added = await topics.add_topic(deps, boss, "ctx-window", '"long context" OR "million tokens"')
    assert not added.error
    assert added.cards[0].title == "Topic ctx-window added"
    recent = fields(added)["Last 7 days"]
    assert recent.endswith("papers of the last 7 days") and not recent.startswith("0 ")
    again = await topics.add_topic(deps, boss, "ctx-window", "llm")
    assert again.error and "already has a topic called ctx-window" in again.content

    listed = await topics.list_topics(deps, boss)
    card = listed.cards[0]
    assert "ctx-window" in text_of(card.description)
    assert any(f.name.startswith("Ready-made") and "cs-cl" in text_of(f.value) for f in card.fields)

    shown = await topics.show_topic(deps, boss, "ctx-window")
    assert fields(shown)["Query"] == '"long context" OR "million tokens"'
    assert fields(shown)["Delivered to"].startswith("no channel yet")

    edited = await topics.edit_topic(deps, boss, "ctx-window", "transformer cat:cs.CL")
    assert edited.cards[0].title == "Topic ctx-window updated"
    assert fields(edited)["Query"] == "transformer cat:cs.CL"
    bad_edit = await topics.edit_topic(deps, boss, "ctx-window", "cat:nonsense.XX")
    assert bad_edit.error and bad_edit.content.startswith("The query cannot be used")

    removed = await topics.remove_topic(deps, boss, "ctx-window")
    assert removed.content == "Removed the topic ctx-window."
    assert (await topics.show_topic(deps, boss, "ctx-window")).error


async def test_ready_made_topics_are_added_by_name_alone(services: Services) -> None:
    deps = deps_at(services, THEN)
    boss = manager()
    reply = await topics.add_topic(deps, boss, "cs.CL")
    assert reply.cards[0].title == "Topic cs-cl added (ready-made)"
    assert fields(reply)["Query"] == "cat:cs.CL"
    assert (await topics.add_topic(deps, boss, "cs-cl")).error
    unknown = await topics.add_topic(deps, boss, "no-such-thing")
    assert unknown.error and "needs a query unless" in unknown.content
    # subscribing to a ready-made topic adds it too
    sub = await subs.subscribe(deps, boss, "cs-lg")
    assert not sub.error
    names = [t.name for t in services.subscriptions.list_topics(boss.guild_id)]
    assert names == ["cs-cl", "cs-lg"]


async def test_a_guild_sees_only_its_own_topics(services: Services) -> None:
    deps = deps_at(services, THEN)
    one, two = manager(), manager()
    await topics.add_topic(deps, one, "secret-sauce", "diffusion")
    assert "secret-sauce" not in text_of((await topics.list_topics(deps, two)).cards[0].description)
    assert (await topics.show_topic(deps, two, "secret-sauce")).error
    assert (await topics.edit_topic(deps, two, "secret-sauce", "llm")).error
    assert (await topics.remove_topic(deps, two, "secret-sauce")).error
    assert (await subs.subscribe(deps, two, "secret-sauce")).error
    assert (await subs.digest_preview(deps, two, "secret-sauce")).error
    assert services.subscriptions.get_topic(one.guild_id, "secret-sauce") is not None


async def test_subscribe_defaults_and_schedule_errors(services: Services) -> None:
    deps = deps_at(services)
    boss = manager()
    await topics.add_topic(deps, boss, "agents", "agent*")
    reply = await subs.subscribe(deps, boss, "agents")
    assert "will receive agents daily at 08:00 (UTC)" in reply.content
    (sub,) = services.subscriptions.list_subscriptions(boss.guild_id)
    assert sub.schedule == Schedule("daily", "UTC", at=sub.schedule.at)
    changed = await subs.subscribe(deps, boss, "agents", None, "weekly fri 17:00", "europe/berlin")
    assert "now receives agents every Friday at 17:00 (Europe/Berlin)" in changed.content
    bad_zone = await subs.subscribe(deps, boss, "agents", None, "daily", "Mars/Olympus")
    assert bad_zone.error and "Unknown time zone" in bad_zone.content
    bad_when = await subs.subscribe(deps, boss, "agents", None, "whenever")
    assert bad_when.error and "as a schedule" in bad_when.content
    listed = await subs.list_subscriptions(deps, boss)
    assert "agents → channel 77: every Friday at 17:00" in text_of(listed.cards[0].description)
    gone = await subs.unsubscribe(deps, boss, "agents")
    assert gone.content == "channel 77 no longer receives agents."
    assert (await subs.unsubscribe(deps, boss, "agents")).error


async def test_the_console_subscribe_names_an_unknown_time_zone(services: Services) -> None:
    session = ConsoleSession(deps_at(services), default_registry())
    await session.handle("/topic add zones cat:cs.CL")
    bad = await session.handle("/subscribe zones daily 08:00 Mars/Base")
    assert bad is not None and bad.error
    assert "Unknown time zone" in bad.content and "Mars/Base" in bad.content
    good = await session.handle("/subscribe zones weekly mon 09:30 europe/berlin")
    assert good is not None and not good.error
    assert "every Monday at 09:30 (Europe/Berlin)" in good.content


async def test_preview_is_private_and_holds_the_papers(services: Services) -> None:
    deps = deps_at(services)
    boss = manager()
    await topics.add_topic(deps, boss, "language", "cat:cs.CL")
    preview = await subs.digest_preview(deps, boss, "language")
    assert preview.ephemeral and not preview.error
    assert preview.content.startswith("Preview (only you see this): ")
    assert 1 <= len(preview.cards) <= 10
    assert all(card.url and card.url.startswith("https://arxiv.org/abs/") for card in preview.cards)


async def test_a_paused_subscription_is_named_once_in_the_next_reply(services: Services) -> None:
    deps = deps_at(services)
    boss = manager()
    await topics.add_topic(deps, boss, "vision", "cat:cs.CV")
    await subs.subscribe(deps, boss, "vision")
    (sub,) = services.subscriptions.list_subscriptions(boss.guild_id)
    services.subscriptions.pause(sub.id, "channel 77 is gone (Discord answered 404)")
    first = await topics.list_topics(deps, boss)
    assert first.content.startswith("Note: the vision digest for channel 77 is paused (channel 77")
    assert "Use /subscribe again to resume." in first.content
    second = await topics.list_topics(deps, boss)
    assert "paused" not in second.content
    resumed = await subs.subscribe(deps, boss, "vision")
    assert "receives again" in resumed.content
    assert not services.subscriptions.list_subscriptions(boss.guild_id)[0].paused


async def test_the_console_runs_the_same_handlers(services: Services) -> None:
    deps = deps_at(services, THEN)
    registry = default_registry()
    session = ConsoleSession(deps, registry)
    guild = topics.CONSOLE_GUILD
    for name in [t.name for t in services.subscriptions.list_topics(guild)]:
        services.subscriptions.remove_topic(guild, name)
    added = await session.handle('/topic add lc "long context"')
    assert added is not None and added.cards[0].title == "Topic lc added"
    listed = await session.handle("/topic")
    assert listed is not None and "lc" in text_of(listed.cards[0].description)
    sub = await session.handle("/subscribe lc weekly mon 09:30 Europe/Berlin")
    assert sub is not None and "every Monday at 09:30 (Europe/Berlin)" in sub.content
    bad = await session.handle("/digest later lc")
    assert bad is not None and bad.error
    for command in (*topics.COMMANDS, *subs.COMMANDS):
        assert 1 <= len(command.description) <= 100
        assert all(1 <= len(p.description) <= 100 for p in command.params)


async def test_a_ready_made_topic_is_previewed_before_it_is_added(services: Services) -> None:
    deps = deps_at(services)
    boss = manager()
    preview = await subs.digest_preview(deps, member(boss), "cs.RO")
    assert preview.ephemeral and not preview.error
    assert preview.content.startswith("Preview (only you see this): cs-ro · ")
    assert "cs-ro is a ready-made topic this server has not added yet" in preview.content
    assert 1 <= len(preview.cards) <= 10
    assert services.subscriptions.list_topics(boss.guild_id) == []
    unknown = await subs.digest_preview(deps, boss, "no-such-topic")
    assert unknown.error and "no ready-made topic has that name" in unknown.content
    assert "cs-ro" in await topics.topic_names(deps, boss.guild_id, "cs-r")
    assert await topics.topic_names(deps, boss.guild_id, "cs-r", ready_made=False) == []


async def test_the_console_previews_ready_made_topics_and_tells_of_pauses(
    services: Services,
) -> None:
    deps = deps_at(services)
    session = ConsoleSession(deps, default_registry())
    guild = topics.CONSOLE_GUILD
    for name in [t.name for t in services.subscriptions.list_topics(guild)]:
        services.subscriptions.remove_topic(guild, name)
    preview = await session.handle("/digest preview long-context")
    assert preview is not None and not preview.error
    assert "long-context is a ready-made topic this server has not added yet" in preview.content

    await session.handle("/subscribe cs-cl")
    (sub,) = services.subscriptions.list_subscriptions(guild)
    services.subscriptions.pause(sub.id, "channel 0 is gone (Discord answered 404)")
    told = await session.handle("/stats")  # any command, not only topic commands
    assert told is not None
    assert told.content.startswith("Note: the cs-cl digest for console channel 0 is paused")
    assert told.cards  # the statistics follow
    again = await session.handle("/stats")
    assert again is not None and "paused" not in again.content


async def test_the_console_turns_the_pages_of_a_digest_preview(services: Services) -> None:
    deps = deps_at(services)
    session = ConsoleSession(deps, default_registry())
    await topics.add_topic(deps, Actor.console(), "clpages", "cat:cs.CL")
    first = await session.handle("/digest preview clpages")
    assert first is not None and first.pager is not None
    assert (first.pager.command, first.pager.argument) == ("digest", "preview clpages")
    pages = first.pager.pages
    assert pages >= 2 and first.content.endswith(f"(1/{pages})")
    second = await session.handle("n")
    assert second is not None and not second.error
    assert second.content.endswith(f"clpages · continued (2/{pages})")
    assert second.cards and {c.title for c in second.cards}.isdisjoint(c.title for c in first.cards)
    back = await session.handle("p")
    assert back is not None and back.cards == first.cards
    wrong = await default_registry().turn_page(deps, "digest", "now clpages", 2)
    assert wrong.error and wrong.content.startswith("Only a digest preview has pages")


def test_the_console_runs_the_scheduler_beside_its_input(services: Services) -> None:
    out = io.StringIO()
    status = run_console(
        services,
        stdin=io.StringIO("/stats\n"),
        console=Console(file=out, width=100),
        schedule=True,
    )
    assert status == 0
    assert "1,504" in out.getvalue()
    assert services.scheduler is None  # stopped, and the lease given back
    assert services.subscriptions.lease_holder("digests") is None
