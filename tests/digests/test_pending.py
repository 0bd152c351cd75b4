"""The pending papers of many subscriptions, found at once by the percolator, are exactly the
reference's (SqlSubscriptions.pending_papers: every paper of the window tested against the topic),
through arrivals, deliveries, new versions, topic edits and a change of day; and each paper is
loaded and matched once, not once per subscription."""

from __future__ import annotations

import asyncio
import functools
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.digests.pending import PendingMatcher
from bot.digests.scheduler import ManualClock
from bot.digests.service import DigestService
from bot.domain.ingest.arxiv_rss import parse_arxiv_rss
from bot.domain.papers import Paper
from bot.domain.schedules import parse_when
from bot.domain.subscriptions import Subscription
from bot.domain.topics import make_topic
from storage.catalog import SqlCatalog
from storage.subscriptions import SqlSubscriptions
from tests.conftest import ARXIV_FIXTURES
from tests.digests.support import FakeDiscord, FakePoster

MONDAY = datetime(2024, 11, 25, 6, 0, tzinfo=UTC)
GUILD = 42
TOPICS = {
    "nlp": "cat:cs.CL",
    "llm": '"language model" OR llm',
    "vision": "cat:cs.CV -diffusion",
    "graphs": "graph* neural",
    "recent": "learning since:2d",  # relative: counts from the day of `now`
    "nothing": "zzzyzzx",
}


@functools.cache
def day() -> tuple[Paper, ...]:
    data = (ARXIV_FIXTURES / "rss_2024-11-28_all_archives.xml").read_bytes()
    papers = parse_arxiv_rss(data).papers
    # The papers' dates spread over four days, so that "since:2d" depends on the day.
    return tuple(
        replace(p, published=MONDAY - timedelta(days=i % 4)) for i, p in enumerate(papers[:400])
    )


def keys(papers: list[Paper]) -> list[str]:
    return [p.key for p in papers]


def test_the_percolator_finds_what_the_reference_finds(engine: Engine) -> None:
    clock = ManualClock(MONDAY)
    store = SqlSubscriptions(engine, SqlCatalog(engine, clock=clock), clock=clock)
    for name, text in TOPICS.items():
        store.add_topic(make_topic(GUILD, name, text, now=MONDAY))
    subs: list[Subscription] = []
    for n, name in enumerate(TOPICS):
        for channel in (100 + n, 200):  # channel 200 follows every topic
            sub, _ = store.subscribe(GUILD, channel, name, parse_when("daily 08:00"))
            subs.append(sub)
    papers = list(day())
    rng = random.Random(5)
    discord = FakeDiscord(clock)
    service = DigestService(store, FakePoster(discord), clock=clock, holder="A")
    matcher = PendingMatcher(store)

    def compare() -> None:
        for sub in subs:
            fresh = store.get_subscription(sub.id)
            assert fresh is not None
            expected = store.pending_papers(fresh, clock())
            assert matcher.pending(fresh, clock()) == expected, fresh.topic.name

    store.catalog.upsert(papers[:150])
    compare()
    loaded, matched = matcher.stats["loaded"], matcher.stats["matched_in_batch"]
    assert loaded == 150 and matched == 150  # once each, for twelve subscriptions

    clock.advance(timedelta(hours=3))  # 09:00 Berlin: some digests go out
    store.catalog.upsert(papers[150:300])
    for sub in rng.sample(subs, 5):
        assert service.pending.pending(sub, clock()) == store.pending_papers(sub, clock())
    for sub in rng.sample(subs, 5):
        asyncio.run(service.run_subscription(sub.id))
    compare()
    assert matcher.stats["loaded"] == 300

    # New versions: one now matches "diffusion" (leaves "vision"), one gains cs.CL.
    vision = next(p for p in papers[:300] if p.primary_category == "cs.CV")
    other = next(p for p in papers[:300] if "cs.CL" not in p.categories)
    clock.advance(timedelta(minutes=5))
    store.catalog.upsert(
        [
            replace(vision, version=(vision.version or 1) + 1, abstract="A diffusion model."),
            replace(
                other, version=(other.version or 1) + 1, categories=(*other.categories, "cs.CL")
            ),
        ]
    )
    compare()
    assert matcher.stats["loaded"] == 302

    # A topic edited: the index is old, so it is built again with the new query.
    store.update_topic(GUILD, "nothing", "transformer*")
    compare()
    assert matcher.stats["indexed"] == 2 and matcher.stats["tested_one_by_one"] == 0
    # Edited again soon after: tested one by one until the index is old enough to rebuild.
    store.update_topic(GUILD, "graphs", '"reinforcement learning"')
    compare()
    assert matcher.stats["tested_one_by_one"] > 0 and matcher.stats["indexed"] == 2
    clock.advance(timedelta(minutes=11))
    store.catalog.upsert(papers[300:])
    compare()
    assert matcher.stats["indexed"] == 3

    # The next day: "since:2d" now reaches back a day less.
    clock.advance(timedelta(days=1))
    compare()
