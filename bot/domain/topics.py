"""Topics: a guild's named, saved queries, and the ready-made ones shipped in config/topics.toml.

A topic is a query in the search language (see :mod:`bot.domain.query`) under a short name that
people type in commands (``/subscribe long-context``). Names are slugs: lower-case letters, digits
and single dashes, at most :data:`TOPIC_NAME_MAX` characters, so they autocomplete and read the
same everywhere. Each guild has its own namespace; the ready-made topics are templates a guild can
subscribe to, which copies them into that guild.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.domain.query import Query, QueryError, canonical, describe, parse_query

__all__ = [
    "DEFAULT_TOPICS_FILE",
    "TOPIC_DESCRIPTION_MAX",
    "TOPIC_NAME_MAX",
    "ReadyMadeTopic",
    "Topic",
    "TopicError",
    "edited",
    "find_ready_made",
    "load_ready_made",
    "make_topic",
    "parse_topic_query",
    "suggest_name",
    "validate_topic_name",
]

TOPIC_NAME_MAX = 40
TOPIC_DESCRIPTION_MAX = 200
DEFAULT_TOPICS_FILE = Path(__file__).resolve().parents[2] / "config" / "topics.toml"

_NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class TopicError(ValueError):
    """A topic name or query that cannot be used; the message is written for the person."""


@dataclass(frozen=True, slots=True)
class Topic:
    """A saved query owned by a guild. ``query`` is ``query_text`` parsed."""

    guild_id: int
    name: str
    query_text: str
    query: Query
    description: str = ""
    created_by: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None

    @property
    def canonical_query(self) -> str:
        """The query in normalised syntax (what is actually searched)."""
        return canonical(self.query)

    @property
    def summary(self) -> str:
        """The query in words, for showing the topic back to people."""
        return describe(self.query)


@dataclass(frozen=True, slots=True)
class ReadyMadeTopic:
    """A topic template from config/topics.toml; ``group`` is ``category`` or ``theme``."""

    name: str
    query_text: str
    query: Query
    description: str = ""
    group: str = "category"
    aliases: tuple[str, ...] = field(default=())

    def for_guild(self, guild_id: int, *, created_by: int | None = None) -> Topic:
        return Topic(
            guild_id=guild_id,
            name=self.name,
            query_text=self.query_text,
            query=self.query,
            description=self.description,
            created_by=created_by,
        )


def suggest_name(text: str) -> str:
    """The nearest valid name: accents dropped, lower case, runs of other characters as one dash.

    May return ``""`` when nothing usable is left (the text had no letters or digits).
    """
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > TOPIC_NAME_MAX:
        slug = slug[:TOPIC_NAME_MAX].rstrip("-")
    return slug


def validate_topic_name(name: str) -> str:
    """``name`` trimmed, if it is a valid topic name; else :class:`TopicError` saying why.

    Upper case is accepted and lowered (``Long-Context`` is ``long-context``); anything else
    that is not a slug is refused with a suggestion.
    """
    cleaned = name.strip().lower()
    if not cleaned:
        raise TopicError("a topic needs a name, e.g. long-context")
    if len(cleaned) > TOPIC_NAME_MAX:
        raise TopicError(
            f"the topic name is too long: at most {TOPIC_NAME_MAX} characters "
            f"(this one has {len(cleaned)})"
        )
    if not _NAME_RE.fullmatch(cleaned):
        hint = suggest_name(name)
        tail = f"; try {hint!r}" if hint and hint != cleaned else ""
        raise TopicError(
            f"{name.strip()!r} is not a topic name: use lower-case letters, digits and single "
            f"dashes between them (like long-context){tail}"
        )
    return cleaned


def parse_topic_query(text: str, *, today: date | None = None) -> Query:
    """``text`` parsed as a topic's query; a bad query raises :class:`TopicError` with the
    parser's own message (which names the column)."""
    try:
        return parse_query(text, today=today)
    except QueryError as exc:
        raise TopicError(f"the query cannot be used: {exc.message}") from exc


