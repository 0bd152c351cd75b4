"""The topic percolator: which saved topics does each new paper match?

Testing every topic against every paper costs topics x papers (100,000 x 5,000 is half a billion
query evaluations a day). Like Lucene's Monitor and the Elasticsearch percolator,
:class:`TopicIndex` turns the problem around: each topic is indexed under a *cover* — a few keys at
least one of which any paper it matches must contain (:func:`bot.domain.query.candidate_terms`),
picked to be the most selective by the document frequencies of recent papers (:class:`KeyStats`).
A paper looks up its own keys (:func:`bot.domain.query.paper_keys`) and only the topics found that
way are checked.

Details that keep the check cheap:

* a query whose text is an OR (``"long context" OR "million tokens"``) is indexed branch by
  branch, each under its own cover: a paper then only reaches the branch it can satisfy;
* each branch knows the stems every match must contain (both words of a phrase, every part of
  an AND), tested as one set inclusion before anything else;
* queries are compiled once: words stemmed at build time, each paper's stems gathered per field
  once, phrases found through a position map — the same semantics as
  :func:`bot.domain.query.matches`, which stays the reference (the property test in
  tests/domain/test_matching.py holds them equal; dates are delegated to it outright);
* a query of filters only (``cat:cs.CL``) is indexed under its category; the rare query with no
  cover at all (only exclusions) is checked against every paper;
* topics with the same canonical query (many guilds following the ready-made ``cs-cl``) are
  evaluated once.

A batch (:meth:`TopicIndex.match_many`, a day's papers) goes the other way round: the papers'
features go into posting lists once, and each distinct query is evaluated once over them as set
operations in C (see "batch evaluation" below), so a matched (topic, paper) pair costs no Python
of its own; the per-paper path above serves a paper arriving on its own.

:func:`match_brute` is the obvious double loop over :func:`~bot.domain.query.matches`, for tests
and the benchmark.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any, Generic, NamedTuple, TypeVar

from bot.domain.papers import Paper
from bot.domain.query import (
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
    PreparedPaper,
    Query,
    Term,
    TextField,
    candidate_terms,
    canonical,
    matches,
    paper_keys,
    prepare,
    stem,
)

__all__ = ["IndexStats", "KeyStats", "TopicIndex", "match_brute", "owners_by_paper"]

K = TypeVar("K", bound=Hashable)

# Without statistics, a category cover is taken to be about as selective as a common word.
_DEFAULT_META_COST = 20_000


# --- statistics -----------------------------------------------------------------------------------


def _meta_keys(doc: PreparedPaper) -> set[str]:
    """Keys for filters and author names: ``cat:cs.cl`` per listing, ``arc:`` per dotted
    prefix, ``id:``, and per word of an author's name ``au:`` (the word) and ``au*:`` (its
    first letter)."""
    keys: set[str] = set()
    for seg in doc.author:
        for token in seg.tokens:
            keys.add(f"au:{token}")
            keys.add(f"au*:{token[0]}")
    for code in doc.categories:
        keys.add(f"cat:{code}")
        parts = code.split(".")
        for i in range(1, len(parts) + 1):
            keys.add("arc:" + ".".join(parts[:i]))
    if doc.arxiv_id:
        keys.add(f"id:{doc.arxiv_id}")
    return keys


@dataclass(slots=True)
class KeyStats:
    """Document frequencies of index keys over a sample of recent papers.

    :meth:`df` answers for words, stems and prefix markers (``transform*``: an upper bound, the
    sum over the words it covers); :meth:`meta_df` for category and id keys.
    """

    papers: int = 0
    text: Counter[str] = field(default_factory=Counter)
    meta: Counter[str] = field(default_factory=Counter)
    _sorted: list[str] = field(default_factory=list)
    _prefix: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_papers(cls, papers: Iterable[Paper | PreparedPaper]) -> KeyStats:
        stats = cls()
        for paper in papers:
            doc = paper if isinstance(paper, PreparedPaper) else prepare(paper)
            stats.papers += 1
            stats.text.update(paper_keys(doc))
            stats.meta.update(_meta_keys(doc))
        stats._sorted = sorted(stats.text)
        return stats

    def df(self, key: str) -> int:
        if not key.endswith("*"):
            return self.text.get(key, 0)
        found = self._prefix.get(key)
        if found is None:
            start = key[:-1]
            i = bisect_left(self._sorted, start)
            total = 0
            while i < len(self._sorted) and self._sorted[i].startswith(start):
                total += self.text[self._sorted[i]]
                i += 1
            found = self._prefix[key] = total
        return found

    def meta_df(self, key: str) -> int:
        if not self.papers:
            return _DEFAULT_META_COST
        return self.meta.get(key, 0)


def _fallback_cost(key: str) -> int:
    """The query module's no-statistics estimate, to weigh a word cover against a filter."""
    if key.endswith("*"):
        return 1_000_000 // max(1, len(key) - 1) ** 2
    if len(key) == 1:
        return 300_000
    return 100_000 // len(key)


# --- compiled evaluation --------------------------------------------------------------------------


