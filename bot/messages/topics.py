"""Replies of ``/topic``, ``/subscribe``, ``/unsubscribe``, ``/subscriptions`` and ``/digest``.

Pure builders: they take domain records (topics, subscriptions, digests, run results) and return
a :class:`~bot.messages.model.Reply` within Discord's limits. Channels are named through a
``ChannelLabel`` the front end passes (``#papers`` on Discord, ``channel 0`` in the console).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.digests.service import RunResult
from bot.domain.digest import Digest, DigestCard
from bot.domain.subscriptions import SubscribeOutcome, Subscription
from bot.domain.text import plural
from bot.domain.topics import ReadyMadeTopic, Topic
from bot.messages.errors import build_error
from bot.messages.limits import FIELD_VALUE_MAX, TITLE_MAX, fit_reply, fit_text
from bot.messages.model import Card, Field, PagerState, Reply, RichText, Span

__all__ = [
    "TOPIC_TEAL",
    "ChannelLabel",
    "build_cannot_post_here",
    "build_digest_preview",
    "build_digest_run",
    "build_pause_notice",
    "build_subscribed",
    "build_subscription_list",
    "build_topic",
    "build_topic_list",
    "build_topic_removed",
    "build_topic_saved",
    "build_unsubscribed",
    "digest_card",
    "no_thread_note",
    "with_closing_note",
    "with_notice",
]

ChannelLabel = Callable[[int], str]
TOPIC_TEAL = 0x1ABC9C
DIGEST_ORANGE = 0xE67E22
RECENT_DAYS = 7


def default_label(channel_id: int) -> str:
    return f"channel {channel_id}"


def _recent(count: int, lower_bound: bool, days: int = RECENT_DAYS) -> str:
    amount = f"at least {count:,}" if lower_bound else f"{count:,}"
    noun = "paper" if count == 1 and not lower_bound else "papers"
    return f"{amount} {noun} of the last {days} days"


def _topic_fields(topic: Topic) -> list[Field]:
    fields = [Field("Query", (Span(fit_text(topic.query_text, FIELD_VALUE_MAX - 2), "code"),))]
    summary = topic.summary
    if summary and summary != topic.query_text:
        fields.append(Field("In words", (Span(fit_text(summary, FIELD_VALUE_MAX)),)))
    if topic.description:
        fields.append(Field("About", (Span(fit_text(topic.description, FIELD_VALUE_MAX)),)))
    return fields


def build_topic_saved(
    topic: Topic,
    count: int,
    lower_bound: bool = False,
    *,
    created: bool = True,
    ready_made: bool = False,
    days: int = RECENT_DAYS,
) -> Reply:
    """``/topic add`` or ``/topic edit`` done: the query, and how many recent papers it matches."""
    verb = "added" if created else "updated"
    origin = " (ready-made)" if ready_made else ""
    fields = _topic_fields(topic)
    fields.append(Field(f"Last {days} days", (Span(_recent(count, lower_bound, days)),)))
    hint = f"Subscribe a channel with /subscribe {topic.name}"
    card = Card(
        title=fit_text(f"Topic {topic.name} {verb}{origin}", TITLE_MAX),
        fields=tuple(fields),
        footer=hint,
        color=TOPIC_TEAL,
    )
    return fit_reply(Reply(cards=(card,)))


def build_topic(
    topic: Topic,
    subscriptions: Sequence[Subscription],
    count: int,
    lower_bound: bool = False,
    *,
    label: ChannelLabel = default_label,
    days: int = RECENT_DAYS,
) -> Reply:
    """``/topic show``: the topic, its recent matches and the channels that receive it."""
    fields = _topic_fields(topic)
    fields.append(Field(f"Last {days} days", (Span(_recent(count, lower_bound, days)),)))
    if subscriptions:
        lines = "\n".join(_subscription_line(s, label, with_topic=False) for s in subscriptions)
        fields.append(Field("Delivered to", (Span(fit_text(lines, FIELD_VALUE_MAX)),)))
    else:
        fields.append(Field("Delivered to", (Span(f"no channel yet: /subscribe {topic.name}"),)))
    card = Card(title=fit_text(f"Topic {topic.name}", TITLE_MAX), fields=tuple(fields))
    return fit_reply(Reply(cards=(card,)))


def build_topic_list(topics: Sequence[Topic], ready_made: Sequence[ReadyMadeTopic]) -> Reply:
    """``/topic list``: the server's topics, then the ready-made ones it can add by name."""
    body: list[Span] = []
    for i, topic in enumerate(topics):
        if i:
            body.append(Span("\n"))
        body.append(Span(topic.name, "bold"))
        body.append(Span(" — "))
        body.append(Span(fit_text(topic.query_text, 150), "code"))
    if not topics:
        body.append(Span("This server has no topics yet. Add one with /topic add NAME QUERY, "))
        body.append(Span("or a ready-made one by its name alone (/topic add NAME)."))
    fields: list[Field] = []
    own = {t.name for t in topics}
    available = [r for r in ready_made if r.name not in own]
    for group, title in (("category", "Ready-made: categories"), ("theme", "Ready-made: themes")):
        names = [r.name for r in available if r.group == group]
        if names:
            fields.append(Field(title, (Span(fit_text(", ".join(names), FIELD_VALUE_MAX)),)))
    others = [r.name for r in available if r.group not in ("category", "theme")]
    if others:
        fields.append(Field("Ready-made", (Span(fit_text(", ".join(others), FIELD_VALUE_MAX)),)))
    footer = plural(len(topics), "topic")
    if available:
        footer += " · /topic add NAME with no query adds a ready-made topic"
    card = Card(
        title="Topics of this server",
        description=tuple(body),
        fields=tuple(fields),
        footer=footer,
        color=TOPIC_TEAL,
    )
    return fit_reply(Reply(cards=(card,)))


