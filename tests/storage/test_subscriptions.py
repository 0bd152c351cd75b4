"""The subscription store on SQLite and PostgreSQL: guild scoping, claims, delivered papers, the
scheduler lease, and papers that arrive late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from bot.digests.scheduler import ManualClock
from bot.domain.digest import DigestMessage
from bot.domain.papers import Author, Paper
from bot.domain.schedules import parse_when
from bot.domain.subscriptions import AlreadyExists, NotFound, Subscription
from bot.domain.topics import make_topic
from storage.catalog import SqlCatalog
from storage.subscriptions import WINDOW_MARGIN, SqlSubscriptions, delivered_t

START = datetime(2024, 11, 25, 6, 0, tzinfo=UTC)  # a Monday
GUILD, OTHER_GUILD = 111, 222
CHANNEL, OTHER_CHANNEL = 9001, 9002


def paper(
    n: int, title: str, abstract: str = "", categories: tuple[str, ...] = ("cs.CL",)
) -> Paper:
    return Paper(
        title=title,
        abstract=abstract or f"We study {title.lower()}.",
        arxiv_id=f"2411.{17000 + n:05d}",
        version=1,
        authors=(Author("Ada Lovelace"),),
        categories=categories,
        published=START - timedelta(days=1),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(engine: Engine, clock: ManualClock) -> SqlSubscriptions:
    return SqlSubscriptions(engine, SqlCatalog(engine, clock=clock), clock=clock)


def add_topic(store: SqlSubscriptions, guild: int, name: str, query: str) -> None:
    store.add_topic(make_topic(guild, name, query, now=START))


def subscribe(store: SqlSubscriptions, channel: int = CHANNEL, name: str = "llm") -> Subscription:
    sub, _ = store.subscribe(GUILD, channel, name, parse_when("daily 08:00", timezone="UTC"))
    return sub


def message(*keys: str) -> DigestMessage:
    return DigestMessage(content="digest", paper_keys=keys)


# --- topics ---------------------------------------------------------------------------------------


def test_a_guild_sees_only_its_own_topics(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    add_topic(store, OTHER_GUILD, "llm", "language model")
    add_topic(store, OTHER_GUILD, "robots", "cat:cs.RO")

    assert [t.name for t in store.list_topics(GUILD)] == ["llm"]
    assert [t.name for t in store.list_topics(OTHER_GUILD)] == ["llm", "robots"]
    mine = store.get_topic(GUILD, "llm")
    assert mine is not None and mine.query_text == "llm"
    assert store.get_topic(GUILD, "robots") is None


def test_a_guild_changes_only_its_own_topics(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    add_topic(store, OTHER_GUILD, "llm", "language model")

    store.update_topic(OTHER_GUILD, "llm", '"large language model"')
    with pytest.raises(NotFound):
        store.update_topic(GUILD, "robots", "robot")
    with pytest.raises(NotFound):
        store.remove_topic(GUILD, "robots")
    store.remove_topic(OTHER_GUILD, "llm")

    mine = store.get_topic(GUILD, "llm")
    assert mine is not None and mine.query_text == "llm"
    assert store.get_topic(OTHER_GUILD, "llm") is None


def test_a_topic_name_is_unique_within_a_guild(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    with pytest.raises(AlreadyExists):
        add_topic(store, GUILD, "llm", "other words")


def test_removing_a_topic_removes_its_subscriptions(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    subscribe(store)
    assert store.remove_topic(GUILD, "llm") == 1
    assert store.list_subscriptions(GUILD) == []


# --- subscriptions --------------------------------------------------------------------------------


def test_subscribing_stores_the_schedule_and_the_look_back(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    schedule = parse_when("weekly mon 09:30", timezone="Europe/Berlin")
    sub, outcome = store.subscribe(GUILD, CHANNEL, "llm", schedule, use_thread=True)

    assert outcome == "created"
    assert sub.schedule == schedule
    assert sub.use_thread and not sub.notify_empty and not sub.paused
    assert sub.window_start == START - timedelta(days=7)
    assert sub.topic.name == "llm" and sub.guild_id == GUILD


def test_each_pause_is_announced_once(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    add_topic(store, OTHER_GUILD, "llm", "llm")
    sub = subscribe(store)
    other, _ = store.subscribe(OTHER_GUILD, OTHER_CHANNEL, "llm", parse_when("daily 08:00"))
    assert store.take_pause_notices(GUILD) == []
    assert not store.mark_pause_notified(sub.id)  # not paused: nothing to tell
    store.pause(sub.id, "channel gone")
    store.pause(other.id, "channel gone")

    assert [s.id for s in store.take_pause_notices(GUILD)] == [sub.id]
    assert store.take_pause_notices(GUILD) == []  # taken: the next reply says nothing
    assert not store.mark_pause_notified(sub.id)  # a second teller (another channel) neither
    assert [s.id for s in store.paused_unnotified(OTHER_GUILD)] == [other.id]  # per guild

    store.subscribe(GUILD, CHANNEL, "llm", parse_when("daily 08:00"))  # resumed
    store.pause(sub.id, "channel gone again")  # a new pause is announced again
    (again,) = store.take_pause_notices(GUILD)
    assert again.pause_reason == "channel gone again"


def test_subscribing_needs_the_guilds_own_topic(store: SqlSubscriptions) -> None:
    add_topic(store, OTHER_GUILD, "llm", "llm")
    with pytest.raises(NotFound):
        subscribe(store)


def test_subscribing_again_updates_and_resumes(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    sub = subscribe(store)
    store.pause(sub.id, "channel gone")
    paused = store.get_subscription(sub.id)
    assert paused is not None and paused.paused and paused.pause_reason == "channel gone"
    assert [s.id for s in store.paused_unnotified(GUILD)] == [sub.id]

    again, outcome = store.subscribe(GUILD, CHANNEL, "llm", parse_when("asap"), notify_empty=True)
    assert outcome == "resumed"
    assert again.id == sub.id and not again.paused and again.pause_reason is None
    assert again.schedule.kind == "asap" and again.notify_empty
    assert again.window_start == sub.window_start  # nothing pending is lost or repeated

    _, outcome = store.subscribe(GUILD, CHANNEL, "llm", parse_when("daily 07:00"))
    assert outcome == "updated"


def test_unsubscribing_is_scoped_to_the_guild(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    subscribe(store)
    assert store.unsubscribe(OTHER_GUILD, CHANNEL, "llm") is False
    assert store.unsubscribe(GUILD, CHANNEL, "llm") is True
    assert store.list_subscriptions(GUILD) == []


# --- claims and delivered papers ------------------------------------------------------------------


def test_a_period_is_claimed_once(store: SqlSubscriptions) -> None:
    add_topic(store, GUILD, "llm", "llm")
    sub = subscribe(store)
    first = store.claim(
        sub, "d:2024-11-25", nonce="n1", messages=[message("a")], cutoff=START, holder="A"
    )
    second = store.claim(
        sub, "d:2024-11-25", nonce="n2", messages=[message("b")], cutoff=START, holder="B"
    )
    other = store.claim(
        sub, "d:2024-11-26", nonce="n3", messages=[message("c")], cutoff=START, holder="B"
    )

    assert first.created and not second.created and other.created
    assert second.id == first.id
    assert second.holder == "A" and second.nonce == "n1"
    assert second.paper_keys == ("a",)  # the first claim's messages, not the second's
    assert other.id != first.id


def test_posting_a_part_marks_its_papers_delivered_and_commit_marks_the_rest(
    store: SqlSubscriptions, clock: ManualClock
) -> None:
    add_topic(store, GUILD, "llm", "llm")
    sub = subscribe(store)
    delivery = store.claim(
        sub,
        "d:2024-11-25",
        nonce="n1",
        messages=[message("a", "b"), message("c", "d")],
        cutoff=START,
        holder="A",
    )
    delivery = store.record_part(delivery, 0, 501)
    assert delivery.status == "posted" and delivery.message_ids == (501, None)
    assert store.delivered_keys(CHANNEL) == {"a", "b"}
    assert [d.id for d in store.unfinished_deliveries()] == [delivery.id]
    with pytest.raises(ValueError, match="not yet posted"):
        store.record_posted(delivery)

    delivery = store.record_part(delivery, 1, 502)
    clock.advance(timedelta(minutes=1))
    committed = store.record_posted(delivery)
    assert committed.status == "committed" and committed.message_ids == (501, 502)
    assert store.delivered_keys(CHANNEL) == {"a", "b", "c", "d"}
    assert store.unfinished_deliveries() == []
    again = store.record_posted(committed)  # idempotent
    assert again.committed_at == committed.committed_at
    fresh = store.get_subscription(sub.id)
    assert fresh is not None and fresh.last_delivered_at == clock()
    assert fresh.window_start == START - WINDOW_MARGIN


def test_the_database_refuses_a_paper_delivered_twice_to_a_channel(
    store: SqlSubscriptions, engine: Engine
) -> None:
    row = {
        "channel_id": CHANNEL,
        "paper_key": "2411.17700",
        "subscription_id": 1,
        "delivery_id": 1,
        "delivered_at": START,
    }
    with engine.begin() as conn:
        conn.execute(insert(delivered_t).values(**row))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(delivered_t).values(**row))
    with engine.begin() as conn:  # another channel may have it
        conn.execute(insert(delivered_t).values(**{**row, "channel_id": OTHER_CHANNEL}))


def test_abandoning_keeps_posted_parts_delivered_and_the_rest_pending(
    store: SqlSubscriptions,
) -> None:
    add_topic(store, GUILD, "llm", "llm")
    sub = subscribe(store)
    delivery = store.claim(
        sub, "d:1", nonce="n", messages=[message("a"), message("b")], cutoff=START, holder="A"
    )
    delivery = store.record_part(delivery, 0, 1)
    abandoned = store.abandon(delivery, "channel deleted")
    assert abandoned.status == "abandoned" and abandoned.error == "channel deleted"
    assert store.delivered_keys(CHANNEL) == {"a"}
    assert store.unfinished_deliveries() == []


# --- pending papers -------------------------------------------------------------------------------


def test_pending_papers_match_the_topic_and_skip_what_the_channel_has(
    store: SqlSubscriptions, clock: ManualClock
) -> None:
    add_topic(store, GUILD, "llm", "llm OR agents")
    sub = subscribe(store)
    store.catalog.upsert(
        [
            paper(1, "LLM reasoning"),
            paper(2, "Agents that plan"),
            paper(3, "Galaxy clusters", categories=("astro-ph.GA",)),
        ]
    )
    clock.advance(timedelta(hours=1))
    assert [p.key for p in store.pending_papers(sub, clock())] == ["2411.17001", "2411.17002"]

    delivery = store.claim(
        sub, "d:x", nonce="n", messages=[message("2411.17001")], cutoff=clock(), holder="A"
    )
    store.record_part(delivery, 0, 1)
    assert [p.key for p in store.pending_papers(sub, clock())] == ["2411.17002"]


def test_a_paper_delivered_to_the_channel_by_another_topic_is_not_pending(
    store: SqlSubscriptions, clock: ManualClock
) -> None:
    add_topic(store, GUILD, "llm", "llm")
    add_topic(store, GUILD, "reasoning", "reasoning")
    first = subscribe(store, name="llm")
    second = subscribe(store, name="reasoning")
    store.catalog.upsert([paper(1, "LLM reasoning")])
    clock.advance(timedelta(hours=1))
    delivery = store.claim(
        first, "d:x", nonce="n", messages=[message("2411.17001")], cutoff=clock(), holder="A"
    )
    store.record_posted(store.record_part(delivery, 0, 1))
    assert store.pending_papers(second, clock()) == []


def test_a_late_paper_comes_in_the_next_digest(store: SqlSubscriptions, clock: ManualClock) -> None:
    add_topic(store, GUILD, "llm", "llm")
    sub = subscribe(store)
    store.catalog.upsert([paper(1, "LLM one"), paper(2, "LLM two")])
    clock.advance(timedelta(hours=2))  # 08:00: the Monday digest
    first = store.pending_papers(sub, clock())
    delivery = store.claim(
        sub,
        "d:2024-11-25",
        nonce="n",
        messages=[message(*(p.key for p in first))],
        cutoff=clock(),
        holder="A",
    )
    store.record_posted(store.record_part(delivery, 0, 1))

    # A paper of Sunday's announcement whose fetch failed arrives on Monday afternoon, and a
    # new version of one already delivered arrives too.
    clock.advance(timedelta(hours=6))
    store.catalog.upsert([paper(3, "LLM three, late"), paper(1, "LLM one, revised")])
    clock.advance(timedelta(hours=18))  # Tuesday 08:00
    fresh = store.get_subscription(sub.id)
    assert fresh is not None
    assert [p.key for p in store.pending_papers(fresh, clock())] == ["2411.17003"]


def test_a_paper_stored_just_before_the_cutoff_is_not_lost(
    store: SqlSubscriptions, clock: ManualClock
) -> None:
    add_topic(store, GUILD, "llm", "llm")
    sub = subscribe(store)
    clock.advance(timedelta(hours=2))
    # Stamped 08:00 but committed after the 08:00 digest read the catalog: that digest did
    # not see it, and the next one must.
    store.catalog.upsert([paper(1, "LLM in flight")])
    delivery = store.claim(sub, "d:1", nonce="n", messages=[message()], cutoff=clock(), holder="A")
    store.record_posted(store.record_part(delivery, 0, 1))
    clock.advance(timedelta(days=1))
    fresh = store.get_subscription(sub.id)
    assert fresh is not None
    assert [p.key for p in store.pending_papers(fresh, clock())] == ["2411.17001"]


# --- the scheduler lease --------------------------------------------------------------------------


def test_one_holder_at_a_time_and_takeover_after_expiry(
    store: SqlSubscriptions, clock: ManualClock
) -> None:
    ttl = timedelta(seconds=30)
    assert store.acquire_lease("digests", "A", ttl)
    assert not store.acquire_lease("digests", "B", ttl)
    assert store.lease_holder("digests") == "A"

    clock.advance(timedelta(seconds=20))
    assert store.acquire_lease("digests", "A", ttl)  # renewed until 00:50
    clock.advance(timedelta(seconds=20))
    assert not store.acquire_lease("digests", "B", ttl)

    clock.advance(timedelta(seconds=31))  # A stopped renewing: expired
    assert store.lease_holder("digests") is None
    assert store.acquire_lease("digests", "B", ttl)
    assert not store.acquire_lease("digests", "A", ttl)
    assert store.lease_holder("digests") == "B"


def test_a_released_lease_is_free_at_once(store: SqlSubscriptions) -> None:
    ttl = timedelta(seconds=30)
    assert store.acquire_lease("digests", "A", ttl)
    store.release_lease("digests", "B")  # not B's to release
    assert not store.acquire_lease("digests", "B", ttl)
    store.release_lease("digests", "A")
    assert store.acquire_lease("digests", "B", ttl)