@dataclass(slots=True)
class _View:
    """A prepared paper with the stems of each field gathered into one set, and (built on
    demand) where each stem occurs in each field value, for phrases."""

    doc: PreparedPaper
    every: frozenset[str]
    title: frozenset[str]
    abstract: frozenset[str]
    org: frozenset[str]
    keys: frozenset[str]
    author_stems: frozenset[str]
    author_tokens: frozenset[str]
    author_initials: frozenset[str]
    names: tuple[tuple[frozenset[str], frozenset[str]], ...]
    all_fields: tuple[tuple[tuple[Any, ...], frozenset[str]], ...] = ()
    name_index: dict[str, set[int]] | None = None
    _bigrams: frozenset[tuple[str, str]] | None = None
    positions: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    sorted_words: dict[TextField | None, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: PreparedPaper) -> _View:
        def stems(segments: tuple[Any, ...]) -> frozenset[str]:
            out: set[str] = set()
            for seg in segments:
                out.update(seg.stem_set)
            return frozenset(out)

        title = stems(doc.title)
        abstract = stems(doc.abstract)
        org = stems(doc.org)
        author_stems = stems(doc.author)
        every = title | abstract | org | author_stems
        tokens = frozenset(t for seg in doc.author for t in seg.tokens)
        names = tuple(
            (frozenset(seg.tokens), frozenset(t[0] for t in seg.tokens)) for seg in doc.author
        )
        return cls(
            doc,
            every,
            title,
            abstract,
            org,
            paper_keys(doc),
            author_stems,
            tokens,
            frozenset(t[0] for t in tokens),
            names,
            (
                (doc.title, title),
                (doc.abstract, abstract),
                (doc.author, author_stems),
                (doc.org, org),
            ),
        )

    def fields(
        self, field_: TextField | None
    ) -> tuple[tuple[tuple[Any, ...], frozenset[str]], ...]:
        """(field values, their stems) of each field a phrase in ``field_`` may lie in."""
        if field_ is None:
            return self.all_fields
        return ((self.doc.segments(field_), self.stems_of(field_)),)

    @property
    def bigrams(self) -> frozenset[tuple[str, str]]:
        """Every pair of adjacent stems within one field value."""
        found = self._bigrams
        if found is None:
            pairs: set[tuple[str, str]] = set()
            for segments, _ in self.all_fields:
                for seg in segments:
                    pairs.update(zip(seg.stems, seg.stems[1:], strict=False))
            found = self._bigrams = frozenset(pairs)
        return found

    def _name_index(self) -> dict[str, set[int]]:
        if self.name_index is None:
            index: dict[str, set[int]] = {}
            for n, (tokens, initials) in enumerate(self.names):
                for t in tokens:
                    index.setdefault(t, set()).add(n)
                for c in initials:
                    index.setdefault("*" + c, set()).add(n)
            self.name_index = index
        return self.name_index

    def names_meeting(self, word: str) -> set[int]:
        """Indexes of the authors whose name a query word meets (itself, its initial, or for
        an initial any word it starts)."""
        found = self._name_index()
        if len(word) == 1:
            return found.get("*" + word, set())
        return found.get(word, set()) | found.get(word[0], set())

    def names_having(self, word: str) -> set[int]:
        """Indexes of the authors whose name has ``word`` itself."""
        return self._name_index().get(word, set())

    def where(self, seg: Any) -> dict[str, list[int]]:
        found = self.positions.get(id(seg))
        if found is None:
            found = {}
            for i, s in enumerate(seg.stems):
                found.setdefault(s, []).append(i)
            self.positions[id(seg)] = found
        return found

    def has_prefix(self, field_: TextField | None, prefix: str) -> bool:
        """Whether a token or stem of the field's values starts with ``prefix``."""
        words = self.sorted_words.get(field_)
        if words is None:
            pool: set[str] = set()
            for seg in self.doc.segments(field_):
                pool.update(seg.tokens)
                pool.update(seg.stems)
            words = self.sorted_words[field_] = sorted(pool)
        i = bisect_left(words, prefix)
        return i < len(words) and words[i].startswith(prefix)

    def stems_of(self, field_: TextField | None) -> frozenset[str]:
        if field_ is None:
            return self.every
        if field_ == "title":
            return self.title
        if field_ == "abstract":
            return self.abstract
        if field_ == "org":
            return self.org
        raise ValueError("author names are not compared by stem")


_Check = Callable[[_View], bool]


def _in_name(word: str, name: tuple[frozenset[str], frozenset[str]]) -> bool:
    """Whether a query word meets one author's name (its words, their first letters)."""
    tokens, initials = name
    if len(word) == 1:
        return word in initials
    return word in tokens or word[0] in tokens


# Branches under one index key, sub-keyed by another required stem of theirs ("" for none).
_Bucket = dict[str, list[int]]


def _compile_term(node: Term) -> _Check:
    field_ = node.field
    text = node.text
    if field_ == "author":
        if node.prefix:
            return lambda v: any(t.startswith(text) for seg in v.doc.author for t in seg.tokens)
        if len(text) == 1:  # an initial: any name word starting with it
            return lambda v: text in v.author_initials
        # A full word alone: a word of a name (an initial there does not stand for it).
        return lambda v: text in v.author_tokens
    if node.prefix:
        return lambda v: v.has_prefix(field_, text)
    target = stem(text)
    if field_ is None:
        return lambda v: target in v.every
    return lambda v: target in v.stems_of(field_)


