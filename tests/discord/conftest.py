"""End-to-end harness: the real PaperBot, a real SQLite catalog, and the local fake Discord.

The recorded arXiv feed is imported once per test module into a migrated SQLite file; each test
gets its own FakeDiscord and bot, pointed at the fake through the settings (as a REST proxy
would be), not by patching discord.py from outside.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.gateway import DiscordWebSocket

from bot.app import Services, build_services
from bot.discord.client import PaperBot
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.settings import Settings
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.migrate import upgrade
from tests.fakediscord import FakeDiscord, InteractionHandle

FEED = (
    Path(__file__).resolve().parents[1] / "fixtures" / "arxiv" / "rss_2024-11-28_all_archives.xml"
)
TOKEN = "paperbot-test-token.s3cr3t"
ALICE, BOB = 4242, 4343


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite catalog holding the 1,504 papers of the recorded feed."""
    path = tmp_path_factory.mktemp("discord-catalog") / "paperbot.db"
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    upgrade(engine)
    SqlCatalog(engine).upsert(parse_arxiv_rss(FEED.read_bytes()).papers)
    engine.dispose()
    return url


@pytest.fixture(autouse=True)
def _restore_discord_endpoints(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The bot sets these class attributes from its settings; put them back after each test."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    yield


def make_services(database_url: str, fake: FakeDiscord, **settings: Any) -> Services:
    return build_services(
        Settings(
            database_url=database_url,
            discord_token=TOKEN,
            discord_api_base=fake.api_base,
            discord_gateway_url=fake.gateway_url,
            **settings,
        )
    )


@dataclass
class World:
    fake: FakeDiscord
    bot: PaperBot
    services: Services
    guild_id: int
    channel_id: int

    async def slash(
        self, name: str, options: dict[str, Any] | None = None, *, user: int = ALICE
    ) -> InteractionHandle:
        """Run a slash command and wait until its answer is complete (not "thinking")."""
        handle = await self.fake.send_slash_command(
            self.guild_id, self.channel_id, user, name, options or {}
        )
        await self.fake.wait_for(
            lambda: handle.final is not None and not handle.final.loading, timeout=5.0
        )
        return handle

    def new_bot(self, **options: Any) -> PaperBot:
        return PaperBot(self.services, guild_ready_timeout=0.1, **options)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with FakeDiscord(token=TOKEN) as fake:
        gid = fake.add_guild("Lab")
        cid = fake.add_channel(gid, "papers")
        fake.add_member(gid, ALICE, "alice")
        fake.add_member(gid, BOB, "bob")
        services = make_services(database_url, fake)
        bot = PaperBot(services, guild_ready_timeout=0.1)
        try:
            async with fake.run_client(bot, token=TOKEN, configure=False):
                yield World(fake, bot, services, gid, cid)
        finally:
            services.close()
