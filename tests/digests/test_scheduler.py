"""The scheduler on a controllable clock: jobs fire at their slots in their time zones, a digest
missed during downtime runs once after a restart, and of two processes sharing one database only
the lease holder schedules, the other taking over when it dies."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.commands.topics import CONSOLE_CHANNEL, CONSOLE_GUILD
from bot.digests.scheduler import (
    CONSOLE_JOBS_TABLE,
    CONSOLE_LEASE_NAME,
    DigestScheduler,
    ManualClock,
    trigger_for,
)
from bot.digests.service import DigestService, Scope
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.papers import Paper
from bot.domain.schedules import parse_when
from bot.domain.subscriptions import Subscription
from bot.domain.topics import make_topic
from storage.catalog import SqlCatalog
from storage.db import create_db_engine
from storage.subscriptions import SqlSubscriptions
from tests.conftest import ARXIV_FIXTURES
from tests.digests.support import Crash, FakeDiscord, FakePoster, apscheduler_on

MONDAY = datetime(2024, 11, 25, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
GUILD = 42
CHANNEL = 7001
TTL = timedelta(seconds=60)


@functools.cache
def cs_cl() -> tuple[Paper, ...]:
    data = (ARXIV_FIXTURES / "rss_2024-11-28_all_archives.xml").read_bytes()
    return tuple(p for p in parse_arxiv_rss(data).papers if p.primary_category == "cs.CL")


@dataclass
class Process:
    """One bot process: its own engine, store, service and scheduler on the shared database."""

    engine: Engine
    store: SqlSubscriptions
    scheduler: DigestScheduler


@dataclass
class World:
    clock: ManualClock
    discord: FakeDiscord
    url: str
    schema: str | None
    engines: list[Engine]

    def process(self, holder: str, scope: Scope | None = None, **options: Any) -> Process:
        engine = create_db_engine(self.url, schema=self.schema)
        self.engines.append(engine)
        store = SqlSubscriptions(engine, SqlCatalog(engine, clock=self.clock), clock=self.clock)
        service = DigestService(
            store, FakePoster(self.discord), clock=self.clock, holder=holder, scope=scope
        )
        scheduler = DigestScheduler(
            engine,
            store,
            service,
            clock=self.clock,
            holder=holder,
            lease_ttl=TTL,
            renew_every=3600,  # the tests call step() themselves
            **options,
        )
        return Process(engine, store, scheduler)


@pytest.fixture
def world(
    db_url_and_schema: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    url, schema = db_url_and_schema
    clock = ManualClock(MONDAY)
    world = World(clock, FakeDiscord(clock), url, schema, [])
    with apscheduler_on(clock, monkeypatch):
        yield world
    for engine in world.engines:
        engine.dispose()


def setup_subscription(p: Process, when: str = "daily 08:00") -> Subscription:
    p.store.add_topic(make_topic(GUILD, "nlp", "cat:cs.CL", now=MONDAY))
    sub, _ = p.store.subscribe(GUILD, CHANNEL, "nlp", parse_when(when, timezone="Europe/Berlin"))
    return sub


async def test_a_daily_digest_fires_at_its_local_time(world: World) -> None:
    a = world.process("A")
    sub = setup_subscription(a)
    a.store.catalog.upsert(cs_cl()[:3])
    await a.scheduler.start()
    try:
        assert a.scheduler.is_leader
        assert a.scheduler.next_runs()[sub.job_id] == datetime(2024, 11, 25, 7, 0, tzinfo=UTC)

        world.clock.set(datetime(2024, 11, 25, 6, 59, tzinfo=UTC))
        await a.scheduler.run_due()
        assert world.discord.messages == []

        world.clock.set(datetime(2024, 11, 25, 7, 0, 1, tzinfo=UTC))
        await a.scheduler.run_due()
        assert len(world.discord.messages) == 1
        assert a.scheduler.next_runs()[sub.job_id] == datetime(2024, 11, 26, 7, 0, tzinfo=UTC)

        a.store.catalog.upsert(cs_cl()[3:5])
        world.clock.set(datetime(2024, 11, 26, 7, 0, 1, tzinfo=UTC))
        await a.scheduler.run_due()
        assert len(world.discord.messages) == 2
        assert world.discord.messages[1].message.paper_keys == tuple(p.key for p in cs_cl()[3:5])
    finally:
        await a.scheduler.stop()


async def test_a_digest_missed_during_downtime_runs_once_after_restart(world: World) -> None:
    a = world.process("A")
    sub = setup_subscription(a)
    a.store.catalog.upsert(cs_cl()[:3])
    await a.scheduler.start()
    await a.scheduler.stop(release=False)  # killed at 07:00; its lease lapses on its own

    world.clock.set(datetime(2024, 11, 25, 10, 30, tzinfo=UTC))  # back at 11:30 Berlin time
    b = world.process("B")
    await b.scheduler.start()
    try:
        assert b.scheduler.is_leader
        await b.scheduler.run_due()
        assert len(world.discord.messages) == 1
        assert world.discord.messages[0].message.paper_keys == tuple(p.key for p in cs_cl()[:3])
        assert b.scheduler.next_runs()[sub.job_id] == datetime(2024, 11, 26, 7, 0, tzinfo=UTC)

        world.clock.advance(timedelta(minutes=5))
        await b.scheduler.run_due()
        assert len(world.discord.messages) == 1
    finally:
        await b.scheduler.stop()


async def test_a_digest_missed_beyond_the_grace_waits_for_the_next_slot(world: World) -> None:
    a = world.process("A", misfire_grace={"daily": timedelta(hours=2)})
    sub = setup_subscription(a)
    a.store.catalog.upsert(cs_cl()[:3])
    await a.scheduler.start()
    await a.scheduler.stop(release=False)

    world.clock.set(datetime(2024, 11, 25, 20, 0, tzinfo=UTC))
    b = world.process("B", misfire_grace={"daily": timedelta(hours=2)})
    await b.scheduler.start()
    try:
        await b.scheduler.run_due()
        assert world.discord.messages == []  # too late for Monday's slot
        world.clock.set(datetime(2024, 11, 26, 7, 0, 1, tzinfo=UTC))
        await b.scheduler.run_due()
        assert [m.message.paper_keys for m in world.discord.messages] == [
            tuple(p.key for p in cs_cl()[:3])  # nothing lost
        ]
        assert b.scheduler.next_runs()[sub.job_id] == datetime(2024, 11, 27, 7, 0, tzinfo=UTC)
    finally:
        await b.scheduler.stop()


async def test_two_processes_one_scheduler_and_a_takeover(world: World) -> None:
    a = world.process("A")
    b = world.process("B")
    sub = setup_subscription(a)
    a.store.catalog.upsert(cs_cl()[:3])
    await a.scheduler.start()
    await b.scheduler.start()
    try:
        assert a.scheduler.is_leader and not b.scheduler.is_leader
        assert a.store.lease_holder("digests") == "A"

        world.clock.set(datetime(2024, 11, 25, 7, 0, 1, tzinfo=UTC))
        assert await a.scheduler.step() and not await b.scheduler.step()
        await a.scheduler.run_due()
        await b.scheduler.run_due()  # not the leader: runs nothing
        assert len(world.discord.messages) == 1

        await a.scheduler.stop(release=False)  # A dies
        world.clock.advance(TTL / 2)
        assert not await b.scheduler.step()  # A's lease has not expired yet
        world.clock.advance(TTL)
        assert await b.scheduler.step()  # taken over
        assert b.store.lease_holder("digests") == "B"

        b.store.catalog.upsert(cs_cl()[3:6])
        world.clock.set(datetime(2024, 11, 26, 7, 0, 1, tzinfo=UTC))
        await b.scheduler.run_due()
        assert len(world.discord.messages) == 2
        assert b.scheduler.next_runs()[sub.job_id] == datetime(2024, 11, 27, 7, 0, tzinfo=UTC)
        posted = [k for m in world.discord.messages for k in m.message.paper_keys]
        assert sorted(posted) == sorted(p.key for p in cs_cl()[:6])
    finally:
        await b.scheduler.stop()
        await a.scheduler.stop()


async def test_a_quick_restart_finishes_the_interrupted_digest_once(world: World) -> None:
    """Killed after Discord accepted part 2, back within a minute as a new process (another
    holder): the claim is not stale yet, so the restart leaves it for ``stale_after`` and then
    a retry job finishes it, still inside Discord's nonce window: nothing twice, nothing lost,
    and no later period posted early."""
    a = world.process("A")
    sub = setup_subscription(a)
    a.store.catalog.upsert(cs_cl()[:20])
    world.clock.set(datetime(2024, 11, 25, 7, 0, 1, tzinfo=UTC))
    a.scheduler.service.poster = FakePoster(world.discord, crash_after=0)
    with pytest.raises(Crash):  # A's digest run, killed after Discord accepted part 1
        await a.scheduler.run_subscription(sub.id)
    delivery = a.store.get_delivery(sub.id, "d:2024-11-25")
    assert delivery is not None and delivery.status == "claimed" and len(delivery.messages) >= 2

    world.clock.advance(TTL + timedelta(seconds=1))  # the new process gets the lease
    b = world.process("A2")
    await b.scheduler.start()
    try:
        assert b.scheduler.is_leader
        assert len(world.discord.messages) == 1  # the claim is left alone for now
        assert "retry:" + str(sub.id) in b.scheduler.next_runs()
        world.clock.advance(b.scheduler.service.stale_after)
        await b.scheduler.run_due()
        assert len(world.discord.messages) == len(delivery.messages)
        done = b.store.get_delivery(sub.id, "d:2024-11-25")
        assert done is not None and done.status == "committed"
        posted = world.discord.paper_keys()
        assert len(posted) == len(set(posted)) == 20
        assert [d.period_key for d in b.store.unfinished_deliveries()] == []
    finally:
        await b.scheduler.stop()


async def test_a_digest_now_that_discord_kept_failing_is_retried_by_the_leader(
    world: World,
) -> None:
    a = world.process("A")
    sub = setup_subscription(a)
    a.store.catalog.upsert(cs_cl()[:3])
    await a.scheduler.start()
    try:
        world.discord.busy = 100  # every post answers 429 until the service gives up for now
        (result,) = await a.scheduler.service.run_now(GUILD, "nlp")
        assert result.outcome == "retry_later" and world.discord.messages == []
        world.discord.busy = 0

        assert await a.scheduler.step()  # the lease round sweeps the unfinished deliveries
        assert f"retry:{sub.id}" in a.scheduler.next_runs()
        assert a.scheduler.sweep_unfinished() == 0  # one retry job is enough
        world.clock.advance(a.scheduler.retry_after)
        await a.scheduler.run_due()
        assert len(world.discord.messages) == 1
        assert sorted(world.discord.paper_keys()) == sorted(p.key for p in cs_cl()[:3])
        assert a.store.unfinished_deliveries() == []
        assert f"retry:{sub.id}" not in a.scheduler.next_runs()
    finally:
        await a.scheduler.stop()


async def test_a_digest_now_left_by_a_dead_follower_is_finished_by_the_leader(
    world: World,
) -> None:
    """``/digest now`` runs in whichever process got the command; when that is not the leader
    and it dies mid-digest, no restart would recover the claim, so the leader takes it over
    once it is stale (before, it waited for the subscription's next slot)."""
    a = world.process("A")
    b = world.process("B")
    sub = setup_subscription(a)
    a.store.catalog.upsert(cs_cl()[:20])
    await a.scheduler.start()
    await b.scheduler.start()
    try:
        assert a.scheduler.is_leader and not b.scheduler.is_leader
        b.scheduler.service.poster = FakePoster(world.discord, crash_after=0)
        with pytest.raises(Crash):  # B's /digest now, killed after Discord accepted part 1
            await b.scheduler.service.run_now(GUILD, "nlp")
        (left,) = a.store.unfinished_deliveries()
        assert left.holder == "B" and len(left.messages) >= 2

        assert await a.scheduler.step()
        assert f"retry:{sub.id}" in a.scheduler.next_runs()
        await a.scheduler.run_due()
        assert len(world.discord.messages) == 1  # B's claim is not stale yet
        world.clock.advance(a.scheduler.service.stale_after)
        await a.scheduler.run_due()
        assert len(world.discord.messages) == len(left.messages)
        posted = world.discord.paper_keys()
        assert len(posted) == len(set(posted)) == 20
        assert a.store.unfinished_deliveries() == []
    finally:
        await b.scheduler.stop(release=False)
        await a.scheduler.stop()


async def test_a_retry_job_the_dead_leader_set_late_is_brought_forward(world: World) -> None:
    """The job store outlives the leader: a retry job it set for later (its own digest, Discord
    failing) must not make the next leader wait past the claim's ``stale_after``."""
    a = world.process("A")
    sub = setup_subscription(a)
    a.store.catalog.upsert(cs_cl()[:20])
    await a.scheduler.start()
    a.scheduler.service.poster = FakePoster(world.discord, crash_after=0)
    with pytest.raises(Crash):
        await a.scheduler.service.run_now(GUILD, "nlp")
    (left,) = a.store.unfinished_deliveries()
    a.scheduler._retry(sub.id, timedelta(hours=1), left.period_key)  # as A's sweep might have
    await a.scheduler.stop(release=False)  # A dies

    world.clock.advance(TTL + timedelta(seconds=1))
    b = world.process("B")
    await b.scheduler.start()
    try:
        due = left.claimed_at + b.scheduler.service.stale_after
        assert b.scheduler.next_runs()[f"retry:{sub.id}"] == due
        world.clock.set(due + timedelta(seconds=1))
        await b.scheduler.run_due()
        assert len(world.discord.messages) == len(left.messages)
        assert b.store.unfinished_deliveries() == []
    finally:
        await b.scheduler.stop()


async def test_a_leader_that_loses_its_lease_stops_scheduling(world: World) -> None:
    a = world.process("A")
    b = world.process("B")
    setup_subscription(a)
    await a.scheduler.start()
    try:
        world.clock.advance(TTL * 2)  # A stalled past its lease; B takes it
        assert await b.scheduler.step()
        assert not await a.scheduler.step()
        assert not a.scheduler.is_leader and b.scheduler.is_leader
    finally:
        await a.scheduler.stop()
        await b.scheduler.stop()


async def test_jobs_follow_subscription_changes(world: World) -> None:
    a = world.process("A", ingest=_no_ingest)
    sub = setup_subscription(a)
    await a.scheduler.start()
    try:
        assert set(a.scheduler.next_runs()) == {sub.job_id, "ingest"}
        a.store.subscribe(GUILD, CHANNEL, "nlp", parse_when("weekly fri 18:00", timezone="UTC"))
        stats = a.scheduler.sync_jobs()
        assert (stats.changed, stats.added, stats.removed) == (1, 0, 0)
        assert a.scheduler.next_runs()[sub.job_id] == datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
        assert a.store.unsubscribe(GUILD, CHANNEL, "nlp")
        assert a.scheduler.sync_jobs().removed == 1
        assert set(a.scheduler.next_runs()) == {"ingest"}
        # The ingest job: 00:30 New York time on weekdays (Tuesday 05:30 UTC).
        assert a.scheduler.next_runs()["ingest"] == datetime(2024, 11, 26, 5, 30, tzinfo=UTC)
    finally:
        await a.scheduler.stop()


async def test_the_ingest_job_runs_then_arrivals_post(world: World) -> None:
    a = world.process("A", ingest=None)
    calls: list[datetime] = []

    async def ingest() -> None:
        calls.append(world.clock())
        a.store.catalog.upsert(cs_cl()[:2])

    a.scheduler.ingest = ingest
    setup_subscription(a, when="every 1h")
    await a.scheduler.start()
    try:
        world.clock.set(datetime(2024, 11, 26, 5, 30, 1, tzinfo=UTC))
        await a.scheduler.run_due()
        assert calls == [world.clock()]
        assert [m.message.paper_keys for m in world.discord.messages] == [
            tuple(p.key for p in cs_cl()[:2])
        ]
    finally:
        await a.scheduler.stop()


async def _no_ingest() -> None:
    return None


@pytest.mark.parametrize(
    ("when", "zone", "after", "expected"),
    [
        # Berlin falls back on 27 October 2024: 08:00 is 06:00 UTC before, 07:00 after.
        ("daily 08:00", "Europe/Berlin", "2024-10-26T07:00", "2024-10-27T07:00"),
        ("daily 08:00", "Europe/Berlin", "2024-10-26T05:00", "2024-10-26T06:00"),
        # New York springs forward on 10 March 2024: 02:30 does not exist; both say 03:30 EDT.
        ("daily 02:30", "America/New_York", "2024-03-09T12:00", "2024-03-10T07:30"),
        ("weekly sun 09:00", "America/New_York", "2024-11-01T00:00", "2024-11-03T14:00"),
    ],
)
def test_the_trigger_fires_when_the_schedule_says(
    when: str, zone: str, after: str, expected: str
) -> None:
    schedule = parse_when(when, timezone=zone)
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    fire = trigger_for(schedule).get_next_fire_time(None, moment)
    assert fire is not None
    assert fire.astimezone(UTC) == datetime.fromisoformat(expected).replace(tzinfo=UTC)
    assert schedule.next_fire(moment) == fire.astimezone(UTC)


async def test_the_console_and_the_bot_on_one_database_each_run_their_own_subscriptions(
    world: World,
) -> None:
    bot = world.process("bot", scope=Scope(CONSOLE_GUILD, only=False))
    console = world.process(
        "console",
        scope=Scope(CONSOLE_GUILD, only=True),
        lease_name=CONSOLE_LEASE_NAME,
        jobstore_table=CONSOLE_JOBS_TABLE,
    )
    terminal = FakeDiscord(world.clock)  # where the console "posts": its terminal
    console.scheduler.service.poster = FakePoster(terminal)
    server = setup_subscription(bot)
    bot.store.add_topic(make_topic(CONSOLE_GUILD, "nlp", "cat:cs.CL", now=MONDAY))
    own, _ = bot.store.subscribe(
        CONSOLE_GUILD, CONSOLE_CHANNEL, "nlp", parse_when("daily 08:00", timezone="Europe/Berlin")
    )
    bot.store.catalog.upsert(cs_cl()[:3])
    # The server's digest claimed, and the bot killed before it posted: an unfinished delivery
    # that the bot finishes when it starts again, and the console never does.
    poster = bot.scheduler.service.poster
    assert isinstance(poster, FakePoster)
    poster.crash_before = 0
    with pytest.raises(Crash):
        await bot.scheduler.service.run_subscription(server.id)
    poster.crash_before = None
    world.clock.advance(timedelta(minutes=5))  # long enough for any holder to resume it
    keys = sorted(p.key for p in cs_cl()[:3])

    await console.scheduler.start()
    await bot.scheduler.start()
    try:
        # Both lead, each under its own lease, each with its own subscription's job only.
        assert console.scheduler.is_leader and bot.scheduler.is_leader
        assert set(console.scheduler.next_runs()) == {own.job_id}
        assert set(bot.scheduler.next_runs()) == {server.job_id}
        assert terminal.messages == []
        assert sorted(world.discord.paper_keys(CHANNEL)) == keys  # finished by the bot

        world.clock.set(datetime(2024, 11, 25, 7, 0, 1, tzinfo=UTC))
        await console.scheduler.run_due()
        await bot.scheduler.run_due()
        assert sorted(terminal.paper_keys()) == keys
        assert {m.channel_id for m in terminal.messages} == {CONSOLE_CHANNEL}
        assert {m.channel_id for m in world.discord.messages} == {CHANNEL}
        assert sorted(world.discord.paper_keys(CHANNEL)) == keys  # nothing twice
        # The console's scheduler keeps to its job table: the bot's jobs are where they were.
        assert set(bot.scheduler.next_runs()) == {server.job_id}
    finally:
        await console.scheduler.stop()
        await bot.scheduler.stop()