def _compile_phrase(node: Phrase) -> _Check:
    field_ = node.field
    words = node.words
    if field_ == "author":
        full = tuple(w for w in dict.fromkeys(words) if len(w) > 1)

        def check_names(v: _View) -> bool:
            # All the words somewhere among the names first (cheap), then within one name:
            # the names each word meets, intersected, and one of them has a full word itself.
            everyone = (v.author_tokens, v.author_initials)
            if not all(_in_name(w, everyone) for w in words):
                return False
            if full and not any(w in v.author_tokens for w in full):
                return False
            common: set[int] | None = None
            for w in words:
                meeting = v.names_meeting(w)
                common = set(meeting) if common is None else common & meeting
                if not common:
                    return False
            assert common is not None
            return not full or any(not common.isdisjoint(v.names_having(w)) for w in full)

        return check_names
    target = tuple(stem(w) for w in words)
    first = target[0]
    k = len(target)
    rest = target[1:]
    second = target[1]

    pairs = tuple(zip(target, rest, strict=False))

    def check(v: _View) -> bool:
        if field_ is None:
            # Adjacent stems of any one field value, as pairs: a two-word phrase is one lookup.
            bigrams = v.bigrams
            if not all(pair in bigrams for pair in pairs):
                return False
            if k == 2:
                return True
        for segments, pool in v.fields(field_):
            if not pool.issuperset(target):
                continue  # not all the words in this field: no value of it has the phrase
            for seg in segments:
                if seg.stem_set.issuperset(target):
                    stems = seg.stems
                    last = len(stems) - k
                    for i in v.where(seg)[first]:
                        # Most phrases are two words: compare one item before a slice.
                        if (
                            i <= last
                            and stems[i + 1] == second
                            and (k == 2 or stems[i + 1 : i + k] == rest)
                        ):
                            return True
        return False

    return check


def _compile(node: Node) -> _Check:
    if isinstance(node, Term):
        return _compile_term(node)
    if isinstance(node, Phrase):
        return _compile_phrase(node)
    if isinstance(node, Not):
        inner = _compile(node.child)
        return lambda v: not inner(v)
    # Plain words (any field, no prefix) of an AND or OR are tested together as one set
    # operation against the paper's stems; the other children one by one.
    simple = frozenset(
        stem(c.text)
        for c in node.children
        if isinstance(c, Term) and c.field is None and not c.prefix
    )
    parts = tuple(
        _compile(c)
        for c in node.children
        if not (isinstance(c, Term) and c.field is None and not c.prefix)
    )
    if isinstance(node, And):
        if not parts:
            return lambda v: simple <= v.every
        return lambda v: simple <= v.every and all(p(v) for p in parts)
    if not parts:
        return lambda v: not simple.isdisjoint(v.every)
    return lambda v: not simple.isdisjoint(v.every) or any(p(v) for p in parts)


def _compile_option(option: CategoryFilter | IdFilter) -> Callable[[PreparedPaper], bool]:
    exclude = option.exclude
    if isinstance(option, IdFilter):
        wanted = option.arxiv_id.lower()
        return lambda d: (d.arxiv_id is not None and d.arxiv_id == wanted) != exclude
    code = option.code.lower()
    dotted = code + "."
    if option.whole_archive:
        return lambda d: any(c == code or c.startswith(dotted) for c in d.categories) != exclude
    return lambda d: (code in d.categories) != exclude


def _compile_filter(f: Filter) -> Callable[[PreparedPaper, datetime | None], bool]:
    if isinstance(f, DateRange):
        alone = Query(None, (f,))
        return lambda d, now: matches(alone, d, now=now)
    if isinstance(f, AnyOf):
        options = tuple(_compile_option(o) for o in f.options)
        return lambda d, _now: any(o(d) for o in options)
    option = _compile_option(f)
    return lambda d, _now: option(d)


def _required(node: Node) -> frozenset[str]:
    """Stems every paper matching ``node`` contains (a necessary condition)."""
    if isinstance(node, Term):
        if node.prefix or node.field == "author":
            return frozenset()
        return frozenset({stem(node.text)})
    if isinstance(node, Phrase):
        if node.field == "author":
            return frozenset()
        return frozenset(stem(w) for w in node.words)
    if isinstance(node, Not):
        return frozenset()
    parts = [_required(child) for child in node.children]
    if isinstance(node, And):
        return frozenset().union(*parts)
    common = parts[0]
    for part in parts[1:]:
        common &= part
    return common


def _author_cover(node: Node, cost: Callable[[str], int]) -> frozenset[str] | None:
    """For an ``author:`` word or phrase: keys of the author index, one of which every paper
    it matches has (in a name, a word is met by itself or by its initial, an initial by any
    name word starting with it, and one of the full words is there itself; a full word alone
    is there itself). None for anything else."""
    if not isinstance(node, Term | Phrase) or node.field != "author":
        return None
    if isinstance(node, Term):
        if node.prefix:
            return None
        # An initial: a name word starting with it; a full word: that word.
        text = node.text
        return frozenset({f"au*:{text}" if len(text) == 1 else f"au:{text}"})

    def keys(word: str) -> frozenset[str]:
        if len(word) == 1:
            return frozenset({f"au*:{word}"})
        return frozenset({f"au:{word}", f"au:{word[0]}"})

    options = [keys(w) for w in node.words]
    full = frozenset(f"au:{w}" for w in node.words if len(w) > 1)
    if full:
        options.append(full)
    return min(options, key=lambda ks: (sum(cost(k) for k in ks), sorted(ks)))


def _plain(node: Node) -> bool:
    """A word in any field, or an AND of such words: true exactly when its stems are there."""
    if isinstance(node, And):
        return all(_plain(child) for child in node.children)
    return isinstance(node, Term) and node.field is None and not node.prefix


