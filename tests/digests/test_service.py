"""Delivering digests exactly once: claims, crashes at every step and restarts, Discord failing,
channels that disappear, empty periods, threads, and ``/digest now``."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.digests.scheduler import ManualClock
from bot.digests.service import DigestService, make_nonce
from bot.domain.digest import NO_THREAD, DigestOptions
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.paper_notes import PaperNotes, take_notes
from bot.domain.papers import Paper
from bot.domain.schedules import parse_when
from bot.domain.subscriptions import NotFound, Subscription
from bot.domain.topics import make_topic
from storage.catalog import SqlCatalog
from storage.subscriptions import SqlSubscriptions
from tests.conftest import ARXIV_FIXTURES
from tests.digests.support import Crash, FakeDiscord, FakePoster, Notices

MONDAY = datetime(2024, 11, 25, 6, 0, tzinfo=UTC)
GUILD = 42
CHANNEL, SECOND_CHANNEL = 7001, 7002
RESTART = timedelta(minutes=3)  # a restart takes this long: within Discord's nonce window


@functools.cache
def fixture_papers() -> tuple[Paper, ...]:
    data = (ARXIV_FIXTURES / "rss_2024-11-28_all_archives.xml").read_bytes()
    return tuple(parse_arxiv_rss(data).papers)


def cs_cl(n: int, skip: int = 0) -> list[Paper]:
    return [p for p in fixture_papers() if p.primary_category == "cs.CL"][skip : skip + n]


async def no_sleep(_seconds: float) -> None:
    return None


@dataclass
class World:
    clock: ManualClock
    store: SqlSubscriptions
    discord: FakeDiscord
    notices: Notices

    def service(self, holder: str = "A", poster: Any = None, **options: Any) -> DigestService:
        return DigestService(
            self.store,
            poster or FakePoster(self.discord),
            clock=self.clock,
            holder=holder,
            notifier=self.notices,
            sleep=no_sleep,
            options=options.pop("digest", None),
            **options,
        )

    def subscribe(
        self, when: str = "daily 08:00", channel: int = CHANNEL, **kwargs: Any
    ) -> Subscription:
        sub, _ = self.store.subscribe(
            GUILD, channel, "nlp", parse_when(when, timezone="Europe/Berlin"), **kwargs
        )
        return sub

    def add(self, papers: list[Paper]) -> None:
        self.store.catalog.upsert(papers)


@pytest.fixture
def world(engine: Engine) -> World:
    clock = ManualClock(MONDAY)
    store = SqlSubscriptions(engine, SqlCatalog(engine, clock=clock), clock=clock)
    store.add_topic(make_topic(GUILD, "nlp", "cat:cs.CL", now=MONDAY))
    return World(clock, store, FakeDiscord(clock), Notices())


def keys(papers: list[Paper]) -> list[str]:
    return [p.key for p in papers]


def no_repeats(items: list[str]) -> bool:
    return all(n == 1 for n in Counter(items).values())


# --- the normal path ------------------------------------------------------------------------------


async def test_a_due_digest_posts_the_pending_papers_once(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(5))
    world.clock.advance(timedelta(hours=1))  # 08:00 in Berlin
    service = world.service()

    first = await service.run_subscription(sub.id)
    again = await service.run_subscription(sub.id)

    assert first.outcome == "posted" and first.period_key == "d:2024-11-25"
    assert first.papers == 5
    assert again.outcome == "already_done"
    assert sorted(world.discord.paper_keys(CHANNEL)) == sorted(keys(cs_cl(5)))
    assert len(world.discord.in_channel(CHANNEL)) == 1
    posted = world.discord.in_channel(CHANNEL)[0]
    assert posted.nonce == make_nonce(sub.id, "d:2024-11-25") + "00"
    assert len(posted.nonce) <= 25
    assert posted.message.content.startswith("nlp · 5 new papers")


async def test_the_next_period_brings_only_new_papers(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(3))
    world.clock.advance(timedelta(hours=1))
    service = world.service()
    await service.run_subscription(sub.id)

    world.clock.advance(timedelta(hours=12))
    world.add(cs_cl(2, skip=3))  # arrive Monday evening: late for Monday's digest
    world.clock.advance(timedelta(hours=12))  # Tuesday 08:00
    tuesday = await service.run_subscription(sub.id)

    assert tuesday.outcome == "posted" and tuesday.period_key == "d:2024-11-26"
    assert world.discord.paper_keys(CHANNEL) == keys(cs_cl(3)) + sorted(
        keys(cs_cl(2, skip=3)), key=keys(cs_cl(2, skip=3)).index
    )
    assert no_repeats(world.discord.paper_keys(CHANNEL))


async def test_a_preview_claims_and_posts_nothing(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(4))
    service = world.service()
    digest = service.preview(GUILD, "nlp")
    assert digest.count == 4
    assert world.discord.messages == []
    assert world.store.get_delivery(sub.id, sub.schedule.period_key(world.clock())) is None


async def test_a_preview_without_a_subscription_shows_a_first_digest(world: World) -> None:
    world.add(cs_cl(4))
    digest = world.service().preview(GUILD, "nlp")
    assert digest.count == 4
    with pytest.raises(NotFound):
        world.service().preview(GUILD, "no-such-topic")


# --- crashes and restarts -------------------------------------------------------------------------


async def test_a_crash_between_claim_and_post_then_a_restart(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(5))
    world.clock.advance(timedelta(hours=1))
    with pytest.raises(Crash):
        await world.service("A", FakePoster(world.discord, crash_before=0)).run_subscription(sub.id)
    delivery = world.store.get_delivery(sub.id, "d:2024-11-25")
    assert delivery is not None and delivery.status == "claimed"
    assert world.discord.messages == []

    world.clock.advance(RESTART)
    world.add(cs_cl(2, skip=5))  # arrives during the downtime: not in the claimed digest
    restarted = world.service("B")
    recovered = await restarted.recover()

    assert [r.outcome for r in recovered] == ["posted"]
    assert world.discord.paper_keys(CHANNEL) == list(delivery.paper_keys)
    assert (await restarted.run_subscription(sub.id)).outcome == "already_done"
    world.clock.advance(timedelta(days=1))
    tuesday = await restarted.run_subscription(sub.id)
    assert tuesday.outcome == "posted"
    assert sorted(world.discord.paper_keys(CHANNEL)) == sorted(keys(cs_cl(7)))
    assert no_repeats(world.discord.paper_keys(CHANNEL))


async def test_a_crash_after_discord_accepted_the_post_then_a_restart(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(5))
    world.clock.advance(timedelta(hours=1))
    with pytest.raises(Crash):
        await world.service("A", FakePoster(world.discord, crash_after=0)).run_subscription(sub.id)
    assert len(world.discord.messages) == 1  # on Discord, but the bot never heard back
    delivery = world.store.get_delivery(sub.id, "d:2024-11-25")
    assert delivery is not None and delivery.message_ids == (None,)

    world.clock.advance(RESTART)
    # A bot that may not read the channel's history: the nonce alone prevents a second post.
    blind = FakePoster(world.discord, history=False)
    result = await world.service("B", blind).run_subscription(sub.id)

    assert result.outcome == "already_done"  # the interrupted one was finished first
    assert blind.lookups == 1
    assert len(world.discord.messages) == 1  # the same nonce: Discord returned the message
    done = world.store.get_delivery(sub.id, "d:2024-11-25")
    assert done is not None and done.status == "committed"
    assert done.message_ids == (world.discord.messages[0].id,)
    assert world.store.delivered_keys(CHANNEL) == set(keys(cs_cl(5)))


@pytest.mark.parametrize("history", [True, False])
async def test_a_crash_after_discord_accepted_a_part_then_a_restart_past_the_nonce_window(
    world: World, history: bool
) -> None:
    sub = world.subscribe()
    world.add(cs_cl(30))
    world.clock.advance(timedelta(hours=1))
    options = DigestOptions(max_papers=25)
    with pytest.raises(Crash):
        crashing = FakePoster(world.discord, crash_after=1)
        await world.service("A", crashing, digest=options).run_subscription(sub.id)
    claimed = world.store.get_delivery(sub.id, "d:2024-11-25")
    assert claimed is not None and claimed.message_ids[1] is None
    assert len(world.discord.in_channel(CHANNEL)) == 2

    world.clock.advance(timedelta(hours=2))  # Discord has forgotten the nonce
    poster = FakePoster(world.discord, history=history)
    await world.service("B", poster, digest=options).recover()

    posted = world.discord.in_channel(CHANNEL)
    assert poster.lookups == 1  # the first unrecorded part only
    done = world.store.get_delivery(sub.id, "d:2024-11-25")
    assert done is not None and done.status == "committed"
    if history:  # found in the channel's history: recorded, not posted again
        assert len(posted) == len(claimed.messages)
        assert list(done.message_ids) == [m.id for m in posted]
        assert no_repeats(world.discord.paper_keys(CHANNEL))
    else:  # what Discord does not allow: without the history, part 2 goes out twice
        assert len(posted) == len(claimed.messages) + 1
        assert posted[1].message == posted[2].message
    assert world.store.delivered_keys(CHANNEL) == set(keys(cs_cl(30)))


async def test_a_crash_between_post_and_commit_then_a_restart(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(5))
    world.clock.advance(timedelta(hours=1))
    service = world.service("A")
    original = world.store.record_posted

    def crash(*_args: Any) -> Any:
        raise Crash("killed before commit")

    world.store.record_posted = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await service.run_subscription(sub.id)
    world.store.record_posted = original  # type: ignore[method-assign]
    delivery = world.store.get_delivery(sub.id, "d:2024-11-25")
    assert delivery is not None and delivery.status == "posted"

    world.clock.advance(timedelta(hours=2))  # long after Discord's nonce window
    results = await world.service("B").recover()

    assert [r.outcome for r in results] == ["posted"]
    assert len(world.discord.messages) == 1
    done = world.store.get_delivery(sub.id, "d:2024-11-25")
    assert done is not None and done.status == "committed"


async def test_a_crash_in_the_middle_of_a_long_digest_then_a_restart(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(30))
    world.clock.advance(timedelta(hours=1))
    options = DigestOptions(max_papers=25)
    crashing = FakePoster(world.discord, crash_before=1)
    with pytest.raises(Crash):
        await world.service("A", crashing, digest=options).run_subscription(sub.id)
    delivery = world.store.get_delivery(sub.id, "d:2024-11-25")
    assert delivery is not None and delivery.status == "posted"
    parts = len(delivery.messages)
    assert parts >= 3

    world.clock.advance(timedelta(hours=3))  # beyond the nonce window: recorded parts count
    await world.service("B", digest=options).recover()

    assert len(world.discord.in_channel(CHANNEL)) == parts
    posted = world.discord.paper_keys(CHANNEL)
    assert no_repeats(posted) and sorted(posted) == sorted(keys(cs_cl(30)))
    last = world.discord.in_channel(CHANNEL)[-1].message
    assert last.cards[-1].title == "and 5 more"


async def test_two_processes_racing_for_one_period_post_once(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(5))
    world.clock.advance(timedelta(hours=1))
    # A claims and dies before posting; B, a moment later, must not post over A's claim.
    with pytest.raises(Crash):
        await world.service("A", FakePoster(world.discord, crash_before=0)).run_subscription(sub.id)
    world.clock.advance(timedelta(seconds=10))
    busy = await world.service("B").run_subscription(sub.id)
    assert busy.outcome == "in_progress"
    assert world.discord.messages == []
    world.clock.advance(timedelta(minutes=5))
    assert (await world.service("B").run_subscription(sub.id)).outcome == "already_done"
    assert len(world.discord.messages) == 1


# --- Discord failing ------------------------------------------------------------------------------


async def test_429_is_retried_with_the_same_nonce(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(3))
    world.clock.advance(timedelta(hours=1))
    world.discord.busy = 2
    result = await world.service().run_subscription(sub.id)
    assert result.outcome == "posted"
    assert len(world.discord.messages) == 1


async def test_when_discord_keeps_failing_the_claim_waits_for_a_later_run(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(3))
    world.clock.advance(timedelta(hours=1))
    world.discord.busy = 10
    first = await world.service(attempts=3).run_subscription(sub.id)
    assert first.outcome == "retry_later"
    assert world.discord.messages == []

    world.discord.busy = 0
    world.clock.advance(timedelta(minutes=5))
    second = await world.service(attempts=3).run_subscription(sub.id)
    assert second.outcome == "already_done"
    assert len(world.discord.messages) == 1
    assert world.store.delivered_keys(CHANNEL) == set(keys(cs_cl(3)))


async def test_a_channel_that_answers_403_pauses_the_subscription(world: World) -> None:
    sub = world.subscribe()
    world.add(cs_cl(3))
    world.clock.advance(timedelta(hours=1))
    world.discord.gone.add(CHANNEL)
    service = world.service()

    result = await service.run_subscription(sub.id)

    assert result.outcome == "paused" and "403" in result.detail
    paused = world.store.get_subscription(sub.id)
    assert paused is not None and paused.paused and "403" in (paused.pause_reason or "")
    assert world.notices.sent == [(sub.id, paused.pause_reason)]
    assert (await service.run_subscription(sub.id)).outcome == "skipped_paused"
    assert world.store.delivered_keys(CHANNEL) == set()

    # The bot is let back in and someone subscribes again: the papers come in the next digest.
    world.discord.gone.clear()
    world.subscribe()
    world.clock.advance(timedelta(days=1))
    resumed = await service.run_subscription(sub.id)
    assert resumed.outcome == "posted"
    assert sorted(world.discord.paper_keys(CHANNEL)) == sorted(keys(cs_cl(3)))


# --- empty periods, threads, /digest now ----------------------------------------------------------


async def test_an_empty_period_posts_nothing_by_default(world: World) -> None:
    sub = world.subscribe()
    world.clock.set(datetime(2024, 11, 30, 7, 0, tzinfo=UTC))  # Saturday 08:00 in Berlin
    result = await world.service().run_subscription(sub.id)
    assert result.outcome == "empty" and "weekend" in result.detail
    assert world.discord.messages == []
    assert world.store.get_delivery(sub.id, "d:2024-11-30") is None


async def test_an_empty_period_posts_one_notice_when_asked(world: World) -> None:
    sub = world.subscribe(notify_empty=True)
    world.clock.set(datetime(2024, 11, 29, 7, 0, tzinfo=UTC))  # Friday after Thanksgiving
    service = world.service()
    result = await service.run_subscription(sub.id)
    await service.run_subscription(sub.id)

    assert result.outcome == "posted" and result.papers == 0
    [notice] = world.discord.messages
    assert notice.message.content == (
        "nlp: no new papers — arXiv holiday (Thanksgiving): no announcement."
    )


async def test_a_long_digest_continues_in_a_thread_when_asked(world: World) -> None:
    sub = world.subscribe(use_thread=True)
    world.add(cs_cl(25))
    world.clock.advance(timedelta(hours=1))
    result = await world.service(digest=DigestOptions(max_papers=20)).run_subscription(sub.id)

    assert result.outcome == "posted"
    in_channel = world.discord.in_channel(CHANNEL)
    assert len(in_channel) == 1
    thread = in_channel[0].id
    assert world.discord.threads == {thread: CHANNEL}
    assert len(world.discord.in_channel(thread)) == len(result.message_ids) - 1
    assert sorted(world.discord.paper_keys(CHANNEL)) == sorted(keys(cs_cl(25)))


async def test_a_refused_thread_leaves_the_digest_in_the_channel_and_says_why(
    world: World,
) -> None:
    sub = world.subscribe(use_thread=True)
    world.discord.no_threads.add(CHANNEL)
    world.add(cs_cl(25))
    world.clock.advance(timedelta(hours=1))
    result = await world.service(digest=DigestOptions(max_papers=20)).run_subscription(sub.id)

    assert result.outcome == "posted"
    assert world.discord.threads == {}
    posted = world.discord.in_channel(CHANNEL)
    assert len(posted) == len(result.message_ids) > 1
    assert NO_THREAD not in posted[0].message.content
    assert all(m.message.content.endswith(NO_THREAD) for m in posted[1:])
    assert sorted(world.discord.paper_keys(CHANNEL)) == sorted(keys(cs_cl(25)))
    fresh = world.store.get_subscription(sub.id)
    assert fresh is not None and not fresh.paused


async def test_digest_now_posts_to_every_subscribed_channel_of_the_guild(world: World) -> None:
    first = world.subscribe()
    second = world.subscribe(channel=SECOND_CHANNEL)
    world.add(cs_cl(3))
    service = world.service()

    results = await service.run_now(GUILD, "nlp")

    assert [r.outcome for r in results] == ["posted", "posted"]
    assert {r.subscription_id for r in results} == {first.id, second.id}
    assert sorted(world.discord.paper_keys(SECOND_CHANNEL)) == sorted(keys(cs_cl(3)))
    # The scheduled digest that follows has nothing left to post.
    world.clock.advance(timedelta(hours=1))
    assert (await service.run_subscription(first.id)).outcome == "empty"
    with pytest.raises(NotFound):
        await service.run_now(GUILD, "unknown")


async def test_arrivals_post_only_for_subscriptions_with_new_papers(world: World) -> None:
    asap = world.subscribe("every 2h")
    world.store.add_topic(make_topic(GUILD, "space", "cat:astro-ph", now=MONDAY))
    space, _ = world.store.subscribe(GUILD, SECOND_CHANNEL, "space", parse_when("every 2h"))
    world.add(cs_cl(2))
    service = world.service()

    results = await service.run_arrivals()

    assert [(r.subscription_id, r.outcome) for r in results] == [(asap.id, "posted")]
    assert world.discord.in_channel(SECOND_CHANNEL) == []
    assert space.id != asap.id
    # More papers within the same two-hour window wait for the next one.
    world.add(cs_cl(2, skip=2))
    assert [r.outcome for r in await service.run_arrivals()] == ["already_done"]
    world.clock.advance(timedelta(hours=2))
    assert [r.outcome for r in await service.run_arrivals()] == ["posted"]
    assert no_repeats(world.discord.paper_keys(CHANNEL))


async def test_arrivals_index_the_topics_again_only_when_they_change(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.digests.service as service_module

    built: list[int] = []
    real = service_module.TopicIndex

    def counting(entries: Any) -> Any:
        entries = list(entries)
        built.append(len(entries))
        return real(entries)

    monkeypatch.setattr(service_module, "TopicIndex", counting)
    world.subscribe("every 2h")
    world.add(cs_cl(2))
    service = world.service()
    await service.run_arrivals()
    world.clock.advance(timedelta(hours=2))
    world.add(cs_cl(2, skip=2))
    await service.run_arrivals()
    assert built == [1]
    world.store.add_topic(make_topic(GUILD, "space", "cat:astro-ph", now=MONDAY))
    world.store.subscribe(GUILD, SECOND_CHANNEL, "space", parse_when("every 2h"))
    world.clock.advance(timedelta(hours=2))
    world.add(cs_cl(1, skip=4))
    assert [r.outcome for r in await service.run_arrivals()] == ["posted"]
    assert built == [1, 2]


# --- papers' notes --------------------------------------------------------------------------------


def _count_taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the papers whose notes are taken from now on (by builders or the service)."""
    import bot.digests.service as service_module
    import bot.domain.digest as digest_module

    taken: list[str] = []

    def counting(paper: Paper, **kwargs: Any) -> PaperNotes:
        taken.append(paper.key)
        return take_notes(paper, **kwargs)

    monkeypatch.setattr(digest_module, "take_notes", counting)
    monkeypatch.setattr(service_module, "take_notes", counting)
    return taken