def make_topic(
    guild_id: int,
    name: str,
    query_text: str,
    *,
    description: str = "",
    created_by: int | None = None,
    now: datetime | None = None,
) -> Topic:
    """A new topic, validated: the name is a slug and the query parses."""
    moment = now or datetime.now(UTC)
    clean_name = validate_topic_name(name)
    text = " ".join(query_text.split())
    query = parse_topic_query(text, today=moment.astimezone(UTC).date())
    description = " ".join(description.split())
    if len(description) > TOPIC_DESCRIPTION_MAX:
        raise TopicError(
            f"the description is too long: at most {TOPIC_DESCRIPTION_MAX} characters "
            f"(this one has {len(description)})"
        )
    return Topic(
        guild_id=guild_id,
        name=clean_name,
        query_text=text,
        query=query,
        description=description,
        created_by=created_by,
        created_at=moment,
        updated_at=moment,
    )


def edited(topic: Topic, query_text: str, *, now: datetime | None = None) -> Topic:
    """``topic`` with a new query (validated like a new one)."""
    moment = now or datetime.now(UTC)
    text = " ".join(query_text.split())
    query = parse_topic_query(text, today=moment.astimezone(UTC).date())
    return replace(topic, query_text=text, query=query, updated_at=moment)


def _ready_made(entry: Any, where: str) -> ReadyMadeTopic:
    if not isinstance(entry, dict):
        raise TopicError(f"{where}: expected a table with name and query")
    name = entry.get("name")
    query_text = entry.get("query")
    if not isinstance(name, str) or not isinstance(query_text, str):
        raise TopicError(f"{where}: name and query must both be strings")
    try:
        clean = validate_topic_name(name)
        query = parse_topic_query(query_text)
    except TopicError as exc:
        raise TopicError(f"{where} ({name}): {exc}") from None
    description = entry.get("description", "")
    group = entry.get("group", "category")
    aliases = entry.get("aliases", [])
    if not isinstance(description, str) or not isinstance(group, str):
        raise TopicError(f"{where} ({name}): description and group must be strings")
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise TopicError(f"{where} ({name}): aliases must be a list of strings")
    return ReadyMadeTopic(
        name=clean,
        query_text=query_text,
        query=query,
        description=description,
        group=group,
        aliases=tuple(a.lower() for a in aliases),
    )


def load_ready_made(path: Path | None = None) -> list[ReadyMadeTopic]:
    """The ready-made topics of ``path`` (default config/topics.toml), validated.

    The file holds ``[[topic]]`` tables with ``name``, ``query`` and optional ``description``,
    ``group`` and ``aliases``. A bad entry raises :class:`TopicError` naming it.
    """
    source = path or DEFAULT_TOPICS_FILE
    with source.open("rb") as fh:
        data = tomllib.load(fh)
    entries = data.get("topic", [])
    if not isinstance(entries, list):
        raise TopicError(f"{source.name}: expected [[topic]] tables")
    topics = [_ready_made(e, f"{source.name} topic {i + 1}") for i, e in enumerate(entries)]
    _check_unique(topics, source.name)
    return topics


def _check_unique(topics: Iterable[ReadyMadeTopic], where: str) -> None:
    seen: set[str] = set()
    for topic in topics:
        for name in (topic.name, *topic.aliases):
            if name in seen:
                raise TopicError(f"{where}: the name {name!r} is used twice")
            seen.add(name)


def find_ready_made(name: str, topics: Iterable[ReadyMadeTopic]) -> ReadyMadeTopic | None:
    """The ready-made topic called ``name`` (or with that alias, e.g. ``cs.CL``)."""
    wanted = name.strip().lower()
    for topic in topics:
        if wanted == topic.name or wanted in topic.aliases:
            return topic
    return None