def _filter_covers(query: Query) -> list[frozenset[str]]:
    """Meta-key covers from the query's filters (all of which must hold, so any one will do)."""
    covers: list[frozenset[str]] = []
    for f in query.filters:
        options: tuple[CategoryFilter | IdFilter, ...]
        if isinstance(f, AnyOf):
            options = f.options
        elif isinstance(f, CategoryFilter | IdFilter):
            options = (f,)
        else:
            continue
        if any(o.exclude for o in options):
            continue
        keys: set[str] = set()
        for o in options:
            if isinstance(o, IdFilter):
                keys.add(f"id:{o.arxiv_id.lower()}")
            elif o.whole_archive:
                keys.add(f"arc:{o.code.lower()}")
            else:
                keys.add(f"cat:{o.code.lower()}")
        covers.append(frozenset(keys))
    return covers


# --- batch evaluation -----------------------------------------------------------------------------
#
# A batch (a day's papers) is matched the other way round: the papers' features go into posting
# lists (paper indexes per stem, per stem of a field, per phrase n-gram, per category or author
# key, per day), and each distinct query is evaluated once over them as set algebra — AND an
# intersection, OR a union, NOT a difference — in C, starting from its rarest posting list. A
# leaf with an exact posting list (a word, a field's word, a prefix, a phrase of up to
# _MAX_GRAM words, an author word or initial, an author's name — through lists of single names,
# so that "every word in one name" is an intersection too —, a category, an id, a date range)
# costs no Python per paper; the rest (a prefix in one field, a longer phrase) narrow by
# posting lists first, then run the compiled per-paper check above on what is left.

_Papers = AbstractSet[int]
_NONE: frozenset[int] = frozenset()
_MAX_GRAM = 4
_GramKey = tuple[TextField | None, int]


@dataclass(slots=True)
class _Wanted:
    """The features the index's queries look up: only these get posting lists."""

    stems: set[str] = field(default_factory=set)  # in any field
    fields: dict[TextField, set[str]] = field(default_factory=dict)  # title, abstract, org
    grams: dict[_GramKey, set[tuple[str, ...]]] = field(default_factory=dict)
    meta: set[str] = field(default_factory=set)  # _meta_keys keys
    prefixes: set[str] = field(default_factory=set)  # over every token and stem
    name_words: set[str] = field(default_factory=set)  # words of author names, per name
    name_initials: set[str] = field(default_factory=set)  # first letters of name words


class _Batch:
    """Posting lists of a batch of prepared papers (indexes into ``docs``)."""

    def __init__(self, docs: list[PreparedPaper], wanted: _Wanted, now: datetime | None) -> None:
        self.docs = docs
        self.now = now
        self.universe: frozenset[int] = frozenset(range(len(docs)))
        stems: defaultdict[str, set[int]] = defaultdict(set)
        fields: dict[TextField, defaultdict[str, set[int]]] = {
            f: defaultdict(set) for f in wanted.fields
        }
        grams: dict[_GramKey, defaultdict[tuple[str, ...], set[int]]] = {
            k: defaultdict(set) for k in wanted.grams
        }
        meta: defaultdict[str, set[int]] = defaultdict(set)
        days: defaultdict[Any, set[int]] = defaultdict(set)
        want_stems = wanted.stems
        want_fields = [(f, w, fields[f]) for f, w in wanted.fields.items()]
        want_grams = [(f, n, w, grams[(f, n)]) for (f, n), w in wanted.grams.items()]
        want_meta = wanted.meta
        keys_of: list[set[str]] | None = [] if wanted.prefixes else None
        for i, doc in enumerate(docs):
            segments = doc.title + doc.abstract + doc.author + doc.org
            for s in frozenset().union(*[seg.stem_set for seg in segments]) & want_stems:
                stems[s].add(i)
            for f, want, table in want_fields:
                values = doc.segments(f)
                pool = (
                    values[0].stem_set
                    if len(values) == 1
                    else frozenset().union(*[seg.stem_set for seg in values])
                )
                for s in pool & want:
                    table[s].add(i)
            for gf, n, want_n, table_n in want_grams:
                found: set[tuple[str, ...]] = set()
                for seg in segments if gf is None else doc.segments(gf):
                    seq = seg.stems
                    if len(seq) >= n:
                        found.update(zip(*[seq[j:] for j in range(n)], strict=False))
                for gram in found & want_n:
                    table_n[gram].add(i)
            for key in _meta_keys(doc) & want_meta:
                meta[key].add(i)
            days[doc.day].add(i)
            if keys_of is not None:
                keys: set[str] = set()
                for seg in segments:
                    keys.update(seg.tokens)
                    keys.update(seg.stems)
                keys_of.append(keys)
        # Author names one by one (for "every word in one name"): name ids per word and per
        # first letter, and the paper of each name.
        self.name_owner: list[int] = []
        self.names: defaultdict[str, set[int]] = defaultdict(set)
        if wanted.name_words or wanted.name_initials:
            owner = self.name_owner
            names = self.names
            want_words = wanted.name_words
            want_initials = wanted.name_initials
            for i, doc in enumerate(docs):
                for seg in doc.author:
                    n = len(owner)
                    owner.append(i)
                    for t in want_words.intersection(seg.tokens):
                        names[t].add(n)
                    for c in want_initials.intersection([t[0] for t in seg.tokens]):
                        names["*" + c].add(n)
        self.stems = stems
        self.fields = fields
        self.grams = grams
        self.meta = meta
        self.days = days
        self._dates: dict[DateRange, _Papers] = {}
        self._prefix: dict[str, _Papers] = {}
        self._views: dict[int, _View] = {}
        # Prefixes: the batch's words that some prefix of the index reaches get posting lists.
        self._words: list[str] = []
        self._by_word: defaultdict[str, set[int]] = defaultdict(set)
        if keys_of is not None:
            words = sorted(frozenset().union(*keys_of))
            reached: set[str] = set()
            for prefix in wanted.prefixes:
                j = bisect_left(words, prefix)
                while j < len(words) and words[j].startswith(prefix):
                    reached.add(words[j])
                    j += 1
            self._words = sorted(reached)
            by_word = self._by_word
            for i, keys in enumerate(keys_of):
                for key in keys & reached:
                    by_word[key].add(i)

    def prefix(self, prefix: str) -> _Papers:
        """The papers with a token or stem (of any field) starting with ``prefix``."""
        found = self._prefix.get(prefix)
        if found is None:
            out: set[int] = set()
            words = self._words
            j = bisect_left(words, prefix)
            while j < len(words) and words[j].startswith(prefix):
                out |= self._by_word[words[j]]
                j += 1
            found = self._prefix[prefix] = out
        return found

    def dates(self, f: DateRange) -> _Papers:
        """The papers a date range keeps: decided once per distinct day of the batch, by the
        reference (:func:`~bot.domain.query.matches`) on one paper of that day."""
        found = self._dates.get(f)
        if found is None:
            alone = Query(None, (f,))
            out: set[int] = set()
            for ids in self.days.values():
                if matches(alone, self.docs[next(iter(ids))], now=self.now):
                    out |= ids
            found = self._dates[f] = out
        return found

    def named(self, full: tuple[str, ...], meets: tuple[tuple[str, ...], ...]) -> _Papers | None:
        """The papers with one author named by words (``full``: the full ones; ``meets``: per
        word, the name keys it meets a name under): over single names, those having one of
        the full words, kept when every word meets them; initials only: those all meet."""
        names = self.names
        common: _Papers | None = None
        for word in full:
            ids = names.get(word)
            if ids:
                common = ids if common is None else common | ids
        if full and not common:
            return None
        for keys in meets:
            if common is None:  # initials only: the first one's names
                common = names.get(keys[0])
                if not common:
                    return None
                continue
            met: _Papers | None = None
            for key in keys:
                ids = names.get(key)
                if ids:
                    part = common & ids
                    met = part if met is None else met | part
            if not met:
                return None
            common = met
        owner = self.name_owner
        return {owner[n] for n in common} if common else None

    def view(self, i: int) -> _View:
        found = self._views.get(i)
        if found is None:
            found = self._views[i] = _View.of(self.docs[i])
        return found


