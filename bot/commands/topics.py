"""``/topic add|edit|remove|list|show``: a server's named, saved queries.

Every handler takes an :class:`Actor`: the server, channel and member a command comes from, and
whether that member may manage channels. Creating, editing and removing topics needs Manage
Channels: Discord's command check refuses it first (``@requires`` on the cog), and the handler
refuses it again here, where the change is made. The console runs as the operator of the
console server (:data:`CONSOLE_GUILD`), with every permission.

Ready-made topics (config/topics.toml) are templates: ``/topic list`` names those the server has
not added yet, and ``/topic add NAME`` with no query adds the ready-made topic of that name (or
alias, such as ``cs.CL``) to the server, where it can be edited like any other. ``/subscribe``
to a ready-made name adds it the same way.

Every reply here also carries the "pause notice": subscriptions of the server that were paused
(Discord answered 403/404 for their channel) and nobody was told about yet are named first in
the reply, once. The front ends add it to the reply of every other command too
(:func:`with_pause_notice`, from bot.discord.responses and the console session).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Protocol, cast

from bot.commands.registry import Args, Command, Context, Deps, Param
from bot.digests.service import DigestService
from bot.domain.query import Query
from bot.domain.schedules import Schedule
from bot.domain.subscriptions import AlreadyExists, NotFound, SubscribeOutcome, Subscription
from bot.domain.topics import (
    ReadyMadeTopic,
    Topic,
    TopicError,
    edited,
    find_ready_made,
    load_ready_made,
    make_topic,
)
from bot.messages import Reply, build_error
from bot.messages.topics import (
    ChannelLabel,
    build_pause_notice,
    build_topic,
    build_topic_list,
    build_topic_removed,
    build_topic_saved,
    default_label,
    with_notice,
)

__all__ = [
    "COMMANDS",
    "CONSOLE_GUILD",
    "Actor",
    "TopicDeps",
    "TopicStore",
    "add_topic",
    "edit_topic",
    "list_topics",
    "pause_notice",
    "ready_made_topics",
    "remove_topic",
    "show_topic",
    "with_pause_notice",
]

CONSOLE_GUILD = 0
CONSOLE_CHANNEL = 0
MANAGE = "Manage Channels"


class TopicStore(Protocol):
    """What these commands use of storage.subscriptions.SqlSubscriptions."""

    def add_topic(self, topic: Topic) -> Topic: ...

    def get_topic(self, guild_id: int, name: str) -> Topic | None: ...

    def list_topics(self, guild_id: int) -> list[Topic]: ...

    def update_topic(
        self, guild_id: int, name: str, query_text: str, *, description: str | None = None
    ) -> Topic: ...

    def remove_topic(self, guild_id: int, name: str) -> int: ...

    def recent_count(self, query: Query, now: datetime, days: int = 7) -> tuple[int, bool]: ...

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
    ) -> tuple[Subscription, SubscribeOutcome]: ...

    def unsubscribe(self, guild_id: int, channel_id: int, topic_name: str) -> bool: ...

    def list_subscriptions(
        self, guild_id: int, *, channel_id: int | None = None
    ) -> list[Subscription]: ...

    def subscriptions_for_topic(self, guild_id: int, topic_name: str) -> list[Subscription]: ...

    def paused_unnotified(self, guild_id: int) -> list[Subscription]: ...

    def mark_pause_notified(self, subscription_id: int) -> bool: ...

    def take_pause_notices(self, guild_id: int) -> list[Subscription]: ...


class SchedulerHook(Protocol):
    def subscription_changed(self, subscription: Subscription | None = None) -> None: ...


class TopicDeps(Deps, Protocol):
    """The services topic and subscription commands use (bot.app.Services provides them)."""

    @property
    def subscriptions(self) -> TopicStore: ...

    @property
    def digests(self) -> DigestService: ...

    @property
    def scheduler(self) -> SchedulerHook | None: ...


@dataclass(frozen=True, slots=True)
class Actor:
    """Who runs a command, and where. ``label`` names a channel for people (``#papers``)."""

    guild_id: int
    channel_id: int
    user_id: int | None = None
    can_manage: bool = False
    label: ChannelLabel = field(default=default_label)

    @classmethod
    def console(cls) -> Actor:
        """The console's operator: the console server, every permission."""
        return cls(CONSOLE_GUILD, CONSOLE_CHANNEL, None, True, lambda c: f"console channel {c}")


def topic_deps(deps: Deps) -> TopicDeps:
    """``deps`` as the topic commands need them (bot.app.Services has every field)."""
    if not hasattr(deps, "subscriptions") or not hasattr(deps, "digests"):
        raise TypeError("these services have no subscriptions store or digest service")
    return cast(TopicDeps, deps)


def refused(actor: Actor, what: str) -> Reply | None:
    """The error reply when the actor may not ``what`` (None when allowed)."""
    if actor.can_manage:
        return None
    return build_error(f"you need the {MANAGE} permission to {what}")


def scheduler_changed(deps: TopicDeps) -> None:
    """Let this process's scheduler pick up a subscription change at once."""
    hook = getattr(deps, "scheduler", None)
    if hook is not None:
        hook.subscription_changed()


async def pause_notice(deps: Deps, guild_id: int, label: ChannelLabel = default_label) -> str:
    """The notice naming the server's paused subscriptions nobody was told about yet ("" when
    there are none, or when ``deps`` keep no subscriptions). Taking it marks them as told: each
    pause is announced once, in whichever reply (or other channel) takes it first."""
    store = getattr(deps, "subscriptions", None)
    if store is None:
        return ""
    paused = await asyncio.to_thread(store.take_pause_notices, guild_id)
    return build_pause_notice(paused, label) if paused else ""


async def with_pause_notice(deps: Deps, actor: Actor, reply: Reply) -> Reply:
    """``reply`` preceded by the paused subscriptions of the server nobody was told about yet;
    they are then marked as told. Both front ends apply it to every command's reply."""
    return with_notice(reply, await pause_notice(deps, actor.guild_id, actor.label))


@lru_cache(maxsize=4)
def _ready_made(path: Path | None) -> tuple[ReadyMadeTopic, ...]:
    return tuple(load_ready_made(path))


def ready_made_topics(path: Path | None = None) -> tuple[ReadyMadeTopic, ...]:
    """The ready-made topics of config/topics.toml (read once)."""
    return _ready_made(path)


def _now(deps: TopicDeps) -> datetime:
    return deps.digests.clock()


async def _saved(
    deps: TopicDeps, topic: Topic, *, created: bool, ready_made: bool = False
) -> Reply:
    count, lower_bound = await asyncio.to_thread(
        deps.subscriptions.recent_count, topic.query, _now(deps), 7
    )
    return build_topic_saved(
        topic, count, lower_bound, created=created, ready_made=ready_made, days=7
    )


async def install_ready_made(deps: TopicDeps, actor: Actor, name: str) -> Topic | None:
    """The server's copy of the ready-made topic ``name`` (added now if need be), or None when
    no ready-made topic has that name."""
    found = find_ready_made(name, ready_made_topics())
    if found is None:
        return None
    store = deps.subscriptions
    existing = await asyncio.to_thread(store.get_topic, actor.guild_id, found.name)
    if existing is not None:
        return existing
    try:
        return await asyncio.to_thread(
            store.add_topic, found.for_guild(actor.guild_id, created_by=actor.user_id)
        )
    except AlreadyExists:  # added a moment ago by someone else
        return await asyncio.to_thread(store.get_topic, actor.guild_id, found.name)


def _ready_made_names(limit: int = 12) -> str:
    names = [t.name for t in ready_made_topics()]
    more = f" and {len(names) - limit} more (/topic list)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


async def _add(deps: TopicDeps, actor: Actor, name: str, query: str | None) -> Reply:
    if (no := refused(actor, "add topics")) is not None:
        return no
    store = deps.subscriptions
    if not query or not query.strip():
        found = find_ready_made(name, ready_made_topics())
        if found is None:
            return build_error(
                f"/topic add needs a query unless {name.strip()!r} names a ready-made topic "
                f"({_ready_made_names()})"
            )
        if await asyncio.to_thread(store.get_topic, actor.guild_id, found.name) is not None:
            return build_error(f"this server already has the topic {found.name}")
        topic = await install_ready_made(deps, actor, found.name)
        assert topic is not None
        scheduler_changed(deps)
        return await _saved(deps, topic, created=True, ready_made=True)
    try:
        topic = make_topic(actor.guild_id, name, query, created_by=actor.user_id, now=_now(deps))
    except TopicError as exc:
        return build_error(str(exc))
    try:
        stored = await asyncio.to_thread(store.add_topic, topic)
    except AlreadyExists as exc:
        return build_error(f"{exc}; change its query with /topic edit {topic.name}")
    return await _saved(deps, stored, created=True)


async def add_topic(deps: TopicDeps, actor: Actor, name: str, query: str | None = None) -> Reply:
    """``/topic add NAME QUERY``, or ``/topic add NAME`` for a ready-made topic."""
    return await with_pause_notice(deps, actor, await _add(deps, actor, name, query))


async def _edit(deps: TopicDeps, actor: Actor, name: str, query: str) -> Reply:
    if (no := refused(actor, "edit topics")) is not None:
        return no
    store = deps.subscriptions
    topic = await asyncio.to_thread(store.get_topic, actor.guild_id, name)
    if topic is None:
        return build_error(f"this server has no topic called {name.strip()}; /topic list")
    try:
        changed = edited(topic, query, now=_now(deps))
    except TopicError as exc:
        return build_error(str(exc))
    try:
        stored = await asyncio.to_thread(
            store.update_topic, actor.guild_id, topic.name, changed.query_text
        )
    except NotFound as exc:
        return build_error(str(exc))
    scheduler_changed(deps)
    return await _saved(deps, stored, created=False)


async def edit_topic(deps: TopicDeps, actor: Actor, name: str, query: str) -> Reply:
    """``/topic edit NAME QUERY``: a new query for a topic (its subscriptions keep going)."""
    return await with_pause_notice(deps, actor, await _edit(deps, actor, name, query))


async def _remove(deps: TopicDeps, actor: Actor, name: str) -> Reply:
    if (no := refused(actor, "remove topics")) is not None:
        return no
    clean = name.strip().lower()
    try:
        removed = await asyncio.to_thread(deps.subscriptions.remove_topic, actor.guild_id, clean)
    except NotFound as exc:
        return build_error(str(exc))
    scheduler_changed(deps)
    return build_topic_removed(clean, removed)


async def remove_topic(deps: TopicDeps, actor: Actor, name: str) -> Reply:
    """``/topic remove NAME``: the topic and its subscriptions."""
    return await with_pause_notice(deps, actor, await _remove(deps, actor, name))


async def list_topics(deps: TopicDeps, actor: Actor) -> Reply:
    """``/topic list``: the server's topics and the ready-made ones it can add."""
    topics = await asyncio.to_thread(deps.subscriptions.list_topics, actor.guild_id)
    reply = build_topic_list(topics, ready_made_topics())
    return await with_pause_notice(deps, actor, reply)


async def _show(deps: TopicDeps, actor: Actor, name: str) -> Reply:
    store = deps.subscriptions
    topic = await asyncio.to_thread(store.get_topic, actor.guild_id, name)
    subs: list[Subscription] = []
    if topic is None:
        found = find_ready_made(name, ready_made_topics())
        if found is None:
            return build_error(f"this server has no topic called {name.strip()}; /topic list")
        topic = found.for_guild(actor.guild_id)
    else:
        subs = await asyncio.to_thread(store.subscriptions_for_topic, actor.guild_id, topic.name)
    count, lower_bound = await asyncio.to_thread(store.recent_count, topic.query, _now(deps), 7)
    return build_topic(topic, subs, count, lower_bound, label=actor.label)


async def show_topic(deps: TopicDeps, actor: Actor, name: str) -> Reply:
    """``/topic show NAME``: the query, its recent matches, and where it is delivered."""
    return await with_pause_notice(deps, actor, await _show(deps, actor, name))


async def topic_names(
    deps: TopicDeps, guild_id: int, current: str, limit: int = 25, *, ready_made: bool = True
) -> list[str]:
    """Topic names for autocomplete: the server's, then (with ``ready_made``, for the commands
    that accept them) the ready-made ones it has not added, matching ``current``."""
    wanted = current.strip().lower()
    own = [t.name for t in await asyncio.to_thread(deps.subscriptions.list_topics, guild_id)]
    names = own
    if ready_made:
        names = own + [t.name for t in ready_made_topics() if t.name not in own]
    starts = [n for n in names if n.startswith(wanted)]
    inside = [n for n in names if wanted in n and n not in starts]
    return [n[:100] for n in (starts + inside)[:limit]]


# -- the console ---------------------------------------------------------------------------------

_TOPIC_USAGE = "add NAME [QUERY] | edit NAME QUERY | remove NAME | list | show NAME"
TOPIC_DESCRIPTION = "This server's saved queries."
# The Discord command is a group; its subcommands are the registry's (optional) parameters, with
# the subcommands' descriptions, so /help and the synced commands tell the same story.
TOPIC_SUBCOMMANDS = (
    Param("add", "Save a query under a name; a ready-made topic needs only its name.", False),
    Param("edit", "Change a topic's query.", False),
    Param("remove", "Remove a topic and its subscriptions.", False),
    Param("list", "This server's topics, and the ready-made ones it can add.", False),
    Param("show", "A topic's query, its matches of the last seven days, and where it goes.", False),
)


def first_argument(args: Args) -> str:
    """The text typed after the command name (the console gives it to the first parameter)."""
    return next((v for v in args.values() if v and v.strip()), "").strip()


async def _run_topic(ctx: Context, args: Args) -> Reply:
    deps = topic_deps(ctx.deps)
    actor = Actor.console()
    action, _, rest = (first_argument(args) or "list").partition(" ")
    name, _, query = rest.strip().partition(" ")
    action = action.lower()
    if action == "list":
        return await list_topics(deps, actor)
    if not name:
        return build_error(f"/topic {action} needs a topic name: /topic {_TOPIC_USAGE}")
    if action == "add":
        return await add_topic(deps, actor, name, query or None)
    if action == "edit":
        if not query.strip():
            return build_error("/topic edit needs the new query: /topic edit NAME QUERY")
        return await edit_topic(deps, actor, name, query)
    if action == "remove":
        return await remove_topic(deps, actor, name)
    if action == "show":
        return await show_topic(deps, actor, name)
    return build_error(f"/topic takes {_TOPIC_USAGE}, not {action!r}")


COMMANDS = (
    Command(
        name="topic",
        description=TOPIC_DESCRIPTION,
        params=TOPIC_SUBCOMMANDS,
        run=_run_topic,
    ),
)
