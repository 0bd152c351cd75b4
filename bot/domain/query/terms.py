"""Index terms for the topic matcher: a small set of keys every matching paper must contain.

The topic matcher keeps, for each saved topic, a *cover*: a set of keys such that any paper the
topic matches has at least one of them among :func:`paper_keys`. It then only runs
:func:`~.evaluate.matches` on topics whose cover the incoming paper hits (:func:`cover_hit`).

Keys are stems (``model`` for "models"), surface tokens, or prefix markers ending in ``*``
(``transform*`` is hit by any key starting with ``transform``). Covers are built as:

* a word: its stem; a prefix: its marker; a phrase: the cover of its most selective word;
* ``author:`` words compare unstemmed with initials (see :mod:`.evaluate`): a full word alone
  must be in the name (``hinton`` is covered by ``{hinton}``), a lone initial ``g`` by ``{g*}``;
  in a name, a word by itself or its initial (``{geoffrey, g}``), or the full words together
  (one of them is in the name: ``{geoffrey, hinton}``), whichever is rarer;
* ``And``: the cheapest cover among its children that have one (one required part suffices);
* ``Or``: the union of its children's covers, or none if any child has none;
* ``Not``: none (an exclusion never proves a paper contains anything).

:func:`candidate_terms` returns None when no cover exists — a query of filters only
(``cat:cs.CL``) or of exclusions only (``cat:cs -survey``); such topics must be tested against
every paper (their filters are cheap).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.domain.papers import Paper
from bot.domain.query.ast import And, Node, Not, Or, Phrase, Query, Term
from bot.domain.query.evaluate import PreparedPaper, prepare, stem
from bot.domain.query.stopwords import is_stopword

__all__ = ["candidate_terms", "cover_hit", "paper_keys"]

DocFrequency = Callable[[str], int]


def _estimate(key: str) -> int:
    """A guess at how many papers contain ``key`` when no statistics are given: stop-words and
    short keys are common, prefix markers match many words."""
    if key.endswith("*"):
        return 1_000_000 // max(1, len(key) - 1) ** 2
    if is_stopword(key):
        return 1_000_000
    if len(key) == 1:
        return 300_000
    return 100_000 // len(key)


def _word_cover(word: str, field: str | None) -> frozenset[str]:
    if field == "author":
        if len(word) == 1:
            return frozenset({f"{word}*"})
        return frozenset({word, word[0]})
    return frozenset({stem(word)})


def _cover(node: Node, cost: Callable[[frozenset[str]], int]) -> frozenset[str] | None:
    if isinstance(node, Term):
        if node.prefix:
            return frozenset({f"{node.text}*"})
        if node.field == "author" and len(node.text) > 1:
            return frozenset({node.text})  # a full word alone: the name has it
        return _word_cover(node.text, node.field)
    if isinstance(node, Phrase):
        options = [_word_cover(w, node.field) for w in node.words]
        if node.field == "author":
            full = frozenset(w for w in node.words if len(w) > 1)
            if full:  # one of the full words is a word of the name
                options.append(full)
        return min(options, key=cost)
    if isinstance(node, Not):
        return None
    covers = [_cover(child, cost) for child in node.children]
    if isinstance(node, Or):
        if any(c is None for c in covers):
            return None
        return frozenset().union(*(c for c in covers if c is not None))
    assert isinstance(node, And)
    present = [c for c in covers if c is not None]
    return min(present, key=cost) if present else None


def candidate_terms(query: Query, df: DocFrequency | None = None) -> frozenset[str] | None:
    """Keys at least one of which every paper matching ``query`` contains, or None if no such set
    exists (filters or exclusions only).

    ``df`` gives how many papers contain a key (prefix markers included, e.g. ``"transform*"``)
    and is used to pick the most selective alternative of an AND or a phrase; without it a
    heuristic prefers long, non-stop-words over prefixes and stop-words.
    """
    if query.text_tree is None:
        return None
    frequency = df if df is not None else _estimate

    def cost(keys: frozenset[str]) -> int:
        # Sorted so ties between equally good covers break the same way on every run.
        return sum(frequency(k) for k in sorted(keys))

    return _cover(query.text_tree, cost)


def paper_keys(paper: Paper | PreparedPaper) -> frozenset[str]:
    """Every key a paper contains: surface tokens and their stems from all text fields."""
    doc = paper if isinstance(paper, PreparedPaper) else prepare(paper)
    keys: set[str] = set()
    for seg in doc.segments(None):
        keys.update(seg.tokens)
        keys.update(seg.stems)
    return frozenset(keys)


def cover_hit(cover: Iterable[str], keys: frozenset[str]) -> bool:
    """Whether a paper with ``keys`` (from :func:`paper_keys`) hits ``cover``."""
    for key in cover:
        if key.endswith("*"):
            start = key[:-1]
            if any(k.startswith(start) for k in keys):
                return True
        elif key in keys:
            return True
    return False
