"""``/subscribe``, ``/unsubscribe``, ``/subscriptions`` and ``/digest preview|now``.

``/subscribe TOPIC [channel] [when] [timezone]``: the channel (default: the one the command is
typed in) receives the topic's digest ``when`` (default ``daily 08:00``; also ``weekly mon
09:30``, ``asap`` for "as papers arrive", batched at most every hour, or ``every 2h``) in
``timezone`` (an IANA name, default UTC). Subscribing to a ready-made topic the server has not
added yet adds it. Subscribing again changes the schedule, and resumes a paused subscription.

Subscribing, unsubscribing and ``/digest now`` (which posts) need Manage Channels, checked by
Discord and again here. ``/digest preview`` is for everyone and private to the asker.
"""

from __future__ import annotations

import asyncio

from bot.commands.registry import Args, Command, Context, Param
from bot.commands.topics import (
    Actor,
    TopicDeps,
    first_argument,
    install_ready_made,
    ready_made_topics,
    refused,
    scheduler_changed,
    topic_deps,
    with_pause_notice,
)
from bot.domain.schedules import ScheduleError, parse_timezone, parse_when
from bot.domain.subscriptions import NotFound
from bot.domain.topics import find_ready_made
from bot.messages import Reply, build_error
from bot.messages.topics import (
    build_digest_preview,
    build_digest_run,
    build_subscribed,
    build_subscription_list,
    build_unsubscribed,
    with_notice,
)

__all__ = [
    "COMMANDS",
    "DEFAULT_TIMEZONE",
    "DEFAULT_WHEN",
    "digest_now",
    "digest_preview",
    "list_subscriptions",
    "subscribe",
    "unsubscribe",
]

DEFAULT_WHEN = "daily 08:00"
DEFAULT_TIMEZONE = "UTC"
WHEN_HELP = "daily 08:00 (default), weekly mon 09:30, asap (as papers arrive), every 2h"


async def _subscribe(
    deps: TopicDeps,
    actor: Actor,
    topic_name: str,
    channel_id: int | None,
    when: str | None,
    timezone: str | None,
    use_thread: bool,
    notify_empty: bool,
) -> Reply:
    if (no := refused(actor, "subscribe channels")) is not None:
        return no
    try:
        zone = parse_timezone(timezone or DEFAULT_TIMEZONE)
        schedule = parse_when(when or DEFAULT_WHEN, timezone=zone)
    except ScheduleError as exc:
        return build_error(str(exc))
    store = deps.subscriptions
    name = topic_name.strip().lower()
    topic = await asyncio.to_thread(store.get_topic, actor.guild_id, name)
    if topic is None:
        topic = await install_ready_made(deps, actor, name)
    if topic is None:
        return build_error(
            f"this server has no topic called {topic_name.strip()}: add it with /topic add, "
            "or see /topic list for the ready-made ones"
        )
    channel = channel_id if channel_id is not None else actor.channel_id
    try:
        sub, outcome = await asyncio.to_thread(
            lambda: store.subscribe(
                actor.guild_id,
                channel,
                topic.name,
                schedule,
                use_thread=use_thread,
                notify_empty=notify_empty,
                created_by=actor.user_id,
            )
        )
    except NotFound as exc:
        return build_error(str(exc))
    scheduler_changed(deps)
    return build_subscribed(sub, outcome, label=actor.label)


async def subscribe(
    deps: TopicDeps,
    actor: Actor,
    topic_name: str,
    channel_id: int | None = None,
    when: str | None = None,
    timezone: str | None = None,
    *,
    use_thread: bool = False,
    notify_empty: bool = False,
) -> Reply:
    """``/subscribe``: create, change or resume a channel's subscription to a topic."""
    # The notice comes first: a resubscription resumes, and the notice must not be lost.
    reply = await with_pause_notice(deps, actor, Reply())
    result = await _subscribe(
        deps, actor, topic_name, channel_id, when, timezone, use_thread, notify_empty
    )
    return _merge(reply, result)


def _merge(notice: Reply, reply: Reply) -> Reply:
    return with_notice(reply, notice.content) if notice.content else reply


