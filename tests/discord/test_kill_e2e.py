"""``kill -9`` of a real bot process in the middle of a digest, then a restart.

``paperbot run`` runs as a subprocess against the fake Discord. A member runs ``/digest now``
for a topic whose digest takes several messages; the fake kills the process with SIGKILL as the
second message arrives: before Discord creates it, or after Discord created it but before the
bot hears back. Nothing in the process runs after that (no handler, no rollback, no lease given
back). A second process on the same database takes over once the lease runs out and finishes
the claimed digest: every message of it is in the channel exactly once, with the ids the
delivery recorded, and every paper is delivered once. A message Discord created before the
kill is recognised by its nonce (a bot without Read Message History), or, once Discord has
forgotten the nonce, in the channel's history.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.subscriptions import Delivery
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.subscriptions import SqlSubscriptions
from tests.conftest import POSTGRES_URL, migrated_postgres_schema
from tests.fakediscord import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    FakeDiscord,
    FakeMessage,
    Perm,
)

from .conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
CAROL = 5151  # has Manage Channels
LEASE_S, RESUME_S = 2, 3


class Bot:
    """One ``paperbot run`` process pointed at the fake Discord."""

    def __init__(self, fake: FakeDiscord, database_url: str, log: Path) -> None:
        self.fake, self.log = fake, log
        self.env = {
            **os.environ,
            "DISCORD_TOKEN": TOKEN,
            "DATABASE_URL": database_url,
            "PAPERBOT_DISCORD_API_BASE": fake.api_base,
            "PAPERBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
            "PAPERBOT_SCHEDULER_LEASE_SECONDS": str(LEASE_S),
            "PAPERBOT_DIGEST_RESUME_AFTER_SECONDS": str(RESUME_S),
            "PAPERBOT_SEARCH_ENGINE": "database",
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        identified = self.fake.identify_count
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.env, cwd=ROOT, stdout=out, stderr=out
            )
        await self.fake.wait_for(
            lambda: self.fake.identify_count > identified, 60, f"IDENTIFY (log: {self.log})"
        )
        await self.fake.wait_for(lambda: self.fake.command("digest"), 30, "synced commands")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> int | None:
        if self.proc is None or self.proc.returncode is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGINT)
        try:
            return await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


async def _slash(
    fake: FakeDiscord, guild: int, channel: int, command: str, options: dict[str, str]
) -> str:
    handle = await fake.send_slash_command(guild, channel, CAROL, command, options)
    await fake.wait_for(lambda: handle.final is not None and not handle.final.loading, 30)
    assert handle.final is not None
    return handle.final.content


def _posts(fake: FakeDiscord, channel: int) -> list[FakeMessage]:
    """What the bot posted itself in the channel (digests carry a nonce; replies do not)."""
    return [m for m in fake.messages_in(channel) if m.nonce is not None]


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=TOKEN, nonce_window=request.param) as fake:
        yield fake


NO_HISTORY = ~Perm.READ_MESSAGE_HISTORY


@pytest.fixture
def url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[str]:
    """The database both processes share: a copy of the SQLite catalog, or a PostgreSQL schema
    of the test's own (reached through ``search_path`` in the URL), empty: the first ``paperbot
    run`` loads the bundled sample into it."""
    if request.param == "sqlite":
        copy = tmp_path / "paperbot.db"
        copy.write_bytes(Path(database_url.removeprefix("sqlite:///")).read_bytes())
        yield f"sqlite:///{copy}"
        return
    with migrated_postgres_schema("paperbot_kill") as schema:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.mark.parametrize(
    ("moment", "fake", "history", "url"),
    [
        ("before_discord_creates_it", 300.0, True, "sqlite"),
        ("after_discord_created_it", 300.0, False, "sqlite"),  # the nonce finds it
        ("after_discord_created_it", 0.0, True, "sqlite"),  # the nonce is forgotten: history
        ("after_discord_created_it", 0.0, True, "postgresql"),
    ],
    indirect=["fake", "url"],
    ids=["before", "after-nonce", "after-history", "after-history-postgresql"],
)
async def test_kill_9_while_posting_a_digest_then_a_restart_posts_each_message_once(
    fake: FakeDiscord, url: str, tmp_path: Path, moment: str, history: bool
) -> None:
    if history:
        guild = fake.add_guild("Lab")
    else:
        guild = fake.add_guild(
            "Lab",
            everyone_permissions=DEFAULT_EVERYONE_PERMISSIONS & NO_HISTORY,
            bot_permissions=DEFAULT_BOT_PERMISSIONS & NO_HISTORY,
        )
    channel = fake.add_channel(guild, "papers")
    fake.add_member(guild, CAROL, "carol", Perm.MANAGE_CHANNELS)
    log = tmp_path / "bot.log"
    first, second = Bot(fake, url, log), Bot(fake, url, log)
    try:
        await first.start()
        await _slash(fake, guild, channel, "topic add", {"name": "language", "query": "cat:cs.CL"})
        subscribed = await _slash(fake, guild, channel, "subscribe", {"topic": "language"})
        assert "#papers will receive language" in subscribed

        seen = 0

        def die(method: str, path: str, body: Any) -> bool:
            nonlocal seen
            seen += 1
            if seen != 2:
                return False
            first.kill()  # SIGKILL: the process stops here, whatever it was doing
            return not after  # dropped: Discord never acts on it

        after = moment == "after_discord_created_it"
        hook = fake.on_request("POST", rf"^/channels/{channel}/messages$", die, after=after)
        await fake.send_slash_command(guild, channel, CAROL, "digest now", {"topic": "language"})
        assert first.proc is not None
        assert await asyncio.wait_for(first.proc.wait(), 30) == -signal.SIGKILL
        fake.hooks.remove(hook)
        created = 1 if moment == "before_discord_creates_it" else 2
        assert len(_posts(fake, channel)) == created

        engine = create_db_engine(url)
        store = SqlSubscriptions(engine, SqlCatalog(engine))
        (sub,) = store.list_subscriptions(guild)
        (claimed,) = store.unfinished_deliveries(sub.id)
        assert len(claimed.messages) >= 3, "the sample gives cs.CL a digest of several messages"
        assert claimed.message_ids[1] is None  # the bot never learned of part 2

        await second.start()

        def done() -> Delivery | None:
            found = store.get_delivery(sub.id, claimed.period_key)
            return found if found is not None and found.finished else None

        finished = await fake.wait_for(done, 60, f"the digest finished (log: {log})")
        posts = _posts(fake, channel)
        assert [m.id for m in posts] == list(finished.message_ids)  # each part once, in order
        assert len({m.nonce for m in posts}) == len(posts)
        assert finished.messages == claimed.messages  # what was claimed is what went out
        keys = finished.paper_keys
        assert len(keys) == len(set(keys))
        assert store.delivered_keys(channel) >= set(keys)
        assert store.unfinished_deliveries() == []
        engine.dispose()
        lookups = fake.requests_to("GET", rf"^/channels/{channel}/messages$")
        assert len(lookups) == 1  # the resumed part only, once
        refused = [r for r in fake.rejections if r.reason != "dropped by a hook"]
        if history:
            assert refused == [] and lookups[0].status == 200
        else:  # the bot may not read the history: it says so in its log and trusts the nonce
            assert [(r.method, r.status) for r in refused] == [("GET", 403)]
            assert "could not read the history of channel" in log.read_text()
    finally:
        await first.stop()
        assert await second.stop() in (None, 0, 130, -signal.SIGINT)


@pytest.mark.parametrize("fake", [0.0], indirect=True)  # Discord forgot the nonce
@pytest.mark.parametrize("url", ["postgresql"], indirect=True)
async def test_two_processes_on_postgresql_the_leader_finishes_a_digest_the_other_left(
    fake: FakeDiscord, url: str, tmp_path: Path
) -> None:
    """Two ``paperbot run`` on one PostgreSQL database: the first takes the scheduler lease, the
    second gets the commands (its gateway session is the newer). The second dies (SIGKILL) in
    the middle of a ``/digest now``; nobody restarts it. The leader, which never ran that
    command, finishes the digest once the claim is stale: each message once."""
    guild = fake.add_guild("Lab")
    channel = fake.add_channel(guild, "papers")
    fake.add_member(guild, CAROL, "carol", Perm.MANAGE_CHANNELS)
    leader = Bot(fake, url, tmp_path / "leader.log")
    other = Bot(fake, url, tmp_path / "other.log")
    try:
        await leader.start()
        await other.start()
        await _slash(fake, guild, channel, "topic add", {"name": "language", "query": "cat:cs.CL"})
        await _slash(fake, guild, channel, "subscribe", {"topic": "language"})

        seen = 0

        def die(method: str, path: str, body: Any) -> bool:
            nonlocal seen
            seen += 1
            if seen == 2:
                other.kill()
            return False

        fake.on_request("POST", rf"^/channels/{channel}/messages$", die, after=True)
        await fake.send_slash_command(guild, channel, CAROL, "digest now", {"topic": "language"})
        assert other.proc is not None
        assert await asyncio.wait_for(other.proc.wait(), 30) == -signal.SIGKILL
        fake.hooks.clear()

        engine = create_db_engine(url)
        store = SqlSubscriptions(engine, SqlCatalog(engine))
        assert leader.proc is not None
        assert store.lease_holder("digests") == f"{socket.gethostname()}:{leader.proc.pid}"
        (sub,) = store.list_subscriptions(guild)
        (left,) = store.unfinished_deliveries(sub.id)
        assert left.holder == f"{socket.gethostname()}:{other.proc.pid}"

        def done() -> Delivery | None:
            found = store.get_delivery(sub.id, left.period_key)
            return found if found is not None and found.finished else None

        finished = await fake.wait_for(done, 60, "the leader finished the digest")
        posts = _posts(fake, channel)
        assert [m.id for m in posts] == list(finished.message_ids)
        assert len(posts) == len(left.messages) >= 3
        assert store.unfinished_deliveries() == []
        engine.dispose()
        told = (tmp_path / "leader.log").read_text()
        assert "finished the interrupted digest" in told
        assert "takes the scheduler lease" not in (tmp_path / "other.log").read_text()
        assert fake.rejections == []
    finally:
        await other.stop()
        await leader.stop()