def _restrict(found: _Papers | None, within: _Papers | None) -> _Papers:
    if not found:
        return _NONE
    if within is None:
        return found
    return within & found


# Compiled queries are plain nested tuples (which the garbage collector stops tracking), not
# closures: an index of 100,000 topics would otherwise hold millions of cells and functions
# that every full collection of the process walks.
#
# A posting list ("getter"), exact: ("S", stem) in any field; ("F", field, stem);
# ("G", (field, n), n-gram); ("P", prefix); ("M", meta key); ("N", full words, keys each word
# meets a name under); ("D", date range).
# A node: ("L", getter); ("R", check, getters narrowing first) for a leaf checked paper by
# paper; ("AND", getters, other parts); ("OR", parts); ("NOT", part).
_Plan = tuple[Any, ...]


def _get(b: _Batch, g: _Plan) -> _Papers | None:
    kind = g[0]
    if kind == "S":
        return b.stems.get(g[1])
    if kind == "G":
        return b.grams[g[1]].get(g[2])
    if kind == "M":
        return b.meta.get(g[1])
    if kind == "F":
        return b.fields[g[1]].get(g[2])
    if kind == "P":
        return b.prefix(g[1])
    if kind == "N":
        return b.named(g[1], g[2])
    return b.dates(g[1])


def _run(b: _Batch, node: _Plan, within: _Papers | None) -> _Papers:
    """The papers of ``within`` (None: the whole batch) that ``node`` matches."""
    kind = node[0]
    if kind == "L":
        return _restrict(_get(b, node[1]), within)
    if kind == "AND":
        found = within
        getters = node[1]
        if getters:
            if len(getters) == 1:
                found = _restrict(_get(b, getters[0]), found)
                if not found:
                    return _NONE
            else:
                sets: list[_Papers] = []
                for g in getters:
                    posting = _get(b, g)
                    if not posting:
                        return _NONE
                    sets.append(posting)
                sets.sort(key=len)  # smallest first: each intersection costs the smaller side
                for posting in sets:
                    found = posting if found is None else found & posting
                    if not found:
                        return _NONE
        for part in node[2]:
            found = _run(b, part, found)
            if not found:
                return _NONE
        return b.universe if found is None else found
    if kind == "OR":
        out: _Papers | None = None
        for part in node[1]:
            found = _run(b, part, within)
            if found:
                out = found if out is None else out | found
        return _NONE if out is None else out
    if kind == "NOT":
        base = b.universe if within is None else within
        return base - _run(b, node[1], base) if base else _NONE
    # "R": narrowed by necessary posting lists, then checked paper by paper.
    found = within
    for g in node[2]:
        found = _restrict(_get(b, g), found)
        if not found:
            return _NONE
    check = node[1]
    view = b.view
    return {i for i in (b.universe if found is None else found) if check(view(i))}


def _name_plan(words: Iterable[str], wanted: _Wanted) -> _Plan:
    """Papers with one author named by ``words`` (see ``_names`` in the query module)."""
    distinct = tuple(dict.fromkeys(words))
    meets: list[tuple[str, ...]] = []
    for word in distinct:
        if len(word) == 1:
            wanted.name_initials.add(word)
            meets.append(("*" + word,))
        else:
            wanted.name_words.update((word, word[0]))
            meets.append((word, word[0]))
    return ("N", tuple(w for w in distinct if len(w) > 1), tuple(meets))