async def _unsubscribe(
    deps: TopicDeps, actor: Actor, topic_name: str, channel_id: int | None
) -> Reply:
    if (no := refused(actor, "unsubscribe channels")) is not None:
        return no
    channel = channel_id if channel_id is not None else actor.channel_id
    name = topic_name.strip().lower()
    done = await asyncio.to_thread(deps.subscriptions.unsubscribe, actor.guild_id, channel, name)
    if not done:
        return build_error(f"{actor.label(channel)} does not subscribe to {topic_name.strip()}")
    scheduler_changed(deps)
    return build_unsubscribed(name, channel, actor.label)


async def unsubscribe(
    deps: TopicDeps, actor: Actor, topic_name: str, channel_id: int | None = None
) -> Reply:
    """``/unsubscribe``: the channel stops receiving the topic."""
    reply = await _unsubscribe(deps, actor, topic_name, channel_id)
    return await with_pause_notice(deps, actor, reply)


async def list_subscriptions(deps: TopicDeps, actor: Actor) -> Reply:
    """``/subscriptions``: the server's subscriptions, paused ones marked."""
    subs = await asyncio.to_thread(deps.subscriptions.list_subscriptions, actor.guild_id)
    reply = build_subscription_list(subs, label=actor.label)
    return await with_pause_notice(deps, actor, reply)


async def _preview(deps: TopicDeps, actor: Actor, topic_name: str, page: int = 1) -> Reply:
    name = topic_name.strip().lower()
    argument = f"preview {topic_name.strip()}"  # what its page buttons re-run
    service = deps.digests
    store = deps.subscriptions
    # The server's own topic first; else a ready-made one by name or alias (cs.CL), which is
    # the server's copy when it was added already, or else previewed before adding it.
    topic = await asyncio.to_thread(store.get_topic, actor.guild_id, name)
    ready = None if topic is not None else find_ready_made(name, ready_made_topics())
    if ready is not None:
        topic = await asyncio.to_thread(store.get_topic, actor.guild_id, ready.name)
    if topic is not None:
        own = topic.name
        try:
            digest = await asyncio.to_thread(
                lambda: service.preview(actor.guild_id, own, channel_id=actor.channel_id)
            )
        except NotFound as exc:  # removed a moment ago
            return build_error(f"{exc}; /topic list shows the topics")
        return build_digest_preview(digest, page=page, argument=argument)
    if ready is None:
        return build_error(
            f"this server has no topic called {topic_name.strip()}, and no ready-made topic has "
            "that name; /topic list shows both"
        )
    digest = await asyncio.to_thread(service.preview_new, ready.for_guild(actor.guild_id))
    note = (
        f"{ready.name} is a ready-made topic this server has not added yet: this is what a new "
        f"subscription would get first. /subscribe {ready.name} delivers it to a channel; "
        f"/topic add {ready.name} adds it to edit first."
    )
    return build_digest_preview(digest, note=note, page=page, argument=argument)


async def digest_preview(deps: TopicDeps, actor: Actor, topic_name: str) -> Reply:
    """``/digest preview``: what the topic's next digest would hold, for the asker only, one
    message of it a page."""
    return await with_pause_notice(deps, actor, await _preview(deps, actor, topic_name))


async def _now(deps: TopicDeps, actor: Actor, topic_name: str) -> Reply:
    if (no := refused(actor, "post digests")) is not None:
        return no
    name = topic_name.strip().lower()
    try:
        results = await deps.digests.run_now(actor.guild_id, name)
    except NotFound as exc:
        return build_error(f"{exc}; subscribe a channel with /subscribe {name}")
    subs = await asyncio.to_thread(deps.subscriptions.subscriptions_for_topic, actor.guild_id, name)
    channel_of = {s.id: s.channel_id for s in subs}
    channels = [channel_of.get(r.subscription_id, 0) for r in results]
    return build_digest_run(name, results, channels, actor.label)