def build_topic_removed(name: str, subscriptions: int) -> Reply:
    extra = f" and its {plural(subscriptions, 'subscription')}" if subscriptions else ""
    return fit_reply(Reply(content=f"Removed the topic {name}{extra}."))


def _subscription_line(sub: Subscription, label: ChannelLabel, *, with_topic: bool) -> str:
    head = f"{sub.topic.name} → {label(sub.channel_id)}" if with_topic else label(sub.channel_id)
    line = f"{head}: {sub.schedule.describe()}"
    if sub.use_thread:
        line += ", in a thread"
    if sub.paused:
        line += f" — PAUSED ({sub.pause_reason or 'no reason given'})"
    return line


def build_subscribed(
    sub: Subscription, outcome: SubscribeOutcome, *, label: ChannelLabel = default_label
) -> Reply:
    """``/subscribe`` done: created, changed or resumed, and when the next digest comes."""
    verb = {"created": "will receive", "updated": "now receives", "resumed": "receives again"}
    text = (
        f"{label(sub.channel_id)} {verb[outcome]} {sub.topic.name} {sub.schedule.describe()}"
        f"{', in a thread' if sub.use_thread else ''}."
    )
    if outcome == "created":
        text += " The first digest includes the papers of the last days that match."
    if outcome == "resumed":
        text += " Papers missed while paused come in the next digest."
    text += f" Preview it with /digest preview {sub.topic.name}."
    return fit_reply(Reply(content=text))


def build_unsubscribed(topic_name: str, channel_id: int, label: ChannelLabel) -> Reply:
    return fit_reply(Reply(content=f"{label(channel_id)} no longer receives {topic_name}."))


def build_subscription_list(
    subs: Sequence[Subscription], *, label: ChannelLabel = default_label
) -> Reply:
    """``/subscriptions``: every subscription of the server."""
    if not subs:
        text = "No channel of this server subscribes to a topic yet: /subscribe TOPIC."
        body: RichText = (Span(text),)
    else:
        body = (Span("\n".join(_subscription_line(s, label, with_topic=True) for s in subs)),)
    card = Card(
        title="Subscriptions of this server",
        description=body,
        footer=plural(len(subs), "subscription"),
        color=TOPIC_TEAL,
    )
    return fit_reply(Reply(cards=(card,)))


def digest_card(card: DigestCard) -> Card:
    """A digest card as a reply card: byline, TL;DR, links."""
    spans: list[Span] = []
    for text in (card.byline, card.body):
        if text:
            if spans:
                spans.append(Span("\n"))
            spans.append(Span(text))
    for i, link in enumerate(card.links):
        spans.append(Span("\n" if i == 0 and spans else (" · " if i else "")))
        spans.append(Span(link.label, url=link.url))
    return Card(
        title=card.title,
        url=card.url,
        description=tuple(s for s in spans if s.text),
        footer=card.footer,
        color=DIGEST_ORANGE,
    )


