"""/paper, /stats, /help and the error paths, end to end through the fake Discord."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import requires
from bot.discord.client import PaperBot
from bot.domain.papers import Author, Paper
from tests.fakediscord import Perm

from .conftest import TOKEN, World

HOSTILE = "@everyone <@&123> ||spoiler|| [link](http://evil)"


async def test_paper_answers_with_a_card(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    handle = await world.slash("paper", {"id": "2411.17700"})
    (embed,) = handle.embeds
    assert embed["title"].startswith("Exploring the Impact of Generative AI")
    assert embed["url"] == "https://arxiv.org/abs/2411.17700"
    assert embed["description"].startswith("**TL;DR** This study investigates")
    assert embed["footer"]["text"] == "arXiv:2411.17700 · v1"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Links"] == (
        "[abstract](https://arxiv.org/abs/2411.17700) · [PDF](https://arxiv.org/pdf/2411.17700v1)"
    )
    assert not handle.ephemeral and handle.components == []
    assert world.fake.rejections == []
    line = await _command_log(world, caplog)
    assert f"guild={world.guild_id} command=/paper latency_ms=" in line
    assert line.endswith(f"outcome=ok interaction={handle.id}")
    assert TOKEN not in caplog.text


async def test_unknown_id_is_a_short_private_error(world: World) -> None:
    handle = await world.slash("paper", {"id": "2411.99999"})
    assert handle.ephemeral and handle.embeds == []
    assert (
        handle.content == "No paper 2411.99999 in the catalog (it may not have been ingested yet)"
    )


async def test_text_that_names_no_paper_is_a_private_error(world: World) -> None:
    handle = await world.slash("paper", {"id": "not a paper"})
    assert handle.ephemeral
    assert handle.content.startswith("'not a paper' is not an arXiv id")


async def test_stats(world: World) -> None:
    handle = await world.slash("stats")
    fields = {f["name"]: f["value"] for f in handle.embeds[0]["fields"]}
    assert fields["Papers"] == "1,504"
    assert fields["Newest paper"] == "2024\\-11\\-28" or fields["Newest paper"] == "2024-11-28"


async def test_help_lists_every_command(world: World) -> None:
    handle = await world.slash("help")
    description = handle.embeds[0]["description"]
    for name in ("paper", "similar", "search", "author", "recent", "stats", "help"):
        assert f"**/{name}" in description
    assert "• query: What to look for" in description


async def test_hostile_paper_pings_no_one_and_shows_its_text(world: World) -> None:
    await _store(
        world,
        Paper(
            title=f"Attack {HOSTILE}",
            abstract=f"We propose {HOSTILE} and **bold** claims. `code` here.",
            authors=(Author("@here"), Author("<@&999>")),
            arxiv_id="2411.90001",
            version=1,
            categories=("cs.CR",),
            published=datetime(2024, 11, 28, tzinfo=UTC),
        ),
    )
    handle = await world.slash("paper", {"id": "2411.90001"})
    (embed,) = handle.embeds
    escaped = r"\@everyone \<\@&123> \|\|spoiler\|\| \[link\](http://evil)"
    assert embed["title"] == f"Attack {escaped}"
    assert (
        f"We propose {escaped} and \\*\\*bold\\*\\* claims. \\`code\\` here."
        in (embed["description"])
    )
    assert {f["name"]: f["value"] for f in embed["fields"]}["Authors"] == r"\@here, \<\@&999>"
    (request,) = [
        r for r in world.fake.requests_to("POST", r"/interactions/") if r.json and "data" in r.json
    ][-1:]
    assert request.json["data"]["allowed_mentions"] == {"parse": []}


async def test_over_long_paper_is_cut_and_never_rejected(world: World) -> None:
    await _store(
        world,
        Paper(
            title=" ".join(["Unreasonably"] * 25),  # 324 characters
            abstract=("We show that *markdown* heavy_text | with <tags> @mentions. " * 70)[:4000],
            authors=tuple(Author(f"Author{i} With-A-Long_Name") for i in range(150)),
            arxiv_id="2411.90002",
            version=7,
            categories=("cs.CL", "cs.LG"),
            published=datetime(2024, 11, 28, tzinfo=UTC),
        ),
    )
    handle = await world.slash("paper", {"id": "https://arxiv.org/abs/2411.90002v7"})
    (embed,) = handle.embeds
    assert world.fake.rejections == []
    assert embed["title"].endswith("…") and len(embed["title"]) <= 256
    assert embed["description"].endswith("…")
    authors = {f["name"]: f["value"] for f in embed["fields"]}["Authors"]
    assert authors.endswith(" et al.")


async def test_an_unexpected_failure_is_private_and_logged_with_the_interaction_id(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(world.services.catalog, "stats", broken)
    caplog.set_level(logging.INFO)
    handle = await world.slash("stats")
    assert handle.ephemeral
    assert (
        handle.content == f"Sorry, /stats failed. The error is logged as interaction {handle.id}."
    )
    line = await _command_log(world, caplog)
    assert line.endswith(f"outcome=failed interaction={handle.id}")
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert str(handle.id) in failure.getMessage() and failure.exc_info is not None


async def test_slow_work_is_deferred_and_a_429_mid_reply_still_delivers_once(
    world: World,
) -> None:
    async with _another_bot(world, defer_after=0.0) as bot:
        assert bot.defer_after == 0.0
        world.fake.fail_next("POST", r"^/webhooks/", status=429, retry_after=0.05)
        handle = await world.slash("paper", {"id": "2411.17701"})
        assert handle.response is not None and handle.response.type == 5  # deferred
        assert len(handle.visible_messages) == 1
        assert handle.embeds[0]["url"] == "https://arxiv.org/abs/2411.17701"
        (limited,) = world.fake.rejections
        assert limited.status == 429
        followups = world.fake.requests_to("POST", r"^/webhooks/")
        assert [r.status for r in followups] == [429, 200]


async def test_permission_helper_refuses_members_without_manage_channels(world: World) -> None:
    class Gated(commands.Cog):
        @app_commands.command(name="gated", description="Only for channel managers.")
        @requires("manage_channels")
        async def gated(self, interaction: discord.Interaction[Any]) -> None:
            await interaction.response.send_message("done")

    await world.bot.add_cog(Gated())
    await world.bot.sync_commands()
    synced = world.fake.command("gated")
    assert synced is not None
    assert int(synced["default_member_permissions"]) == Perm.MANAGE_CHANNELS
    refused = await world.slash("gated")
    assert refused.ephemeral
    assert refused.content == "You need the Manage Channels permission to use /gated."
    manager = world.fake.add_member(world.guild_id, 5151, "carol", Perm.MANAGE_CHANNELS)
    allowed = await world.slash("gated", user=manager)
    assert allowed.content == "done" and not allowed.ephemeral


# ---------------------------------------------------------------------------------- helpers


async def _command_log(world: World, caplog: pytest.LogCaptureFixture) -> str:
    """The command log line (written just after the reply is sent)."""
    lines = await world.fake.wait_for(
        lambda: [r.getMessage() for r in caplog.records if r.name == "bot.discord.commands"]
    )
    return lines[-1]


async def _store(world: World, paper: Paper) -> None:
    await asyncio.to_thread(world.services.catalog.upsert, [paper])


@contextlib.asynccontextmanager
async def _another_bot(world: World, **options: Any) -> AsyncIterator[PaperBot]:
    """Swap the world's bot for one built with ``options`` (same services, same fake)."""
    await world.bot.close()
    bot = world.new_bot(**options)
    async with world.fake.run_client(bot, token=TOKEN, configure=False):
        world.bot = bot
        yield bot
