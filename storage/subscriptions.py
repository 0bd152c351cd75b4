"""Topics, subscriptions, digest deliveries and the scheduler lease, on SQLite or PostgreSQL.

:class:`SqlSubscriptions` implements :class:`bot.domain.subscriptions.SubscriptionStore`. Every
method takes the guild it acts for where a guild is involved: a guild sees and changes only its
own topics and subscriptions. The exactly-once rules are the database's (see
storage/subscription_models.py and docs/digests.md); the methods here are written so that running
any of them twice, or from two processes at once, changes nothing the second time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

import storage.subscription_models as sm
from bot.domain.digest import DigestMessage, encode_messages
from bot.domain.paper_notes import PaperNotes
from bot.domain.papers import Paper
from bot.domain.query import DateRange, Query, matches
from bot.domain.schedules import Schedule
from bot.domain.subscriptions import (
    AlreadyExists,
    Delivery,
    DeliveryStatus,
    NotFound,
    SubscribeOutcome,
    Subscription,
    SubscriptionStore,
)
from bot.domain.topics import Topic, parse_topic_query
from storage.catalog import SqlCatalog, papers_t
from storage.models import Base
from storage.notes import SqlPaperNotes

log = logging.getLogger(__name__)

topics_t: Table = Base.metadata.tables[sm.TopicRow.__tablename__]
subscriptions_t: Table = Base.metadata.tables[sm.SubscriptionRow.__tablename__]
deliveries_t: Table = Base.metadata.tables[sm.DeliveryRow.__tablename__]
delivered_t: Table = Base.metadata.tables[sm.DeliveredPaperRow.__tablename__]
lease_t: Table = Base.metadata.tables[sm.SchedulerLeaseRow.__tablename__]

# When a digest commits, the next one looks at papers added since its cutoff minus this margin:
# a paper whose ingest transaction was still open at the cutoff (so invisible to the claim) is
# then still seen. Papers already delivered in the overlap are filtered by delivered_papers.
WINDOW_MARGIN = timedelta(hours=6)
_IN_CHUNK = 500


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlSubscriptions:
    """The subscription store on a SQLAlchemy engine; papers are read through ``catalog``."""

    def __init__(
        self,
        engine: Engine,
        catalog: SqlCatalog | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
        lookback: timedelta = timedelta(days=7),
    ) -> None:
        self.engine = engine
        self.catalog = catalog or SqlCatalog(engine)
        self._clock = clock
        self._notes = SqlPaperNotes(engine, clock=clock)
        self._lookback = lookback

    def lookback(self) -> timedelta:
        return self._lookback

    def _insert(self, table: Table) -> Any:
        """An INSERT that can say ON CONFLICT DO NOTHING on either backend."""
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- topics --------------------------------------------------------------------------------

    @staticmethod
    def _topic(row: Any, prefix: str = "") -> Topic:
        m = row._mapping
        updated_at = m[f"{prefix}updated_at"]
        return Topic(
            guild_id=m[f"{prefix}guild_id"],
            name=m[f"{prefix}name"],
            query_text=m[f"{prefix}query"],
            query=parse_topic_query(m[f"{prefix}query"], today=updated_at.date()),
            description=m[f"{prefix}description"] or "",
            created_by=m[f"{prefix}created_by"],
            created_at=m[f"{prefix}created_at"],
            updated_at=updated_at,
            id=m[f"{prefix}id"],
        )

    def add_topic(self, topic: Topic) -> Topic:
        """Store a new topic; :class:`AlreadyExists` if the guild has one of that name."""
        now = self._clock()
        values = {
            "guild_id": topic.guild_id,
            "name": topic.name,
            "query": topic.query_text,
            "description": topic.description,
            "created_by": topic.created_by,
            "created_at": topic.created_at or now,
            "updated_at": topic.updated_at or now,
        }
        stmt = self._insert(topics_t).values(**values).on_conflict_do_nothing()
        with self.engine.begin() as conn:
            result = conn.execute(stmt.returning(topics_t.c.id))
            row = result.first()
        if row is None:
            raise AlreadyExists(f"this server already has a topic called {topic.name}")
        found = self.get_topic(topic.guild_id, topic.name)
        assert found is not None
        return found

    def get_topic(self, guild_id: int, name: str) -> Topic | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(topics_t).where(
                    topics_t.c.guild_id == guild_id, topics_t.c.name == name.strip().lower()
                )
            ).first()
        return self._topic(row) if row is not None else None

    def list_topics(self, guild_id: int) -> list[Topic]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(topics_t).where(topics_t.c.guild_id == guild_id).order_by(topics_t.c.name)
            ).all()
        return [self._topic(r) for r in rows]

    def all_topics(self) -> list[Topic]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(topics_t).order_by(topics_t.c.id)).all()
        return [self._topic(r) for r in rows]

    def update_topic(
        self,
        guild_id: int,
        name: str,
        query_text: str,
        *,
        description: str | None = None,
    ) -> Topic:
        """Change a topic's query (validated by the caller); :class:`NotFound` if none."""
        now = self._clock()
        values: dict[str, Any] = {"query": query_text, "updated_at": now}
        if description is not None:
            values["description"] = description
        with self.engine.begin() as conn:
            result = conn.execute(
                update(topics_t)
                .where(topics_t.c.guild_id == guild_id, topics_t.c.name == name)
                .values(**values)
            )
            if result.rowcount == 0:
                raise NotFound(f"this server has no topic called {name}")
            # Subscriptions' schedules do not change, but their jobs' fingerprints do not
            # depend on the query either; touching them lets a resync notice the edit.
            topic_id = conn.execute(
                select(topics_t.c.id).where(
                    topics_t.c.guild_id == guild_id, topics_t.c.name == name
                )
            ).scalar_one()
            conn.execute(
                update(subscriptions_t)
                .where(subscriptions_t.c.topic_id == topic_id)
                .values(updated_at=now)
            )
        found = self.get_topic(guild_id, name)
        assert found is not None
        return found

    def remove_topic(self, guild_id: int, name: str) -> int:
        """Delete a topic and its subscriptions; returns how many subscriptions went with it."""
        with self.engine.begin() as conn:
            topic_id = conn.execute(
                select(topics_t.c.id).where(
                    topics_t.c.guild_id == guild_id, topics_t.c.name == name
                )
            ).scalar()
            if topic_id is None:
                raise NotFound(f"this server has no topic called {name}")
            sub_ids = list(
                conn.execute(
                    select(subscriptions_t.c.id).where(subscriptions_t.c.topic_id == topic_id)
                ).scalars()
            )
            if sub_ids:
                # Explicit, so SQLite without foreign-key enforcement behaves the same.
                conn.execute(
                    delete(deliveries_t).where(deliveries_t.c.subscription_id.in_(sub_ids))
                )
                conn.execute(delete(subscriptions_t).where(subscriptions_t.c.id.in_(sub_ids)))
            conn.execute(delete(topics_t).where(topics_t.c.id == topic_id))
        return len(sub_ids)

    # -- subscriptions -------------------------------------------------------------------------

    def _subscriptions(self, conn: Connection, *conditions: Any) -> list[Subscription]:
        rows = conn.execute(
            select(subscriptions_t, *(c.label(f"t__{c.name}") for c in topics_t.c))
            .join(topics_t, topics_t.c.id == subscriptions_t.c.topic_id)
            .where(*conditions)
            .order_by(subscriptions_t.c.id)
        ).all()
        out: list[Subscription] = []
        for r in rows:
            m = r._mapping
            topic = self._topic(r, "t__")
            out.append(
                Subscription(
                    id=m[subscriptions_t.c.id],
                    guild_id=m[subscriptions_t.c.guild_id],
                    channel_id=m[subscriptions_t.c.channel_id],
                    topic=topic,
                    schedule=_schedule(m),
                    window_start=m[subscriptions_t.c.window_start],
                    use_thread=bool(m[subscriptions_t.c.use_thread]),
                    notify_empty=bool(m[subscriptions_t.c.notify_empty]),
                    paused=bool(m[subscriptions_t.c.paused]),
                    pause_reason=m[subscriptions_t.c.pause_reason],
                    paused_at=m[subscriptions_t.c.paused_at],
                    pause_notified=m[subscriptions_t.c.pause_notified_at] is not None,
                    created_by=m[subscriptions_t.c.created_by],
                    created_at=m[subscriptions_t.c.created_at],
                    updated_at=m[subscriptions_t.c.updated_at],
                    last_delivered_at=m[subscriptions_t.c.last_delivered_at],
                )
            )
        return out

    def subscribe(
        self,
        guild_id: int,
        channel_id: int,
        topic_name: str,
        schedule: Schedule,
        *,
        use_thread: bool = False,
        notify_empty: bool = False,
        created_by: int | None = None,
        lookback: timedelta | None = None,
    ) -> tuple[Subscription, SubscribeOutcome]:
        """Subscribe ``channel_id`` to the guild's topic, or update (and resume) the subscription
        it already has. A new one looks back ``lookback`` (default: the store's) so its first
        digest is not empty. :class:`NotFound` if the guild has no such topic."""
        now = self._clock()
        columns = _schedule_columns(schedule)
        with self.engine.begin() as conn:
            topic_id = conn.execute(
                select(topics_t.c.id).where(
                    topics_t.c.guild_id == guild_id, topics_t.c.name == topic_name
                )
            ).scalar()
            if topic_id is None:
                raise NotFound(f"this server has no topic called {topic_name}")
            existing = conn.execute(
                select(subscriptions_t.c.id, subscriptions_t.c.paused).where(
                    subscriptions_t.c.channel_id == channel_id,
                    subscriptions_t.c.topic_id == topic_id,
                )
            ).first()
            values = {
                **columns,
                "use_thread": use_thread,
                "notify_empty": notify_empty,
                "updated_at": now,
            }
            if existing is None:
                start = now - (lookback if lookback is not None else self._lookback)
                stmt = (
                    self._insert(subscriptions_t)
                    .values(
                        guild_id=guild_id,
                        channel_id=channel_id,
                        topic_id=topic_id,
                        paused=False,
                        created_by=created_by,
                        created_at=now,
                        window_start=start,
                        **values,
                    )
                    .on_conflict_do_nothing()
                    .returning(subscriptions_t.c.id)
                )
                sub_id = conn.execute(stmt).scalar()
                outcome: SubscribeOutcome = "created"
                if sub_id is None:  # created concurrently a moment ago
                    sub_id = conn.execute(
                        select(subscriptions_t.c.id).where(
                            subscriptions_t.c.channel_id == channel_id,
                            subscriptions_t.c.topic_id == topic_id,
                        )
                    ).scalar_one()
                    outcome = "updated"
            else:
                sub_id = existing.id
                outcome = "resumed" if existing.paused else "updated"
                conn.execute(
                    update(subscriptions_t)
                    .where(subscriptions_t.c.id == sub_id)
                    .values(
                        paused=False,
                        pause_reason=None,
                        paused_at=None,
                        pause_notified_at=None,
                        **values,
                    )
                )
        found = self.get_subscription(sub_id)
        assert found is not None
        return found, outcome

    def unsubscribe(self, guild_id: int, channel_id: int, topic_name: str) -> bool:
        """Remove the channel's subscription to the guild's topic; False if there was none."""
        with self.engine.begin() as conn:
            sub_id = conn.execute(
                select(subscriptions_t.c.id)
                .join(topics_t, topics_t.c.id == subscriptions_t.c.topic_id)
                .where(
                    subscriptions_t.c.guild_id == guild_id,
                    subscriptions_t.c.channel_id == channel_id,
                    topics_t.c.guild_id == guild_id,
                    topics_t.c.name == topic_name,
                )
            ).scalar()
            if sub_id is None:
                return False
            conn.execute(delete(deliveries_t).where(deliveries_t.c.subscription_id == sub_id))
            conn.execute(delete(subscriptions_t).where(subscriptions_t.c.id == sub_id))
        return True

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        with self.engine.connect() as conn:
            found = self._subscriptions(conn, subscriptions_t.c.id == subscription_id)
        return found[0] if found else None

    def list_subscriptions(
        self, guild_id: int, *, channel_id: int | None = None
    ) -> list[Subscription]:
        conditions = [subscriptions_t.c.guild_id == guild_id]
        if channel_id is not None:
            conditions.append(subscriptions_t.c.channel_id == channel_id)
        with self.engine.connect() as conn:
            return self._subscriptions(conn, *conditions)

    def subscriptions_for_topic(self, guild_id: int, topic_name: str) -> list[Subscription]:
        with self.engine.connect() as conn:
            return self._subscriptions(
                conn,
                subscriptions_t.c.guild_id == guild_id,
                topics_t.c.guild_id == guild_id,
                topics_t.c.name == topic_name,
            )

    def active_subscriptions(self) -> list[Subscription]:
        with self.engine.connect() as conn:
            return self._subscriptions(conn, subscriptions_t.c.paused.is_(False))

    def subscriptions_version(self) -> tuple[int, datetime | None]:
        """(count, latest change): when it changes, the scheduler's jobs need a resync."""
        with self.engine.connect() as conn:
            row = conn.execute(select(func.count(), func.max(subscriptions_t.c.updated_at))).one()
        latest = row[1]
        if isinstance(latest, str):  # SQLite aggregate: raw text
            latest = datetime.fromisoformat(latest).replace(tzinfo=UTC)
        return int(row[0]), latest

    def pause(self, subscription_id: int, reason: str) -> None:
        """Stop delivering, saying why; ``/subscribe`` again resumes (:meth:`subscribe`)."""
        now = self._clock()
        with self.engine.begin() as conn:
            conn.execute(
                update(subscriptions_t)
                .where(subscriptions_t.c.id == subscription_id)
                .values(
                    paused=True,
                    pause_reason=reason,
                    paused_at=now,
                    pause_notified_at=None,
                    updated_at=now,
                )
            )

    def resume(self, subscription_id: int) -> None:
        now = self._clock()
        with self.engine.begin() as conn:
            conn.execute(
                update(subscriptions_t)
                .where(subscriptions_t.c.id == subscription_id)
                .values(paused=False, pause_reason=None, paused_at=None, updated_at=now)
            )

    def mark_pause_notified(self, subscription_id: int) -> bool:
        """Record that the guild was told about the subscription's pause; False when it is not
        paused any more or someone told it already (two commands at once tell it once)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(subscriptions_t)
                .where(
                    subscriptions_t.c.id == subscription_id,
                    subscriptions_t.c.paused.is_(True),
                    subscriptions_t.c.pause_notified_at.is_(None),
                )
                .values(pause_notified_at=self._clock())
            )
            return done.rowcount == 1

    def release_pause_notice(self, subscription_id: int) -> None:
        """Give back a notice taken with :meth:`mark_pause_notified` that could not be shown,
        so the next command's reply shows it."""
        with self.engine.begin() as conn:
            conn.execute(
                update(subscriptions_t)
                .where(subscriptions_t.c.id == subscription_id, subscriptions_t.c.paused.is_(True))
                .values(pause_notified_at=None)
            )

    def take_pause_notices(self, guild_id: int) -> list[Subscription]:
        """The guild's paused subscriptions nobody was told about yet, each marked as told by
        this call: whoever shows the notice takes it, so each pause is announced once."""
        return [s for s in self.paused_unnotified(guild_id) if self.mark_pause_notified(s.id)]

    def paused_unnotified(self, guild_id: int) -> list[Subscription]:
        """Paused subscriptions of the guild nobody was told about yet."""
        with self.engine.connect() as conn:
            return self._subscriptions(
                conn,
                subscriptions_t.c.guild_id == guild_id,
                subscriptions_t.c.paused.is_(True),
                subscriptions_t.c.pause_notified_at.is_(None),
            )

    # -- papers --------------------------------------------------------------------------------

    def papers(self, keys: Sequence[str]) -> list[Paper]:
        found: list[Paper] = []
        for chunk in _chunks(keys):
            found.extend(self.catalog.get_many(chunk))
        return found

    @staticmethod
    def _window(start: datetime, end: datetime, channel_id: int | None = None) -> list[Any]:
        """Papers that entered the catalog in ``[start, end]`` (and were never delivered to
        ``channel_id``), as WHERE conditions."""
        conditions: list[Any] = [papers_t.c.added_at >= start, papers_t.c.added_at <= end]
        if channel_id is not None:
            conditions.append(
                ~select(delivered_t.c.paper_key)
                .where(
                    delivered_t.c.channel_id == channel_id,
                    delivered_t.c.paper_key == papers_t.c.key,
                )
                .exists()
            )
        return conditions

    def _added_keys(
        self, start: datetime, end: datetime, *, channel_id: int | None = None
    ) -> list[str]:
        stmt = select(papers_t.c.key).where(*self._window(start, end, channel_id))
        with self.engine.connect() as conn:
            return list(conn.execute(stmt.order_by(papers_t.c.id)).scalars())

    def paper_notes(self, keys: Iterable[str]) -> dict[str, PaperNotes]:
        return self._notes.get(keys)

    def save_paper_notes(self, notes: Mapping[str, PaperNotes]) -> int:
        return self._notes.save(notes)

    def added_between(self, start: datetime, end: datetime) -> list[Paper]:
        """Papers that entered the catalog in ``[start, end]``."""
        return self.catalog.get_many(self._added_keys(start, end))

    def count_added(self, start: datetime, end: datetime) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(papers_t)
                    .where(papers_t.c.added_at > start, papers_t.c.added_at <= end)
                ).scalar_one()
            )

    def pending_papers(self, subscription: Subscription, now: datetime) -> list[Paper]:
        """Papers that entered the catalog since the subscription's window start, were never
        delivered to its channel, and match its topic (:func:`bot.domain.query.matches`)."""
        keys = self._added_keys(subscription.window_start, now, channel_id=subscription.channel_id)
        query = subscription.topic.query
        found: list[Paper] = []
        for chunk in _chunks(keys):
            found.extend(p for p in self.catalog.get_many(chunk) if matches(query, p, now=now))
        return found

    def pending_stamps(
        self, subscription: Subscription, now: datetime
    ) -> list[tuple[str, datetime]]:
        """The keys of the papers :meth:`pending_papers` considers before matching (entered the
        catalog since the window start, never delivered to the channel), each with when its
        row last changed, in the order they entered."""
        stmt = select(papers_t.c.key, papers_t.c.changed_at).where(
            *self._window(subscription.window_start, now, subscription.channel_id)
        )
        with self.engine.connect() as conn:
            return [(key, changed) for key, changed in conn.execute(stmt.order_by(papers_t.c.id))]

    def matching_added(
        self, query: Query, start: datetime, end: datetime, now: datetime
    ) -> list[Paper]:
        """Papers that entered the catalog in ``[start, end]`` and match ``query``: what a new
        subscription's first digest would hold."""
        keys = self._added_keys(start, end)
        found: list[Paper] = []
        for chunk in _chunks(keys):
            found.extend(p for p in self.catalog.get_many(chunk) if matches(query, p, now=now))
        return found

    def recent_count(self, query: Query, now: datetime, days: int = 7) -> tuple[int, bool]:
        """How many papers of the last ``days`` days (the query language's date: published,
        else updated) ``query`` matches, through the search index; and whether that count is
        a lower bound (the index stopped counting a very broad query)."""
        since = (now.astimezone(UTC) - timedelta(days=days)).date()
        bounded = Query(query.text_tree, (*query.filters, DateRange(since=since)), query.sort)
        try:
            from storage.search import SqlSearch
        except ImportError:  # pragma: no cover - the search module is part of the project
            return self._recent_count_in_memory(bounded, since, now), False
        return SqlSearch(self.engine).count(bounded)

    def _recent_count_in_memory(self, bounded: Query, since: date, now: datetime) -> int:
        start = datetime.combine(since, time(0), tzinfo=UTC)
        stmt = select(papers_t.c.key).where(
            or_(
                papers_t.c.published >= start,
                and_(papers_t.c.published.is_(None), papers_t.c.updated >= start),
                papers_t.c.added_at >= start,
            )
        )
        with self.engine.connect() as conn:
            keys = list(conn.execute(stmt).scalars())
        return sum(
            1
            for chunk in _chunks(keys)
            for p in self.catalog.get_many(chunk)
            if matches(bounded, p, now=now)
        )

    def delivered_keys(self, channel_id: int) -> set[str]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(delivered_t.c.paper_key).where(delivered_t.c.channel_id == channel_id)
                ).scalars()
            )

    # -- deliveries ----------------------------------------------------------------------------

    @staticmethod
    def _delivery(row: Any, *, created: bool = False) -> Delivery:
        payload = json.loads(row.payload)
        ids = json.loads(row.message_ids)
        return Delivery(
            id=row.id,
            subscription_id=row.subscription_id,
            period_key=row.period_key,
            status=_status(row.status),
            nonce=row.nonce,
            holder=row.holder,
            claimed_at=row.claimed_at,
            cutoff=row.cutoff,
            messages=tuple(DigestMessage.from_json(m) for m in payload),
            message_ids=tuple(None if i is None else int(i) for i in ids),
            thread_id=row.thread_id,
            posted_at=row.posted_at,
            committed_at=row.committed_at,
            error=row.error,
            created=created,
        )

    def claim(
        self,
        subscription: Subscription,
        period_key: str,
        *,
        nonce: str,
        messages: Sequence[DigestMessage],
        cutoff: datetime,
        holder: str,
    ) -> Delivery:
        """Claim the subscription's digest for ``period_key`` with exactly these messages.

        INSERT ... ON CONFLICT DO NOTHING on UNIQUE (subscription_id, period_key): the first
        claim wins; any later one gets the existing delivery back (``created`` False) and must
        not post its own messages.
        """
        now = self._clock()
        stmt = (
            self._insert(deliveries_t)
            .values(
                subscription_id=subscription.id,
                period_key=period_key,
                status="claimed",
                nonce=nonce,
                holder=holder,
                claimed_at=now,
                cutoff=cutoff,
                payload=encode_messages(messages),
                message_ids=json.dumps([None] * len(messages)),
            )
            .on_conflict_do_nothing()
            .returning(deliveries_t.c.id)
        )
        with self.engine.begin() as conn:
            new_id = conn.execute(stmt).scalar()
            row = conn.execute(
                select(deliveries_t).where(
                    deliveries_t.c.subscription_id == subscription.id,
                    deliveries_t.c.period_key == period_key,
                )
            ).one()
        return self._delivery(row, created=new_id is not None)

    def get_delivery(self, subscription_id: int, period_key: str) -> Delivery | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(deliveries_t).where(
                    deliveries_t.c.subscription_id == subscription_id,
                    deliveries_t.c.period_key == period_key,
                )
            ).first()
        return self._delivery(row) if row is not None else None

    def deliveries(self, subscription_id: int) -> list[Delivery]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries_t)
                .where(deliveries_t.c.subscription_id == subscription_id)
                .order_by(deliveries_t.c.id)
            ).all()
        return [self._delivery(r) for r in rows]

    def unfinished_deliveries(self, subscription_id: int | None = None) -> list[Delivery]:
        """Claimed or partly posted digests (a crash, or Discord unavailable, stopped them)."""
        stmt = select(deliveries_t).where(deliveries_t.c.status.in_(("claimed", "posted")))
        if subscription_id is not None:
            stmt = stmt.where(deliveries_t.c.subscription_id == subscription_id)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(deliveries_t.c.id)).all()
        return [self._delivery(r) for r in rows]

    def _locked(self, conn: Connection, delivery_id: int) -> Any:
        stmt = select(deliveries_t).where(deliveries_t.c.id == delivery_id)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return conn.execute(stmt).one()

    def _mark_delivered(
        self, conn: Connection, delivery: Delivery, channel_id: int, keys: Iterable[str]
    ) -> None:
        now = self._clock()
        rows = [
            {
                "channel_id": channel_id,
                "paper_key": key,
                "subscription_id": delivery.subscription_id,
                "delivery_id": delivery.id,
                "delivered_at": now,
            }
            for key in dict.fromkeys(keys)
        ]
        for chunk in _chunks(rows, 200):
            conn.execute(self._insert(delivered_t).values(list(chunk)).on_conflict_do_nothing())

    def _channel_of(self, conn: Connection, subscription_id: int) -> int:
        return int(
            conn.execute(
                select(subscriptions_t.c.channel_id).where(subscriptions_t.c.id == subscription_id)
            ).scalar_one()
        )

    def record_part(
        self, delivery: Delivery, part: int, message_id: int, *, thread_id: int | None = None
    ) -> Delivery:
        """Part ``part`` is posted as ``message_id``: record it and mark its papers delivered
        to the channel, in one transaction."""
        now = self._clock()
        with self.engine.begin() as conn:
            row = self._locked(conn, delivery.id)
            ids = json.loads(row.message_ids)
            ids[part] = message_id
            values: dict[str, Any] = {"message_ids": json.dumps(ids), "posted_at": now}
            if row.status == "claimed":
                values["status"] = "posted"
            if thread_id is not None:
                values["thread_id"] = thread_id
            conn.execute(
                update(deliveries_t).where(deliveries_t.c.id == delivery.id).values(**values)
            )
            channel = self._channel_of(conn, delivery.subscription_id)
            self._mark_delivered(conn, delivery, channel, delivery.messages[part].paper_keys)
            fresh = self._locked(conn, delivery.id)
        return self._delivery(fresh)

    def record_thread(self, delivery: Delivery, thread_id: int) -> Delivery:
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery.id)
                .values(thread_id=thread_id)
            )
            fresh = self._locked(conn, delivery.id)
        return self._delivery(fresh)

    def record_posted(self, delivery: Delivery) -> Delivery:
        """Every part is posted: commit the delivery — status, every paper of it delivered, the
        subscription's last delivery and window advanced — in one transaction. Idempotent."""
        now = self._clock()
        with self.engine.begin() as conn:
            row = self._locked(conn, delivery.id)
            if row.status == "committed":
                return self._delivery(row)
            ids = json.loads(row.message_ids)
            if any(i is None for i in ids):
                raise ValueError(f"delivery {delivery.id} has parts not yet posted")
            conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery.id)
                .values(status="committed", committed_at=now, posted_at=row.posted_at or now)
            )
            channel = self._channel_of(conn, delivery.subscription_id)
            self._mark_delivered(conn, delivery, channel, delivery.paper_keys)
            start = conn.execute(
                select(subscriptions_t.c.window_start).where(
                    subscriptions_t.c.id == delivery.subscription_id
                )
            ).scalar_one()
            advanced = max(start, delivery.cutoff - WINDOW_MARGIN)
            conn.execute(
                update(subscriptions_t)
                .where(subscriptions_t.c.id == delivery.subscription_id)
                .values(last_delivered_at=now, window_start=advanced)
            )
            fresh = self._locked(conn, delivery.id)
        return self._delivery(fresh)

    def abandon(self, delivery: Delivery, reason: str) -> Delivery:
        """Give up on posting the rest of this delivery (the channel is gone). Papers of parts
        already posted stay delivered; the others stay pending for the next digest."""
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery.id, deliveries_t.c.status != "committed")
                .values(status="abandoned", error=reason)
            )
            fresh = self._locked(conn, delivery.id)
        return self._delivery(fresh)

    # -- the scheduler lease -------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``ttl``: succeeds when nobody holds it, when
        ``holder`` does, or when the holder's lease has expired. Atomic on both backends (one
        INSERT or one conditional UPDATE)."""
        now = self._clock()
        expires = now + ttl
        with self.engine.begin() as conn:
            inserted = conn.execute(
                self._insert(lease_t)
                .values(name=name, holder=holder, acquired_at=now, expires_at=expires)
                .on_conflict_do_nothing()
                .returning(lease_t.c.name)
            ).scalar()
            if inserted is not None:
                return True
            result = conn.execute(
                update(lease_t)
                .where(
                    lease_t.c.name == name,
                    or_(lease_t.c.holder == holder, lease_t.c.expires_at < now),
                )
                .values(holder=holder, expires_at=expires)
            )
            if result.rowcount == 1:
                return True
        return False

    def release_lease(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(lease_t).where(lease_t.c.name == name, lease_t.c.holder == holder))

    def lease_holder(self, name: str) -> str | None:
        """Who holds the lease now (None when nobody, or the lease has expired)."""
        now = self._clock()
        with self.engine.connect() as conn:
            row = conn.execute(select(lease_t).where(lease_t.c.name == name)).first()
        if row is None or row.expires_at < now:
            return None
        return str(row.holder)


def _status(value: str) -> DeliveryStatus:
    if value in ("claimed", "posted", "committed", "abandoned"):
        return cast(DeliveryStatus, value)
    raise ValueError(f"unknown delivery status {value!r}")


def _schedule_columns(schedule: Schedule) -> dict[str, Any]:
    return {
        "schedule_kind": schedule.kind,
        "schedule_time": schedule.at.strftime("%H:%M") if schedule.at is not None else None,
        "schedule_weekday": schedule.weekday,
        "schedule_interval_min": (
            int(schedule.interval.total_seconds()) // 60 if schedule.interval is not None else None
        ),
        "timezone": schedule.timezone,
    }


def _schedule(m: Any) -> Schedule:
    kind = m[subscriptions_t.c.schedule_kind]
    at_text = m[subscriptions_t.c.schedule_time]
    minutes = m[subscriptions_t.c.schedule_interval_min]
    return Schedule(
        kind=kind,
        timezone=m[subscriptions_t.c.timezone],
        at=time.fromisoformat(at_text) if at_text else None,
        weekday=m[subscriptions_t.c.schedule_weekday],
        interval=timedelta(minutes=minutes) if minutes else None,
    )


__all__ = ["WINDOW_MARGIN", "SqlSubscriptions"]


def _conforms(store: SqlSubscriptions) -> SubscriptionStore:
    """Static check (mypy) that SqlSubscriptions implements the domain's port."""
    return store
