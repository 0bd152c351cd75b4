"""Which papers a subscription has pending, found for all the subscriptions of a tick at once.

:meth:`SubscriptionStore.pending_papers` is the reference: load every paper that entered the
catalog in the subscription's window and was never delivered to its channel, and test each
against the topic. Done for each of 10,000 subscriptions, that is topics x papers: every paper
of the day loaded and tested 10,000 times.

:class:`PendingMatcher` keeps, across the digests of a process, the papers it has loaded (each
again only when its row changed: a new version, a new cross-list) and, per paper, which of the
subscribed topics it matches, found for a whole batch of new papers at once by the percolator
(:class:`bot.domain.matching.TopicIndex` over every active subscription's topic). A digest then
costs one query for its window's keys and dictionary lookups. The result is exactly the
reference's (tests/digests/test_pending.py compares them):

* the window and the delivered papers come from the database at each call, as before;
* a paper is matched as it is now (its ``changed_at`` is part of what is cached);
* relative dates (``since:7d``) count from the day of ``now``: the verdicts are dropped when the
  UTC day changes;
* a topic not in the index (added or edited since it was built) is tested paper by paper, as
  the reference does, until the index is built again (at most every ``reindex_every``), so a
  busy server editing topics all day does not rebuild it at every digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from bot.domain.matching import TopicIndex
from bot.domain.papers import Paper
from bot.domain.query import Query, matches
from bot.domain.subscriptions import Subscription, SubscriptionStore

__all__ = ["PendingMatcher"]


class PendingMatcher:
    def __init__(
        self,
        store: SubscriptionStore,
        *,
        reindex_every: timedelta = timedelta(minutes=10),
        max_papers: int = 30_000,  # a week of arXiv with room to spare
    ) -> None:
        self.store = store
        self.reindex_every = reindex_every
        self.max_papers = max_papers
        self._papers: dict[str, tuple[datetime, Paper]] = {}  # key -> (changed_at, paper)
        self._index: TopicIndex[Query] | None = None
        self._indexed: frozenset[Query] = frozenset()
        self._indexed_at: datetime | None = None
        self._day: date | None = None
        self._verdicts: dict[str, frozenset[Query]] = {}  # key -> indexed topics it matches
        self._outside: dict[tuple[Query, str], bool] = {}  # (topic not indexed, key) -> match
        self.stats = {"loaded": 0, "matched_in_batch": 0, "tested_one_by_one": 0, "indexed": 0}

    def pending(self, subscription: Subscription, now: datetime) -> list[Paper]:
        """The papers that entered the catalog since the subscription's window start, were never
        delivered to its channel, and match its topic, in the order they entered."""
        stamps = self.store.pending_stamps(subscription, now)
        if not stamps:
            return []
        self._new_day(now)
        papers = self._load(stamps)
        query = subscription.topic.query
        if query not in self._indexed:
            self._reindex(query, now)
        if query in self._indexed:
            self._match_new(papers, now)
            verdicts = self._verdicts
            return [p for p in papers if query in verdicts[p.key]]
        return [p for p in papers if self._test(query, p, now)]

    # -- the papers ------------------------------------------------------------------------------

    def _new_day(self, now: datetime) -> None:
        day = now.astimezone(UTC).date()
        if day != self._day:
            self._day = day
            self._verdicts.clear()
            self._outside.clear()

    def _load(self, stamps: Sequence[tuple[str, datetime]]) -> list[Paper]:
        known = self._papers
        stale = [key for key, changed in stamps if known.get(key, (None,))[0] != changed]
        if stale:
            if len(known) + len(stale) > self.max_papers:
                known.clear()
                self._verdicts.clear()
                self._outside.clear()
                stale = [key for key, _ in stamps]
            changed_at = dict(stamps)
            for paper in self.store.papers(stale):
                known[paper.key] = (changed_at[paper.key], paper)
                self._verdicts.pop(paper.key, None)
            if self._outside:
                reloaded = set(stale)
                self._outside = {k: v for k, v in self._outside.items() if k[1] not in reloaded}
            self.stats["loaded"] += len(stale)
        # A key gone meanwhile (merged into another paper) is simply not pending any more.
        return [known[key][1] for key, _ in stamps if key in known]

    # -- the topics ------------------------------------------------------------------------------

    def _reindex(self, query: Query, now: datetime) -> None:
        """Index every active subscription's topic, unless the index is recent enough: a new
        topic is then tested paper by paper until the next rebuild."""
        if self._indexed_at is not None and now - self._indexed_at < self.reindex_every:
            return
        topics = {s.topic.query for s in self.store.active_subscriptions()}
        topics.add(query)
        self._index = TopicIndex((q, q) for q in topics)
        self._indexed = frozenset(topics)
        self._indexed_at = now
        self._verdicts.clear()
        self._outside.clear()
        self.stats["indexed"] += 1

    def _match_new(self, papers: list[Paper], now: datetime) -> None:
        assert self._index is not None
        fresh = [p for p in papers if p.key not in self._verdicts]
        if not fresh:
            return
        found: dict[str, set[Query]] = {p.key: set() for p in fresh}
        for query, matched in self._index.match_many(fresh, now=now).items():
            for paper in matched:
                found[paper.key].add(query)
        for key, queries in found.items():
            self._verdicts[key] = frozenset(queries)
        self.stats["matched_in_batch"] += len(fresh)

    def _test(self, query: Query, paper: Paper, now: datetime) -> bool:
        cache_key = (query, paper.key)
        verdict = self._outside.get(cache_key)
        if verdict is None:
            verdict = self._outside[cache_key] = matches(query, paper, now=now)
            self.stats["tested_one_by_one"] += 1
        return verdict