def _stem_plan(target: str, field_: TextField | None, wanted: _Wanted) -> _Plan:
    if field_ is None:
        wanted.stems.add(target)
        return ("S", target)
    if field_ == "author":
        raise ValueError("author names are not compared by stem")
    wanted.fields.setdefault(field_, set()).add(target)
    return ("F", field_, target)


def _gram_plan(target: tuple[str, ...], field_: TextField | None, wanted: _Wanted) -> _Plan:
    key = (field_, len(target))
    wanted.grams.setdefault(key, set()).add(target)
    return ("G", key, target)


def _meta_plan(key: str, wanted: _Wanted) -> _Plan:
    wanted.meta.add(key)
    return ("M", key)


def _getter(node: Term | Phrase, wanted: _Wanted) -> _Plan | None:
    """A posting list holding exactly the papers ``node`` matches, or None when there is none
    (the node is then checked paper by paper)."""
    if isinstance(node, Term):
        if node.field == "author":
            if node.prefix:
                return None
            # An initial: a name word starting with it; a full word: that word.
            key = f"au*:{node.text}" if len(node.text) == 1 else f"au:{node.text}"
            return _meta_plan(key, wanted)
        if node.prefix:
            if node.field is not None:
                return None
            wanted.prefixes.add(node.text)
            return ("P", node.text)
        return _stem_plan(stem(node.text), node.field, wanted)
    if node.field == "author":
        return _name_plan(node.words, wanted)
    target = tuple(stem(w) for w in node.words)
    if len(target) == 1:
        return _stem_plan(target[0], node.field, wanted)
    if len(target) > _MAX_GRAM:
        return None
    return _gram_plan(target, node.field, wanted)


def _residual(node: Term | Phrase, wanted: _Wanted) -> _Plan:
    """A leaf without an exact posting list: narrowed by necessary ones, then checked."""
    narrow: list[_Plan] = []
    if isinstance(node, Term):  # a prefix in one field: some word of any field has it
        wanted.prefixes.add(node.text)
        narrow.append(("P", node.text))
    else:  # a long phrase: each pair of neighbours is there
        target = tuple(stem(w) for w in node.words)
        for pair in dict.fromkeys(pairwise(target)):
            narrow.append(_gram_plan(pair, node.field, wanted))
    return ("R", _compile(node), tuple(narrow))


