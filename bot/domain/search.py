"""Search and listing lookups over the catalog: the port storage implements, and the functions the
front ends (Discord, console, CLI) call.

The query text is parsed once by bot.domain.query; storage compiles the tree for its backend
(SQLite FTS5 or PostgreSQL tsquery). Paging is 1-based. docs/search.md describes how storage
answers each kind of query, ranks the results and counts them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Protocol

from bot.domain.catalog import Catalog
from bot.domain.categories import ARCHIVES, is_category, normalise_category
from bot.domain.lookups import find_paper
from bot.domain.papers import Paper, fold, surname
from bot.domain.query import Query, QueryError, is_stopword, parse_query, tokenize

MAX_PAGE_SIZE = 50
MAX_SIMILAR = 50
MAX_AUTHOR_NAME = 200

# Similar papers: an OR of the paper's most distinctive words (distinctive_words), ranked like any
# search by each backend.
SIMILAR_CANDIDATES = 40
SIMILAR_TERMS = 10
SIMILAR_TITLE_WEIGHT = 3
SIMILAR_MAX_DF = 2_000  # and at most 20% of the catalog
SIMILAR_DF_BUDGET = 4_000  # the summed document frequency of the words used bounds the work


def distinctive_words(
    title: str,
    abstract: str,
    n_papers: int,
    doc_freqs: Callable[[Sequence[str], int], Mapping[str, int]],
) -> list[str]:
    """The words a search for papers similar to this one uses: its frequent words (title words
    count three times), ranked by weight times idf, leaving out the words only this paper has or
    too common to tell papers apart, within a budget of summed document frequencies.
    ``doc_freqs(words, max_df)`` gives the backend's document frequency of each word (words at or
    above ``max_df`` may be reported as anything from ``max_df`` up, or left out)."""
    weights: Counter[str] = Counter()
    for text_, weight in ((title, SIMILAR_TITLE_WEIGHT), (abstract, 1)):
        for w in tokenize(text_):
            if len(w) > 2 and not is_stopword(w) and not w.isdigit():
                weights[w] += weight
    candidates = [w for w, _ in weights.most_common(SIMILAR_CANDIDATES)]
    if not candidates:
        return []
    n_papers = max(2, n_papers)
    max_df = max(20, min(SIMILAR_MAX_DF, n_papers // 5))
    df = doc_freqs(candidates, max_df)
    scored = []
    for w in candidates:
        d = df.get(w, 0)
        if d < 2 or d >= max_df:
            continue  # only this paper has it, or too common to tell papers apart
        idf = math.log((n_papers - d + 0.5) / (d + 0.5) + 1.0)
        scored.append((weights[w] * idf, d, w))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    chosen: list[str] = []
    budget = 0
    for _, d, w in scored:
        if len(chosen) >= SIMILAR_TERMS:
            break
        if chosen and budget + d > SIMILAR_DF_BUDGET:
            continue
        chosen.append(w)
        budget += d
    return chosen


@dataclass(frozen=True, slots=True)
class SearchHit:
    paper: Paper
    score: float  # higher is better; 0.0 where the order is not by relevance


@dataclass(frozen=True, slots=True)
class ResultSlice:
    hits: list[SearchHit]
    # How many match in all. With ``capped`` it is a lower bound: the backend stopped counting
    # (very broad queries, see docs/search.md), and the true number is at least this.
    total: int
    capped: bool = False


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    page: int
    page_size: int
    capped: bool = False  # total is a lower bound ("10,000+")

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def total_label(self) -> str:
        """The total for people: ``1,234``, or ``10,000+`` when counting stopped early."""
        return f"{self.total:,}{'+' if self.capped else ''}"


@dataclass(frozen=True, slots=True)
class SimilarPapers:
    """The paper asked about and the papers nearest to it, best first."""

    paper: Paper
    hits: list[SearchHit]


class SearchBackend(Protocol):
    """Implemented by storage (storage.search) for SQLite and PostgreSQL.

    Every method raises :class:`~bot.domain.query.QueryError` (never a database error) when a
    request cannot be answered, with a message for the person who asked.
    """

    def search(self, query: Query, *, limit: int, offset: int) -> ResultSlice: ...

    def by_author(self, name: str, *, limit: int, offset: int) -> ResultSlice: ...

    def recent(self, category: str | None, *, limit: int, offset: int) -> ResultSlice: ...

    def similar(self, key: str, *, limit: int) -> list[SearchHit]: ...


def _page_args(page: int, page_size: int) -> tuple[int, int]:
    page = max(1, page)
    page_size = max(1, min(MAX_PAGE_SIZE, page_size))
    return page, page_size


def _page(found: ResultSlice, page: int, page_size: int) -> SearchPage:
    return SearchPage(found.hits, found.total, page, page_size, found.capped)


def search_papers(
    backend: SearchBackend,
    text: str,
    *,
    page: int = 1,
    page_size: int = 5,
    today: date | None = None,
) -> SearchPage:
    """One page of results for a query typed by a person. Raises QueryError with its reason."""
    page, page_size = _page_args(page, page_size)
    query = parse_query(text, today=today)
    found = backend.search(query, limit=page_size, offset=(page - 1) * page_size)
    return _page(found, page, page_size)


def papers_by_author(
    backend: SearchBackend, name: str, *, page: int = 1, page_size: int = 5
) -> SearchPage:
    """One page of an author's papers, newest first.

    Tolerant of accents, initials and order: "Hinton G", "geoffrey hinton", "G. E. Hinton" and
    "Hintón" all find Geoffrey Hinton. Raises QueryError for a name with no letters in it.
    """
    page, page_size = _page_args(page, page_size)
    name = " ".join(name.split())
    if len(name) > MAX_AUTHOR_NAME:
        raise QueryError(f"that name is too long: at most {MAX_AUTHOR_NAME} characters")
    if not tokenize(name):
        raise QueryError("give an author's name, e.g. Yann LeCun or lecun y")
    found = backend.by_author(name, limit=page_size, offset=(page - 1) * page_size)
    return _page(found, page, page_size)


def _name_word(word: str, token: str) -> bool:
    """A typed word matches a word of a name: equal, or an initial standing for a word it starts
    (either way round), as ``author:`` compares names (bot.domain.query.evaluate)."""
    if word == token:
        return True
    if len(word) == 1:
        return token.startswith(word)
    return len(token) == 1 and word.startswith(token)


def surname_forms(words: Sequence[str], typed: str) -> set[str]:
    """What the surname of the author named by ``words`` (typed as ``typed``) may be, folded:
    any word of two letters or more, two neighbours joined (O'Brien, Ruiz-Diaz), each chunk as
    typed. The same forms storage looks up in its surname index."""
    found = {w for w in words if len(w) > 1}
    for a, b in pairwise(words):
        found.update((f"{a}'{b}", f"{a}-{b}", f"{a}\u2019{b}"))
    for chunk in fold(typed).split():
        core = chunk.strip(".,;:()[]\"'")
        if len(core) > 1:
            found.add(core)
    return found


def matched_author(names: Sequence[str], name: str) -> int | None:
    """The position in ``names`` of the author ``/author name`` found, or None.

    The rules of :func:`papers_by_author`: every typed word must be a word of one author's name
    (accents, initials and order do not matter), one of them that author's surname; failing
    that, an author with every word; failing that (the words spread over several authors), the
    author with the most of them. The first such author when several are.
    """
    words = tokenize(name)
    if not words:
        return None
    surnames = surname_forms(words, name)
    best: tuple[int, int, int] | None = None  # (all words, by surname, words matched)
    best_at: int | None = None
    for i, author in enumerate(names):
        tokens = tokenize(author)
        hits = sum(1 for w in dict.fromkeys(words) if any(_name_word(w, t) for t in tokens))
        if not hits:
            continue
        every = hits == len(dict.fromkeys(words))
        score = (int(every), int(every and fold(surname(author)) in surnames), hits)
        if best is None or score > best:
            best, best_at = score, i
    return best_at


def check_category(code: str) -> str:
    """The canonical spelling of an arXiv category or archive (``CS.cl`` -> ``cs.CL``, ``cs``).

    Raises QueryError naming the problem when ``code`` is neither.
    """
    code = code.strip()
    if is_category(code):
        return code
    known = normalise_category(code)
    if known is not None:
        return known
    if code.lower() in ARCHIVES:
        return code.lower()
    raise QueryError(
        f"'{code}' is not an arXiv category; categories look like cs.CL, math.AG or hep-th, "
        "and an archive such as cs covers all of its categories"
    )


def recent_papers(
    backend: SearchBackend, category: str | None = None, *, page: int = 1, page_size: int = 5
) -> SearchPage:
    """One page of the newest papers, in one category (``cs.CL``), one archive (``cs``) or in
    all (None). Raises QueryError for an unknown category."""
    page, page_size = _page_args(page, page_size)
    code = check_category(category) if category is not None and category.strip() else None
    found = backend.recent(code, limit=page_size, offset=(page - 1) * page_size)
    return _page(found, page, page_size)


def similar_papers(
    backend: SearchBackend, catalog: Catalog, text: str, *, limit: int = 5
) -> SimilarPapers:
    """The paper named by ``text`` (arXiv id or link, DOI or key) and the papers most like it.

    Raises BadPaperRef or PaperNotFound (bot.domain.lookups) when ``text`` names no paper of the
    catalog.
    """
    paper = find_paper(catalog, text)
    limit = max(1, min(MAX_SIMILAR, limit))
    return SimilarPapers(paper, backend.similar(paper.key, limit=limit))