def build_digest_preview(
    digest: Digest, *, note: str = "", page: int = 1, argument: str = ""
) -> Reply:
    """``/digest preview``: the next digest as it would be posted, shown only to the asker, one
    of its messages a page (a message holds ten cards at most, within Discord's limits);
    ``note`` (a line on what is previewed) follows. ``argument`` is what the page buttons
    re-run (``preview TOPIC``); a page past the end shows the last one (the digest may have
    shrunk since the first page was shown)."""
    tail = f"\n{note}" if note else ""
    if not digest.messages:
        why = f" ({digest.empty_reason.text})" if digest.empty_reason else ""
        text = f"The next {digest.topic_name} digest would be empty{why}.{tail}"
        return fit_reply(Reply(content=text, ephemeral=True))
    pages = len(digest.messages)
    page = min(max(page, 1), pages)
    message = digest.messages[page - 1]
    content = f"Preview (only you see this): {message.content}"  # numbered (2/3) when long
    pager = PagerState("digest", argument, page, pages) if pages > 1 and argument else None
    cards = tuple(digest_card(c) for c in message.cards)
    return fit_reply(Reply(content=content + tail, cards=cards, ephemeral=True, pager=pager))


def build_digest_run(
    topic_name: str, results: Sequence[RunResult], channels: Sequence[int], label: ChannelLabel
) -> Reply:
    """``/digest now``: what went out, channel by channel."""
    lines: list[str] = []
    by_id = dict(zip((r.subscription_id for r in results), channels, strict=False))
    for result in results:
        where = label(by_id.get(result.subscription_id, 0))
        if result.outcome == "posted":
            lines.append(
                f"{where}: posted {plural(len(result.message_ids), 'message')} with "
                f"{plural(result.papers, 'paper')}."
            )
        elif result.outcome == "empty":
            why = f" ({result.detail})" if result.detail else ""
            lines.append(f"{where}: nothing new to post{why}.")
        elif result.outcome == "already_done":
            lines.append(f"{where}: this digest was posted already.")
        elif result.outcome == "in_progress":
            lines.append(f"{where}: a digest is being posted right now; nothing more was sent.")
        elif result.outcome in ("paused", "skipped_paused"):
            lines.append(f"{where}: paused — {result.detail or 'the channel cannot be used'}.")
        elif result.outcome == "retry_later":
            lines.append(
                f"{where}: Discord kept failing; the digest will be retried in a few minutes."
            )
        else:
            lines.append(f"{where}: the subscription is gone.")
    text = f"Digest of {topic_name}: " + (" ".join(lines) if lines else "no channel.")
    return fit_reply(Reply(content=text, ephemeral=True))


def _reason(reason: str | None) -> str:
    text = (reason or "the channel cannot be used").strip()
    return text.removesuffix("; subscribe again to resume")


def build_pause_notice(subs: Sequence[Subscription], label: ChannelLabel = default_label) -> str:
    """One paragraph telling a server its subscriptions were paused, and how to resume."""
    parts = [
        f"the {s.topic.name} digest for {label(s.channel_id)} is paused ({_reason(s.pause_reason)})"
        for s in subs
    ]
    if not parts:
        return ""
    return "Note: " + "; ".join(parts) + ". Use /subscribe again to resume."


def build_cannot_post_here(where: str, missing: Sequence[str]) -> Reply:
    """``/subscribe`` to a channel where the bot lacks ``missing`` (permission labels)."""
    them = "it" if len(missing) == 1 else "them"
    return build_error(
        f"I cannot post digests in {where}: I am missing {' and '.join(missing)} there. "
        f"Give me {them} (channel settings, Permissions), then /subscribe again"
    )


def no_thread_note(missing: Sequence[str]) -> str:
    """The line ``/subscribe`` adds when the bot lacks ``missing`` to start threads there."""
    them = "it" if len(missing) == 1 else "them"
    return (
        f"Note: I am missing {' and '.join(missing)} there, so long digests will continue in "
        f"the channel itself until I have {them}."
    )


def with_closing_note(reply: Reply, note: str) -> Reply:
    """``reply`` with ``note`` as its last line, unless it is an error."""
    if reply.error or not note:
        return reply
    return replace(reply, content=f"{reply.content}\n{note}" if reply.content else note)


def with_notice(reply: Reply, notice: str) -> Reply:
    """``reply`` with ``notice`` first in its text (shortened to fit)."""
    if not notice:
        return reply
    content = f"{notice}\n{reply.content}" if reply.content else notice
    return fit_reply(
        Reply(
            content=content,
            cards=reply.cards,
            ephemeral=reply.ephemeral,
            pager=reply.pager,
            error=reply.error,
        )
    )