def _positive(node: Node) -> bool:
    """Whether ``node`` can drive its own evaluation (it is not only exclusions)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(c) for c in node.children)
    return True


def _plan(node: Node, wanted: _Wanted) -> _Plan:
    if isinstance(node, Term | Phrase):
        leaf = _getter(node, wanted)
        return _residual(node, wanted) if leaf is None else ("L", leaf)
    if isinstance(node, Not):
        return ("NOT", _plan(node.child, wanted))
    if isinstance(node, Or):
        return ("OR", tuple(_plan(c, wanted) for c in node.children))
    # And: exact leaves as posting lists, smallest first; then groups, then checked leaves,
    # then exclusions, each on what is left.
    getters: list[_Plan] = []
    groups: list[_Plan] = []
    checked: list[_Plan] = []
    exclusions: list[_Plan] = []
    for child in node.children:
        if isinstance(child, Term | Phrase):
            leaf = _getter(child, wanted)
            if leaf is not None:
                getters.append(leaf)
            else:
                checked.append(_residual(child, wanted))
        elif isinstance(child, Not):
            exclusions.append(_plan(child, wanted))
        else:
            groups.append(_plan(child, wanted))
    return ("AND", tuple(getters), tuple(groups + checked + exclusions))


def _option_plan(option: CategoryFilter | IdFilter, wanted: _Wanted) -> _Plan:
    if isinstance(option, IdFilter):
        key = f"id:{option.arxiv_id.lower()}"
    else:
        key = f"{'arc' if option.whole_archive else 'cat'}:{option.code.lower()}"
    leaf = ("L", _meta_plan(key, wanted))
    return ("NOT", leaf) if option.exclude else leaf


def _filter_plan(f: Filter, wanted: _Wanted) -> _Plan:
    if isinstance(f, DateRange):
        return ("L", ("D", f))
    if isinstance(f, AnyOf):
        return ("OR", tuple(_option_plan(o, wanted) for o in f.options))
    return _option_plan(f, wanted)


def _filter_order(f: Filter) -> int:
    """Narrow first: a category or id, then any-of, then dates, then exclusions."""
    if isinstance(f, CategoryFilter | IdFilter):
        return 2 if f.exclude else 0
    return 1


def _query_plan(query: Query, wanted: _Wanted) -> _Plan:
    """(text first?, text plan or None, filter plans): the whole query over a batch."""
    tree = query.text_tree
    text = _plan(tree, wanted) if tree is not None else None
    filters = tuple(_filter_plan(f, wanted) for f in sorted(query.filters, key=_filter_order))
    return (tree is not None and _positive(tree), text, filters)


def _run_query(b: _Batch, plan: _Plan) -> _Papers:
    text_first, text, filters = plan
    found: _Papers | None = None
    if text_first:
        found = _run(b, text, None)
        if not found:
            return _NONE
    for f in filters:
        found = _run(b, f, found)
        if not found:
            return _NONE
    if text is not None and not text_first:
        found = _run(b, text, found)
    return b.universe if found is None else found


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while an index is built or a batch matched.

    Both allocate hundreds of thousands of containers (compiled queries; prepared papers and
    posting lists) that hold no reference cycles: the batch's are freed by reference counting
    when it ends, the index's live as long as it does. Collections in between would only walk
    them (and, when a full one falls due, everything else the process holds) to free nothing:
    0.5-1 s of a 3 s match and 2 s of an index build of 100,000 topics, measured.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# --- the index ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry(Generic[K]):
    """One distinct query and everyone who saved it."""

    owners: list[K]
    filters: tuple[Callable[[PreparedPaper, datetime | None], bool], ...]
    plan: tuple[Any, ...]  # the whole query over a batch (match_many, see _query_plan)

    def filters_hold(self, doc: PreparedPaper, now: datetime | None) -> bool:
        return all(f(doc, now) for f in self.filters)


class _Branch(NamedTuple):
    """What the index points at: a query, or one alternative of its top-level OR."""

    entry: int
    required: frozenset[str]
    check: _Check | None  # None: no text condition
    exact: bool  # the required stems decide it alone (plain words joined by AND)


@dataclass(frozen=True, slots=True)
class IndexStats:
    topics: int  # as given
    distinct_queries: int
    branches: int
    by_term: int  # branches indexed under word keys
    by_prefix: int  # under a prefix marker
    by_filter: int  # under a category or id
    by_author: int  # under a name word of an author: phrase or word
    scanned: int  # no cover: checked against every paper


class TopicIndex(Generic[K]):
    """Topics indexed for percolation. ``entries`` are (owner, query) pairs; the owner is
    anything hashable (a topic id, a subscription). Built once, then read-only."""

    def __init__(self, entries: Iterable[tuple[K, Query]], *, stats: KeyStats | None = None):
        self._entries: list[_Entry[K]] = []
        self._branches: list[_Branch] = []
        # key -> (second required stem or "") -> branches: see _Bucket.
        self._terms: dict[str, _Bucket] = {}
        self._prefixes: dict[str, _Bucket] = {}
        self._prefix_lengths: list[int] = []
        self._meta: dict[str, _Bucket] = {}
        self._scan: list[int] = []
        self._df: Callable[[str], int] | None = stats.df if stats is not None else None
        self._meta_df: Callable[[str], int] = (
            stats.meta_df if stats is not None else (lambda _key: _DEFAULT_META_COST)
        )
        self._counts = {"term": 0, "prefix": 0, "filter": 0, "author": 0}
        self._wanted = _Wanted()
        topics = 0
        by_canonical: dict[str, int] = {}
        with _collector_paused():
            for owner, query in entries:
                topics += 1
                key = canonical(query)
                known = by_canonical.get(key)
                if known is not None:
                    self._entries[known].owners.append(owner)
                    continue
                by_canonical[key] = len(self._entries)
                self._add(owner, query)
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        self._term_keys = frozenset(self._terms)
        self._required_stems = frozenset(
            stem_ for branch in self._branches for stem_ in branch.required
        ) | frozenset(second for bucket in self._buckets() for second in bucket if second)
        self._stats = IndexStats(
            topics=topics,
            distinct_queries=len(self._entries),
            branches=len(self._branches),
            by_term=self._counts["term"],
            by_prefix=self._counts["prefix"],
            by_filter=self._counts["filter"],
            by_author=self._counts["author"],
            scanned=len(self._scan),
        )

    # -- building ----------------------------------------------------------------------------------

    def _cost(self, keys: frozenset[str]) -> int:
        cost_fn = self._df or _fallback_cost
        return sum(cost_fn(k) for k in sorted(keys))

    def _add(self, owner: K, query: Query) -> None:
        index = len(self._entries)
        self._entries.append(
            _Entry(
                [owner],
                tuple(_compile_filter(f) for f in query.filters),
                _query_plan(query, self._wanted),
            )
        )
        tree = query.text_tree
        cover = candidate_terms(query, self._df)
        text_cost = self._cost(cover) if cover is not None else None
        best_meta: tuple[int, frozenset[str]] | None = None
        for keys in _filter_covers(query):
            cost = sum(self._meta_df(k) for k in sorted(keys))
            if best_meta is None or cost < best_meta[0]:
                best_meta = (cost, keys)
        if best_meta is not None and (text_cost is None or best_meta[0] < text_cost):
            branch = self._branch(index, tree)
            for k in best_meta[1]:
                self._file(self._meta, k, branch, "")
            self._counts["filter"] += 1
            return
        if tree is None or cover is None:
            self._scan.append(self._branch(index, tree))
            return
        # Or-children are all positive (a parser guarantee), so each has a cover of its own.
        alternatives = tree.children if isinstance(tree, Or) else (tree,)
        for node in alternatives:
            branch = self._branch(index, node)
            names = _author_cover(node, self._meta_df)
            if names is not None:
                for k in names:
                    self._file(self._meta, k, branch, "")
                self._counts["author"] += 1
                continue
            keys = candidate_terms(Query(node), self._df) or cover
            kind = "term"
            for k in keys:
                if k.endswith("*"):
                    self._file(self._prefixes, k[:-1], branch, k)
                    kind = "prefix"
                else:
                    self._file(self._terms, k, branch, k)
            self._counts[kind] += 1

    def _file(self, where: dict[str, _Bucket], key: str, branch: int, own: str) -> None:
        """File ``branch`` under ``key``, and under the rarest of its other required stems."""
        required = self._branches[branch].required
        others = [r for r in required if r != own and r != stem(own)]
        second = min(others, key=lambda r: ((self._df or _fallback_cost)(r), r)) if others else ""
        where.setdefault(key, {}).setdefault(second, []).append(branch)

    def _branch(self, entry: int, node: Node | None) -> int:
        self._branches.append(
            _Branch(
                entry=entry,
                required=_required(node) if node is not None else frozenset(),
                check=_compile(node) if node is not None else None,
                exact=node is not None and _plain(node),
            )
        )
        return len(self._branches) - 1

    def _buckets(self) -> Iterable[_Bucket]:
        yield from self._terms.values()
        yield from self._prefixes.values()
        yield from self._meta.values()

    # -- matching ----------------------------------------------------------------------------------

    @property
    def stats(self) -> IndexStats:
        return self._stats

    def __len__(self) -> int:
        return self._stats.topics

    def _candidates(self, view: _View) -> set[int]:
        found: set[int] = set(self._scan)
        every = view.every

        def take(bucket: _Bucket) -> None:
            # The second-level keys the paper has, found by a set intersection (in C), so a
            # branch whose second word is missing costs nothing here.
            alone = bucket.get("")
            if alone is not None:
                found.update(alone)
            if len(bucket) > 1 or alone is None:
                for second in bucket.keys() & every:
                    found.update(bucket[second])

        terms = self._terms
        for key in view.keys:
            bucket = terms.get(key)
            if bucket is not None:
                take(bucket)
        if self._prefixes:
            prefixes = self._prefixes
            lengths = self._prefix_lengths
            for key in view.keys:
                for n in lengths:
                    if n > len(key):
                        break
                    bucket = prefixes.get(key[:n])
                    if bucket is not None:
                        take(bucket)
        if self._meta:
            for key in _meta_keys(view.doc):
                bucket = self._meta.get(key)
                if bucket is not None:
                    take(bucket)
        return found

    def candidates(self, paper: Paper | PreparedPaper) -> int:
        """How many branches ``paper`` reaches through the index (before they are checked)."""
        doc = paper if isinstance(paper, PreparedPaper) else prepare(paper)
        return len(self._candidates(_View.of(doc)))

    def matched_entries(self, paper: Paper | PreparedPaper, *, now: datetime | None) -> list[int]:
        """Indexes of the distinct queries ``paper`` matches, ascending."""
        doc = paper if isinstance(paper, PreparedPaper) else prepare(paper)
        view = _View.of(doc)
        every = view.every
        branches = self._branches
        entries = self._entries
        done: set[int] = set()
        for b in self._candidates(view):
            e, required, check, exact = branches[b]
            if e in done or (required and not required <= every):
                continue
            if not exact and check is not None and not check(view):
                continue
            filters = entries[e].filters
            if filters and not all(f(doc, now) for f in filters):
                continue
            done.add(e)
        return sorted(done)

    def match(self, paper: Paper | PreparedPaper, *, now: datetime | None = None) -> list[K]:
        """Every owner whose query ``paper`` matches, in the order the topics were given
        (``now`` is when relative dates such as ``since:7d`` count back from)."""
        owners: list[K] = []
        for e in self.matched_entries(paper, now=now):
            owners.extend(self._entries[e].owners)
        return owners

    def match_many(
        self, papers: Iterable[Paper], *, now: datetime | None = None
    ) -> dict[K, list[Paper]]:
        """Owner -> the papers it matches, in the order given; owners matching none are absent.

        A batch is matched the other way round (see "batch evaluation" above): the papers'
        features go into posting lists once, and each distinct query is evaluated once over
        them as set operations, in C. Owners of one query share one list: do not mutate it.
        """
        batch = list(papers)
        with _collector_paused():
            return self._match_batch(batch, now)

    def _match_batch(self, batch: list[Paper], now: datetime | None) -> dict[K, list[Paper]]:
        b = _Batch([prepare(p) for p in batch], self._wanted, now)
        entries = self._entries
        out: dict[K, list[Paper]] = {}
        pick = batch.__getitem__
        order: dict[int, int] | None = None
        for entry in entries:
            found = _run_query(b, entry.plan)
            if not found:
                continue
            shared = list(map(pick, sorted(found)))
            for owner in entry.owners:
                known = out.get(owner)
                if known is None:
                    out[owner] = shared
                else:  # one owner, several queries: each paper once, in order
                    if order is None:
                        order = {id(p): n for n, p in enumerate(batch)}
                    at = order
                    seen = {id(p) for p in known}
                    merged = known + [p for p in shared if id(p) not in seen]
                    out[owner] = sorted(merged, key=lambda p: at[id(p)])
        return out


def match_brute(
    entries: Iterable[tuple[K, Query]],
    papers: Iterable[Paper],
    *,
    now: datetime | None = None,
) -> dict[K, list[Paper]]:
    """Owner -> matching papers by testing every query against every paper (the reference).
    An owner matching through several queries gets each paper once, in the order given."""
    batch = list(papers)
    docs = [prepare(paper) for paper in batch]
    found: dict[K, set[int]] = {}
    for owner, query in entries:
        hits = {i for i, doc in enumerate(docs) if matches(query, doc, now=now)}
        if hits:
            found.setdefault(owner, set()).update(hits)
    return {owner: [batch[i] for i in sorted(hits)] for owner, hits in found.items()}


def owners_by_paper(result: Mapping[K, list[Paper]]) -> dict[str, set[K]]:
    """Paper key -> owners, from a :meth:`TopicIndex.match_many` or :func:`match_brute` result."""
    out: dict[str, set[K]] = {}
    for owner, papers in result.items():
        for paper in papers:
            out.setdefault(paper.key, set()).add(owner)
    return out
