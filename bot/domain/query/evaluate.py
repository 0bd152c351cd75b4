"""Evaluate a :class:`~.ast.Query` against one paper in memory, and render queries for people.

:func:`matches` is the reference semantics every storage backend approximates, and what the topic
matcher runs on incoming papers:

* Text is tokenised by :func:`~.parser.tokenize`, the same function the parser uses.
* A word matches a token with the same :func:`stem`; the stemmer is deliberately light and is
  applied to query and text alike, so "models", "modeling" and "modeled" all find "model".
* A prefix ``transform*`` matches a token whose surface form or stem starts with it.
* A phrase matches consecutive tokens (compared by stem) inside one field value: the title, the
  abstract, one author's name or one affiliation — never across two of them.
* Unfielded words search title, abstract, author names and affiliations.
* ``author:`` compares names, not prose: no stemming (Andrews is not Andrew), the words of a
  phrase may come in any order within one author's name, and a one-letter word matches as an
  initial, either way round — ``author:"hinton g"`` finds "Geoffrey E. Hinton" and
  ``author:"geoffrey hinton"`` finds "G. Hinton". An initial in the name never stands in for
  every full word typed, though: one of them must be a word of that name, so ``author:hinton``
  does not find "H. Wang" (as the full-text and surname indexes of storage behave).
* Dates compare the day (UTC) the paper was first published, else its last update, else when it
  entered the catalog; a paper with no date fails every date filter. Relative bounds
  (``since:7d``) count back from ``now``, so a saved topic keeps meaning "the last week".
* Categories compare case-insensitively against every listing, primary and cross-lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from bot.domain.arxiv_ids import parse_arxiv_ref
from bot.domain.papers import Paper
from bot.domain.query.ast import (
    And,
    AnyOf,
    CategoryFilter,
    DateRange,
    Filter,
    IdFilter,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    RelativeDate,
    Term,
    TextField,
)
from bot.domain.query.parser import tokenize

__all__ = [
    "PreparedPaper",
    "canonical",
    "describe",
    "matches",
    "prepare",
    "stem",
    "stem_cached",
]

_VOWELS = frozenset("aeiouy")
_NO_UNDOUBLE = frozenset("lsz")
# Words whose "ed" is no past tense, common enough in papers to matter (embed, embeds, embedded
# and embedding must meet); "-eed" words (speed, need, proceed) are all kept whole too.
_ED_ROOTS = frozenset({"embed", "imbed"})


def stem(word: str) -> str:
    """A light English stem of a folded token, used for query words and paper text alike.

    Only ASCII-letter words longer than three letters change. In order: plurals (``sses``->``ss``,
    ``ies``->``y``, ``ches/shes/xes/zes``->drop ``es``, else a final ``s`` unless ``ss``/``us``/
    ``is``); then ``ing`` or ``ed`` (not ``eed``, not embed) when at least three letters with a
    vowel remain, undoubling a
    final double consonant other than l/s/z (running->run); then ``ly`` when four letters remain;
    then a final ``e`` (so code, coded, coding and codes meet at ``cod``); last, a final ``ll``
    of a longer word loses one l (modelling -> model, but call stays). Equal stems mean equal
    words for matching; the stem itself need not be a word, and the usual light-stemmer misses
    remain (bias/biased, use/using).
    """
    if len(word) <= 3 or not (word.isascii() and word.isalpha()):
        return word
    w = word
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("ches", "shes", "xes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and not (suffix == "ed" and (w.endswith("eed") or w in _ED_ROOTS)):
            base = w[: -len(suffix)]
            if len(base) >= 3 and any(c in _VOWELS for c in base):
                w = base
                if w[-1] == w[-2] and w[-1] not in _VOWELS and w[-1] not in _NO_UNDOUBLE:
                    w = w[:-1]
            break
    if w.endswith("ly") and len(w) >= 6:
        w = w[:-2]
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    if w.endswith("ll") and len(w) > 5:
        w = w[:-1]
    return w


class _Stems(dict[str, str]):
    """:func:`stem` memoised (a pure function asked for every token of every paper, and the
    vocabulary repeats); a plain dict lookup a token, emptied when it outgrows its bound."""

    limit = 1 << 17

    def __missing__(self, word: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        found = self[word] = stem(word)
        return found


_STEMS = _Stems()
# stem, memoised: for callers that stem many words, most of them seen before.
stem_cached: Callable[[str], str] = _STEMS.__getitem__


# --- the paper side -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Segment:
    """One field value (a title, an abstract, one author's name, one affiliation), tokenised."""

    tokens: tuple[str, ...]
    stems: tuple[str, ...]
    stem_set: frozenset[str]


def _segment(text: str) -> _Segment:
    tokens = tuple(tokenize(text))
    stems = tuple(map(stem_cached, tokens))
    return _Segment(tokens, stems, frozenset(stems))


@dataclass(frozen=True, slots=True)
class PreparedPaper:
    """A paper tokenised once, so many queries (topics) can be tested against it cheaply."""

    title: tuple[_Segment, ...]
    abstract: tuple[_Segment, ...]
    author: tuple[_Segment, ...]
    org: tuple[_Segment, ...]
    categories: tuple[str, ...]  # lower case
    arxiv_id: str | None  # lower case, no version
    day: date | None

    def segments(self, field: TextField | None) -> tuple[_Segment, ...]:
        """The field values a term with this field searches."""
        if field is None:
            return self.title + self.abstract + self.author + self.org
        if field == "title":
            return self.title
        if field == "abstract":
            return self.abstract
        if field == "author":
            return self.author
        return self.org


def _utc_day(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _prepare(paper: Paper) -> PreparedPaper:
    arxiv_id: str | None = None
    if paper.arxiv_id:
        ref = parse_arxiv_ref(paper.arxiv_id)
        arxiv_id = (ref.id if ref else paper.arxiv_id.strip()).lower()
    return PreparedPaper(
        title=(_segment(paper.title),),
        abstract=(_segment(paper.abstract),),
        author=tuple(_segment(a.name) for a in paper.authors),
        org=tuple(_segment(aff) for aff in paper.affiliations),
        categories=tuple(c.strip().lower() for c in paper.categories),
        arxiv_id=arxiv_id,
        day=_utc_day(paper.published or paper.updated or paper.added_at),
    )


# A whole announcement day (arXiv: about 1,500 papers) fits, so a tick's matching
# (bot.domain.matching) and the digests built from its result prepare each paper once.
_prepare_cached = lru_cache(maxsize=2048)(_prepare)


def prepare(paper: Paper) -> PreparedPaper:
    """``paper`` tokenised for :func:`matches` (cached for the most recent papers)."""
    try:
        return _prepare_cached(paper)
    except TypeError:
        # An unhashable field (a list where a tuple belongs) only costs the cache.
        return _prepare(paper)


# --- matching -----------------------------------------------------------------------------------


def _name_word(word: str, token: str) -> bool:
    if word == token:
        return True
    if len(word) == 1:
        return token.startswith(word)
    return len(token) == 1 and word.startswith(token)


def _names(words: tuple[str, ...], tokens: tuple[str, ...]) -> bool:
    """Whether ``words`` name the author whose name has ``tokens``: each word meets a word of
    the name (itself, or an initial either way round), and when any word is a full word, one of
    the full words is a word of the name outright (an initial never stands for them all)."""
    if not all(any(_name_word(w, t) for t in tokens) for w in words):
        return False
    full = [w for w in words if len(w) > 1]
    return not full or any(w in tokens for w in full)


def _term(term: Term, doc: PreparedPaper) -> bool:
    segments = doc.segments(term.field)
    p = term.text
    if term.field == "author":
        if term.prefix:
            return any(t.startswith(p) for seg in segments for t in seg.tokens)
        return any(_names((p,), seg.tokens) for seg in segments)
    if term.prefix:
        return any(
            t.startswith(p) or s.startswith(p)
            for seg in segments
            for t, s in zip(seg.tokens, seg.stems, strict=True)
        )
    target = stem(p)
    return any(target in seg.stem_set for seg in segments)


def _phrase(phrase: Phrase, doc: PreparedPaper) -> bool:
    segments = doc.segments(phrase.field)
    if phrase.field == "author":
        return any(_names(phrase.words, seg.tokens) for seg in segments)
    target = tuple(stem(w) for w in phrase.words)
    k = len(target)
    for seg in segments:
        if not all(s in seg.stem_set for s in target):
            continue
        stems = seg.stems
        if any(stems[i : i + k] == target for i in range(len(stems) - k + 1)):
            return True
    return False


def _node(node: Node, doc: PreparedPaper) -> bool:
    if isinstance(node, Term):
        return _term(node, doc)
    if isinstance(node, Phrase):
        return _phrase(node, doc)
    if isinstance(node, And):
        return all(_node(child, doc) for child in node.children)
    if isinstance(node, Or):
        return any(_node(child, doc) for child in node.children)
    return not _node(node.child, doc)


def _option(f: CategoryFilter | IdFilter, doc: PreparedPaper) -> bool:
    if isinstance(f, IdFilter):
        hit = doc.arxiv_id is not None and doc.arxiv_id == f.arxiv_id.lower()
    else:
        code = f.code.lower()
        hit = any(
            c == code or (f.whole_archive and c.startswith(code + ".")) for c in doc.categories
        )
    return hit != f.exclude


def _filter(f: Filter, doc: PreparedPaper, today: date) -> bool:
    if isinstance(f, AnyOf):
        return any(_option(option, doc) for option in f.options)
    if isinstance(f, DateRange):
        return doc.day is not None and f.resolved(today).contains(doc.day)
    return _option(f, doc)


def matches(query: Query, paper: Paper | PreparedPaper, *, now: datetime | None = None) -> bool:
    """Whether ``paper`` satisfies every filter and the text tree of ``query``.

    ``now`` is when relative dates count back from (default: the current time); a naive datetime
    is taken as UTC.
    """
    doc = paper if isinstance(paper, PreparedPaper) else prepare(paper)
    if query.filters:
        today = _utc_day(now if now is not None else datetime.now(UTC))
        assert today is not None
        if not all(_filter(f, doc, today) for f in query.filters):
            return False
    return query.text_tree is None or _node(query.text_tree, doc)


# --- rendering ----------------------------------------------------------------------------------


def _leaf_syntax(node: Term | Phrase) -> str:
    head = f"{node.field}:" if node.field else ""
    if isinstance(node, Term):
        return f"{head}{node.text}{'*' if node.prefix else ''}"
    return f'{head}"{" ".join(node.words)}"'


def _syntax(node: Node) -> str:
    if isinstance(node, Term | Phrase):
        return _leaf_syntax(node)
    if isinstance(node, Not):
        inner = _syntax(node.child)
        return f"-({inner})" if isinstance(node.child, And | Or) else f"-{inner}"
    if isinstance(node, And):
        return " ".join(
            f"({_syntax(c)})" if isinstance(c, And | Or) else _syntax(c) for c in node.children
        )
    return " OR ".join(
        f"({_syntax(c)})" if isinstance(c, And | Or) else _syntax(c) for c in node.children
    )


def _option_syntax(f: CategoryFilter | IdFilter) -> str:
    minus = "-" if f.exclude else ""
    if isinstance(f, IdFilter):
        return f"{minus}id:{f.arxiv_id}"
    return f"{minus}cat:{f.code}"


def _bound_syntax(day: date | None, rel: RelativeDate | None) -> str:
    if rel is not None:
        return rel.code
    assert day is not None
    return day.isoformat()


def _filter_syntax(f: Filter) -> str:
    if isinstance(f, AnyOf):
        return "(" + " OR ".join(_option_syntax(o) for o in f.options) + ")"
    if isinstance(f, DateRange):
        parts = []
        if f.since is not None or f.since_relative is not None:
            parts.append("since:" + _bound_syntax(f.since, f.since_relative))
        if f.until is not None or f.until_relative is not None:
            parts.append("until:" + _bound_syntax(f.until, f.until_relative))
        return " ".join(parts)
    return _option_syntax(f)


def canonical(query: Query) -> str:
    """The query in normalised syntax: parsing it again (same ``today``) gives an equal Query.

    Useful as a stable key for a saved topic and for showing exactly what will be searched.
    """
    parts: list[str] = []
    if query.text_tree is not None:
        text = _syntax(query.text_tree)
        # A top-level OR next to filters reads as if the OR took the filter; parenthesise it.
        if isinstance(query.text_tree, Or) and query.filters:
            text = f"({text})"
        parts.append(text)
    parts.extend(p for p in (_filter_syntax(f) for f in query.filters) if p)
    default = "relevance" if query.text_tree is not None else "recent"
    if query.sort != default:
        parts.append(f"sort:{query.sort}")
    return " ".join(parts)


_UNIT_WORDS = {"d": "day", "w": "week", "m": "month", "y": "year"}


def _span(rel: RelativeDate) -> str:
    word = _UNIT_WORDS[rel.unit]
    return word if rel.amount == 1 else f"{rel.amount} {word}s"


def _ago(rel: RelativeDate) -> str:
    if rel.unit == "d" and rel.amount == 0:
        return "today"
    if rel.unit == "d" and rel.amount == 1:
        return "yesterday"
    return f"{rel.amount} {_UNIT_WORDS[rel.unit]}{'' if rel.amount == 1 else 's'} ago"


def _describe_dates(f: DateRange) -> str:
    if (
        f.since_relative is None
        and f.until_relative is None
        and f.since is not None
        and f.until is not None
        and (f.since.month, f.since.day, f.until.month, f.until.day) == (1, 1, 12, 31)
    ):
        years = f.since.year, f.until.year
        return f"in {years[0]}" if years[0] == years[1] else f"in {years[0]}–{years[1]}"
    parts = []
    if f.since_relative is not None:
        rel = f.since_relative
        if rel.amount <= 1 and rel.unit == "d":
            parts.append(f"since {_ago(rel)}")
        else:
            parts.append(f"in the last {_span(rel)}")
    elif f.since is not None:
        parts.append(f"since {f.since.isoformat()}")
    if f.until_relative is not None:
        parts.append(f"until {_ago(f.until_relative)}")
    elif f.until is not None:
        parts.append(f"until {f.until.isoformat()}")
    return ", ".join(parts)


def _describe_option(f: CategoryFilter | IdFilter) -> str:
    if isinstance(f, IdFilter):
        return f"{'not ' if f.exclude else ''}paper {f.arxiv_id}"
    code = f"{f.code}.*" if f.whole_archive else f.code
    return f"{'not ' if f.exclude else ''}in {code}"


def _describe_filter(f: Filter) -> str:
    if isinstance(f, DateRange):
        return _describe_dates(f)
    if isinstance(f, AnyOf):
        cats = [o for o in f.options if isinstance(o, CategoryFilter) and not o.exclude]
        if len(cats) == len(f.options):
            return "in " + " or ".join(f"{o.code}.*" if o.whole_archive else o.code for o in cats)
        return " or ".join(_describe_option(o) for o in f.options)
    return _describe_option(f)


def describe(query: Query) -> str:
    """A short human rendering, e.g. ``"long context" OR "million tokens" · in cs.CL · since
    2024-11-01``, for showing a saved topic back to a person."""
    parts: list[str] = []
    if query.text_tree is not None:
        parts.append(_syntax(query.text_tree))
    parts.extend(p for p in (_describe_filter(f) for f in query.filters) if p)
    if not parts:
        return "everything"
    if query.sort == "recent" and query.text_tree is not None:
        parts.append("newest first")
    elif query.sort == "relevance" and query.text_tree is None:
        parts.append("best match first")
    return " · ".join(parts)