async def digest_now(deps: TopicDeps, actor: Actor, topic_name: str) -> Reply:
    """``/digest now``: post the topic's digest to its channels in this server at once, with
    the bookkeeping of a scheduled run (what was delivered is never delivered again)."""
    reply = await _now(deps, actor, topic_name)
    return await with_pause_notice(deps, actor, reply)


# -- the console ---------------------------------------------------------------------------------


def _split_subscribe(text: str) -> tuple[str, str | None, str | None]:
    """``long-context weekly mon 09:30 Europe/Berlin`` -> (topic, when, timezone)."""
    words = text.split()
    if not words:
        return "", None, None
    topic, rest = words[0], words[1:]
    zone = None
    # No schedule has a "/" in it: a last word with one is the time zone, checked (and an
    # unknown one named) where the subscription is made.
    if rest and ("/" in rest[-1] or rest[-1].upper() in ("UTC", "GMT")):
        zone, rest = rest[-1], rest[:-1]
    return topic, " ".join(rest) or None, zone


async def _run_subscribe(ctx: Context, args: Args) -> Reply:
    topic, when, zone = _split_subscribe(first_argument(args))
    return await subscribe(topic_deps(ctx.deps), Actor.console(), topic, None, when, zone)


async def _run_unsubscribe(ctx: Context, args: Args) -> Reply:
    return await unsubscribe(topic_deps(ctx.deps), Actor.console(), first_argument(args))


async def _run_subscriptions(ctx: Context, args: Args) -> Reply:
    return await list_subscriptions(topic_deps(ctx.deps), Actor.console())


async def _run_digest(ctx: Context, args: Args) -> Reply:
    action, _, name = first_argument(args).partition(" ")
    deps = topic_deps(ctx.deps)
    if action.lower() == "preview" and name.strip():
        return await digest_preview(deps, Actor.console(), name)
    if action.lower() == "now" and name.strip():
        return await digest_now(deps, Actor.console(), name)
    return build_error("/digest takes preview TOPIC or now TOPIC")


async def _page_digest(ctx: Context, argument: str, page: int) -> Reply:
    """Another message of a digest preview; on Discord for the server and channel of the click
    (a channel's own subscription decides what is new), in the console for the console's."""
    action, _, name = argument.partition(" ")
    if action != "preview" or not name.strip():
        return build_error("only a digest preview has pages; run /digest preview TOPIC")
    place = ctx.place
    actor = Actor.console() if place is None else Actor(place.guild_id, place.channel_id)
    return await _preview(topic_deps(ctx.deps), actor, name, page)


# The registry mirrors the Discord commands (names, options, descriptions): /help lists them and
# tests/discord checks the synced commands against it. In the console, everything after the
# command name goes to the first parameter: /subscribe TOPIC [when] [time zone].
COMMANDS = (
    Command(
        name="subscribe",
        description="Deliver a topic's digest to a channel; again to change or resume it.",
        params=(
            Param("topic", "A topic of this server, or a ready-made one (see /topic list)"),
            Param("channel", "Where the digest goes; this channel if left out", False),
            Param("when", WHEN_HELP, False),
            Param("timezone", "An IANA time zone such as Europe/Berlin; UTC if left out", False),
            Param("thread", "Put long digests in a thread", False),
            Param("notify_empty", "Post one line when there is nothing new, saying why", False),
        ),
        run=_run_subscribe,
        permissions=("manage_channels",),
    ),
    Command(
        name="unsubscribe",
        description="Stop delivering a topic to a channel.",
        params=(
            Param("topic", "The topic's name"),
            Param("channel", "The channel; this channel if left out", False),
        ),
        run=_run_unsubscribe,
        permissions=("manage_channels",),
    ),
    Command(
        name="subscriptions",
        description="The channels of this server and the topics they receive.",
        run=_run_subscriptions,
    ),
    Command(
        name="digest",
        description="A topic's digest: preview it, or post it now.",
        params=(
            Param("preview", "What the topic's next digest would hold (only you see it).", False),
            Param("now", "Post the topic's digest to its channels in this server now.", False),
        ),
        run=_run_digest,
        turn_page=_page_digest,
    ),
)