async def test_notes_are_taken_once_and_found_by_the_next_process(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _count_taken(monkeypatch)
    sub = world.subscribe()
    world.add(cs_cl(4))
    world.clock.advance(timedelta(hours=1))
    preview = world.service().build(sub)  # takes the notes and stores them
    assert sorted(taken) == sorted(keys(cs_cl(4)))
    assert set(world.store.paper_notes(keys(cs_cl(4)))) == set(keys(cs_cl(4)))

    taken.clear()
    restarted = world.service(holder="B")  # a new process: an empty builder
    posted = await restarted.run_subscription(sub.id)
    assert taken == [] and posted.outcome == "posted"
    assert world.discord.in_channel(CHANNEL)[0].message.content == preview.messages[0].content


async def test_a_new_abstract_gets_new_notes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    paper = cs_cl(1)[0]
    world.add([paper])
    world.service().note_added(MONDAY - timedelta(days=1), MONDAY)
    revised = replace(paper, version=(paper.version or 1) + 1, abstract="We prove P = NP. " * 3)
    world.add([revised])
    taken = _count_taken(monkeypatch)
    digest = world.service().build(world.subscribe(), MONDAY + timedelta(hours=1))
    assert taken == [paper.key]
    assert digest.entries[0].tldr.startswith("We prove P = NP.")
    stored = world.store.paper_notes([paper.key])[paper.key]
    assert stored.fits(world.store.catalog.get(paper.key) or revised)


async def test_after_an_ingest_the_new_papers_notes_are_ready(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add(cs_cl(2))
    world.clock.advance(timedelta(hours=2))
    world.add(cs_cl(3, skip=2))  # the "ingest" of this hour
    service = world.service()
    assert service.note_added(MONDAY + timedelta(hours=1), world.clock()) == 3
    assert set(world.store.paper_notes(keys(cs_cl(5)))) == set(keys(cs_cl(3, skip=2)))
    assert service.note_added(MONDAY + timedelta(hours=1), world.clock()) == 0  # kept


async def test_notes_that_cannot_be_stored_cost_time_not_the_digest(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_notes: object) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(world.store, "save_paper_notes", broken)
    sub = world.subscribe()
    world.add(cs_cl(3))
    world.clock.advance(timedelta(hours=1))
    result = await world.service().run_subscription(sub.id)
    assert result.outcome == "posted" and result.papers == 3
    assert "could not store the notes of 3 papers" in caplog.text
