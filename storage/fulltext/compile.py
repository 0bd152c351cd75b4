"""A parsed :class:`~bot.domain.query.Query` as a tantivy query, built programmatically.

Nothing a person types reaches tantivy's query parser: every word goes through the index's own
analyzer (folding, stemming) and becomes a term, phrase or prefix query object. The rules are the
database backend's (docs/search.md, "From a query to SQL"), so both answer the same papers:

* a word searches title (boost 10), authors (5) and abstract (1), BM25 in each; ``title:``,
  ``abstract:`` and ``author:`` restrict it to one field. Stop-words outside phrases are dropped
  (``the`` alone is no condition), as in the database;
* ``"a phrase"``: consecutive stems in one field (stop-words kept, they are indexed);
* ``prefix*``: the stem of the prefix against the field's terms (FTS5 stems prefixes too);
  ``author:g`` (an initial) is a prefix of a name word;
* ``author:"geoffrey hinton"``: one author with all the words, one of them the surname: the
  database's surname index answers it (an id set, like its ``RAuthor`` residual), and the set
  becomes a term-set query on ``pid``;
* ``org:``: the database's substring rule (the folded word's common start with its stem),
  as a regular expression over the raw affiliations;
* ``-x``: a MUST_NOT clause; exclusions with no positive side get an all-documents base;
* ``cat:``, ``id:``, dates: term, term and range (fast field) clauses that do not score.

A tree whose text is only stop-words is no text condition (None): the database lists those.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os.path import commonprefix

import tantivy

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
    Query,
    Term,
    is_stopword,
    stem,
)
from storage.fulltext.index import SCHEMA, analyze, day_bounds

__all__ = ["WEIGHTS", "Compiled", "QueryCompiler"]

WEIGHTS = {"title": 10.0, "author": 5.0, "abstract": 1.0}
"""Field boosts of an unfielded word: storage.search.SQLITE_WEIGHTS, title and authors over
abstract."""
PREFIX_EXPANSION = 64
"""A prefix matching at most this many words in each field is searched as those words (BM25,
so rarer and repeated words rank higher). A broader one (``pro*``: thousands of words) is a
regular expression over each field's terms that does not score: it filters, and a query with
nothing else to rank by lists its matches newest first (as the database ranks only the newest
matches of a broad query)."""

Occur = tantivy.Occur
TQuery = tantivy.Query
AuthorIds = Callable[[tuple[str, ...]], Sequence[int]]
PrefixTerms = Callable[[str, str, int], list[str]]


@dataclass(frozen=True, slots=True)
class Part:
    """A compiled node: ``query`` matches the node's papers (or, ``negative``, the papers it
    excludes); ``scored`` when it ranks by text. ``terms``: when the query is a plain OR of
    (boosted) term queries, those queries, so that an OR of such parts can be one flat OR, which
    tantivy answers with block-max WAND (a nested OR is scored document by document)."""

    query: tantivy.Query
    scored: bool
    negative: bool = False
    terms: tuple[tantivy.Query, ...] | None = None


def _terms_part(terms: Sequence[TQuery], scored: bool = True) -> Part:
    return Part(_any(terms), scored, terms=tuple(terms))


@dataclass(frozen=True, slots=True)
class Compiled:
    query: tantivy.Query
    scored: bool  # False: nothing to rank by (order by date)


def _boost(q: TQuery, boost: float) -> TQuery:
    return q if boost == 1.0 else TQuery.boost_query(q, boost)


def _unscored(q: TQuery) -> TQuery:
    return TQuery.const_score_query(q, 0.0)


def _any(queries: Sequence[TQuery]) -> TQuery:
    if not queries:
        return TQuery.empty_query()
    if len(queries) == 1:
        return queries[0]
    return TQuery.boolean_query([(Occur.Should, q) for q in queries])


def _positive(part: Part) -> TQuery:
    """A query for the papers ``part`` stands for, negative or not."""
    if not part.negative:
        return part.query
    return TQuery.boolean_query([(Occur.Must, TQuery.all_query()), (Occur.MustNot, part.query)])


def _regex_literal(text: str) -> str:
    return "".join(c if c.isalnum() else "\\" + c for c in text)


class QueryCompiler:
    """Compiles queries against one index. ``author_ids`` answers author phrases (paper ids, from
    the database); ``prefix_terms(field, prefix, limit)`` lists the field's terms starting with
    ``prefix`` (up to ``limit``, from the index's term dictionary)."""

    def __init__(self, author_ids: AuthorIds, prefix_terms: PrefixTerms) -> None:
        self._author_ids = author_ids
        self._prefix_terms = prefix_terms

    # -- the whole query ---------------------------------------------------------------------------

    def compile(self, query: Query) -> Compiled | None:
        """The tantivy query for ``query``; None when it has no condition at all (stop-words
        alone: the database lists the newest papers)."""
        part = None if query.text_tree is None else self.node(query.text_tree)
        clauses: list[tuple[tantivy.Occur, TQuery]] = [
            c for c in (self.filter(f) for f in query.filters) if c is not None
        ]
        if part is None:
            if not clauses:
                return None
            if not any(occur == Occur.Must for occur, _ in clauses):
                clauses.append((Occur.Must, TQuery.all_query()))
            return Compiled(TQuery.boolean_query(clauses), scored=False)
        if not clauses and not part.negative:
            return Compiled(part.query, part.scored)
        clauses.insert(0, (Occur.MustNot if part.negative else Occur.Must, part.query))
        if not any(occur == Occur.Must for occur, _ in clauses):
            clauses.append((Occur.Must, TQuery.all_query()))
        return Compiled(TQuery.boolean_query(clauses), part.scored and not part.negative)

    # -- text --------------------------------------------------------------------------------------

    def node(self, node: Node) -> Part | None:
        """The compiled node; None when it is no condition (stop-words)."""
        if isinstance(node, Term):
            return self.term(node)
        if isinstance(node, Phrase):
            return self.phrase(node)
        if isinstance(node, Not):
            inner = self.node(node.child)
            if inner is None:
                return None  # excluding a stop-word would exclude nearly everything: ignored
            return Part(inner.query, scored=False, negative=not inner.negative)
        parts = [self.node(child) for child in node.children]
        if isinstance(node, Or):
            if any(p is None for p in parts):
                return None  # a side with no condition makes the OR true
            present = [p for p in parts if p is not None]
            scored = any(p.scored for p in present)
            if all(p.terms is not None and not p.negative for p in present):
                return _terms_part([t for p in present for t in p.terms or ()], scored)
            return Part(_any([_positive(p) for p in present]), scored)
        assert isinstance(node, And)
        present = [p for p in parts if p is not None]
        if not present:
            return None
        positive = [p for p in present if not p.negative]
        negative = [p for p in present if p.negative]
        if not positive:
            # Only exclusions: not (a or b or ...).
            return Part(_any([p.query for p in negative]), scored=False, negative=True)
        if len(positive) == 1 and not negative:
            return positive[0]
        clauses = [(Occur.Must, p.query) for p in positive]
        clauses += [(Occur.MustNot, p.query) for p in negative]
        return Part(TQuery.boolean_query(clauses), any(p.scored for p in positive))

    @staticmethod
    def _fields(field: str | None) -> list[tuple[str, float]]:
        if field is None:
            return list(WEIGHTS.items())
        return [(field, 1.0)]

    def term(self, node: Term) -> Part | None:
        if node.field == "org":
            return Part(self.org((node.text,), prefix=node.prefix), scored=False)
        if node.field == "author" and (node.prefix or len(node.text) == 1):
            # An initial alone: any name word starting with it.
            return self.prefix(node.text, "author")
        if node.prefix:
            return self.prefix(node.text, node.field)
        if node.field != "author" and is_stopword(node.text):
            return None
        return self.words((node.text,), node.field)

    def phrase(self, node: Phrase) -> Part | None:
        if node.field == "org":
            return Part(self.org(node.words, prefix=False), scored=False)
        if node.field == "author":
            return Part(self.author(node.words), scored=False)
        if all(is_stopword(w) for w in node.words):
            return None
        return self.words(node.words, node.field)

    def words(self, words: Sequence[str], field: str | None) -> Part:
        """Consecutive words (one word: a term) in ``field`` or, unfielded, in any text field."""
        queries: list[TQuery] = []
        flat = True
        for name, boost in self._fields(field):
            tokens = [t for w in words for t in analyze(name, w)]
            if not tokens:
                continue
            if len(tokens) == 1:
                q = TQuery.term_query(SCHEMA, name, tokens[0])
            else:
                q = TQuery.phrase_query(SCHEMA, name, list(tokens))
                flat = False
            queries.append(_boost(q, boost))
        if flat:
            return _terms_part(queries)
        return Part(_any(queries), scored=True)

    def prefix(self, word: str, field: str | None) -> Part:
        """The words of each field starting with the (stemmed) prefix, as terms when they are
        few (PREFIX_EXPANSION), else as an unscored regular expression over the fields."""
        starts: list[tuple[str, str, float]] = []
        queries: list[TQuery] = []
        broad = False
        for name, boost in self._fields(field):
            tokens = analyze(name, word)
            if not tokens:
                continue
            starts.append((name, tokens[0], boost))
            terms = self._prefix_terms(name, tokens[0], PREFIX_EXPANSION + 1)
            if len(terms) > PREFIX_EXPANSION:
                broad = True
            queries.extend(_boost(TQuery.term_query(SCHEMA, name, t), boost) for t in terms)
        if broad:
            regexes = [
                TQuery.regex_query(SCHEMA, name, _regex_literal(start) + ".*")
                for name, start, _ in starts
            ]
            return Part(_unscored(_any(regexes)), scored=False)
        return _terms_part(queries)

    def author(self, words: tuple[str, ...]) -> TQuery:
        ids = sorted(set(self._author_ids(words)))
        if not ids:
            return TQuery.empty_query()
        return _unscored(TQuery.term_set_query(SCHEMA, "pid", ids))

    @staticmethod
    def org(words: Sequence[str], *, prefix: bool) -> TQuery:
        # storage.search._org_pattern: the common start of a word and its stem (universit for
        # universities), in order, anywhere in the lower-cased affiliations.
        cores = [w if prefix else commonprefix([w, stem(w)]) or w for w in words]
        pattern = ".*" + ".*".join(_regex_literal(c) for c in cores) + ".*"
        return _unscored(TQuery.regex_query(SCHEMA, "org", pattern))

    # -- filters -----------------------------------------------------------------------------------

    def filter(self, f: Filter) -> tuple[tantivy.Occur, TQuery] | None:
        if isinstance(f, DateRange):
            low, high = day_bounds(f.since, f.until)
            if low is None and high is None:
                return None
            q = TQuery.range_query(SCHEMA, "recent", tantivy.FieldType.Unsigned, low, high)
            return Occur.Must, _unscored(q)
        if isinstance(f, AnyOf):
            options = []
            for option in f.options:
                q = self._option(option)
                options.append(_positive(Part(q, False, negative=option.exclude)))
            return Occur.Must, _unscored(_any(options))
        return (Occur.MustNot if f.exclude else Occur.Must), _unscored(self._option(f))

    @staticmethod
    def _option(f: CategoryFilter | IdFilter) -> TQuery:
        if isinstance(f, IdFilter):
            return _any(
                [
                    TQuery.term_query(SCHEMA, "key", f.arxiv_id),
                    TQuery.term_query(SCHEMA, "arxiv", f.arxiv_id),
                ]
            )
        return TQuery.term_query(SCHEMA, "archive" if f.whole_archive else "cat", f.code)
