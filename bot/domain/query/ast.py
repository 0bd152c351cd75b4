"""The parsed form of a search query: a full-text tree plus whole-query filters.

A :class:`Query` splits what people type into two parts that storage answers differently:

* ``text_tree`` — words, phrases and prefixes combined with :class:`And`, :class:`Or` and
  :class:`Not`, answered by the full-text index (FTS5 / ``tsvector``);
* ``filters`` — conditions on columns (category, arXiv id, dates), all of which must hold, answered
  by plain ``WHERE`` clauses.

Every text leaf is already normalised the way the index tokenises (see :mod:`.parser`): folded to
lower case without accents, one token per :class:`Term`, several consecutive tokens per
:class:`Phrase`. Words are stored unstemmed; each backend applies its own stemmer and
:mod:`.evaluate` applies the light one that defines the reference semantics.

Shape guarantees of trees built by :func:`~.parser.parse_query` (storage may rely on them):
``And`` and ``Or`` have at least two children and never a child of their own kind; ``Not`` never
wraps a ``Not``; every child of an ``Or`` is *positive* (a leaf, an ``Or``, or an ``And`` with at
least one positive child), so an ``Or`` never has to be answered as "anything except ...". The
whole tree is positive unless the query has at least one filter to bound it (``cat:cs -survey``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeAlias

from dateutil.relativedelta import relativedelta

TextField: TypeAlias = Literal["author", "title", "abstract", "org"]
TEXT_FIELDS: tuple[TextField, ...] = ("author", "title", "abstract", "org")
Sort: TypeAlias = Literal["relevance", "recent"]
DateUnit: TypeAlias = Literal["d", "w", "m", "y"]


@dataclass(frozen=True, slots=True)
class Term:
    """One token. ``field`` None means any text field (title, abstract, authors, affiliations).

    ``prefix`` makes it ``text*``: any token beginning with ``text`` matches.
    """

    text: str
    field: TextField | None = None
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more tokens that must appear consecutively in one field value."""

    words: tuple[str, ...]
    field: TextField | None = None


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node: TypeAlias = Term | Phrase | And | Or | Not


@dataclass(frozen=True, slots=True)
class CategoryFilter:
    """Listed in ``code`` (primary or cross-list); ``whole_archive`` makes ``cs`` cover ``cs.*``."""

    code: str
    whole_archive: bool = False
    exclude: bool = False


@dataclass(frozen=True, slots=True)
class IdFilter:
    """The paper with this arXiv id (no version: every version of a paper is one record)."""

    arxiv_id: str
    exclude: bool = False


@dataclass(frozen=True, slots=True)
class RelativeDate:
    """``amount`` days, weeks, months or years back from a reference day (``7d``, ``1m``)."""

    amount: int
    unit: DateUnit

    def before(self, today: date) -> date:
        """The day this offset points at, counted back from ``today``."""
        if self.unit == "d":
            delta = relativedelta(days=self.amount)
        elif self.unit == "w":
            delta = relativedelta(weeks=self.amount)
        elif self.unit == "m":
            delta = relativedelta(months=self.amount)
        else:
            delta = relativedelta(years=self.amount)
        result: date = today - delta
        return result

    @property
    def code(self) -> str:
        """The query syntax for this offset, e.g. ``7d``."""
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True, slots=True)
class DateRange:
    """Published between ``since`` and ``until``, both inclusive; either may be open (None).

    A bound typed as an offset (``since:7d``) keeps it in ``since_relative``/``until_relative``;
    ``since``/``until`` then hold its value on the day the query was parsed, and
    :meth:`resolved` recomputes them for another day so a saved topic keeps meaning "the last
    week" rather than the week it was written in.
    """

    since: date | None = None
    until: date | None = None
    since_relative: RelativeDate | None = None
    until_relative: RelativeDate | None = None

    def resolved(self, today: date) -> DateRange:
        """This range with its relative bounds counted back from ``today``."""
        if self.since_relative is None and self.until_relative is None:
            return self
        return DateRange(
            since=self.since_relative.before(today) if self.since_relative else self.since,
            until=self.until_relative.before(today) if self.until_relative else self.until,
            since_relative=self.since_relative,
            until_relative=self.until_relative,
        )

    def contains(self, day: date) -> bool:
        """Whether ``day`` lies within the (already resolved) bounds."""
        if self.since is not None and day < self.since:
            return False
        return not (self.until is not None and day > self.until)


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of several category/id filters, from ``cat:cs.CL OR cat:cs.LG``."""

    options: tuple[CategoryFilter | IdFilter, ...]


Filter: TypeAlias = CategoryFilter | IdFilter | DateRange | AnyOf


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query. ``filters`` must all hold; ``text_tree`` None means "no text condition".

    ``sort`` defaults to relevance when there is text to rank by, else to recent. ``broad`` is
    True when every word in the text tree is a stop-word ("the", "of a"), which a full-text
    index answers slowly or (PostgreSQL) not at all.
    """

    text_tree: Node | None
    filters: tuple[Filter, ...] = ()
    sort: Sort = "relevance"
    raw: str = ""
    broad: bool = False


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, parents before children."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, And | Or):
            stack.extend(reversed(current.children))
        elif isinstance(current, Not):
            stack.append(current.child)


def leaves(node: Node) -> Iterator[Term | Phrase]:
    """The terms and phrases of a tree, left to right, whether excluded or not."""
    for n in walk(node):
        if isinstance(n, Term | Phrase):
            yield n
