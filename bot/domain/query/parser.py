"""Parse what people type into a :class:`~.ast.Query`, or explain precisely what is wrong.

Syntax
------
``long context``            every word must match (implicit AND; ``AND`` may be written too)
``"long context"``          a phrase: the words consecutively, in one field
``a OR b``                  either; ``OR`` must be upper case (``or`` is an ordinary word)
``-survey``  ``NOT survey`` exclude a word, ``-"a phrase"``, ``-title:x`` or ``-(a group)``
``transform*``              a prefix: at least :data:`MIN_PREFIX_LENGTH` letters before the ``*``
``(a OR b) c``              grouping, nested at most :data:`MAX_NESTING` deep
``author:hinton``  ``author:"geoffrey hinton"``  ``title:``  ``abstract:``  ``org:``
                            text fields; each takes a word, a "phrase", a prefix* or a (group):
                            ``title:(graph neural)`` is ``title:graph title:neural``
``cat:cs.CL``  ``cat:cs``   listed in a category, or anywhere in an archive
``id:2403.05530``           one paper (a bare new-style id, an arXiv link or ``arXiv:...`` too)
``since:2024-11-01``  ``until:2024-11``  ``since:7d``  ``year:2024``  ``year:2020-2023``
                            publication date; ISO day, month or year, or ``Nd``/``Nw``/``Nm``/``Ny``
                            (days, weeks, months, years ago), or ``today``/``yesterday``
``sort:recent``  ``sort:relevance``

Precedence: ``-``/``NOT`` binds tightest, then ``OR``, then the implicit AND (as in web search):
``llm reasoning OR planning`` is ``llm (reasoning OR planning)``. Filters (``cat:``, ``id:``,
dates, ``sort:``) apply to the whole query: they may be combined with each other by ``OR``
(``cat:cs.CL OR cat:cs.LG``) or excluded (``-cat:cs.CV``), but never OR-ed with words. Dates and
``sort:`` cannot be excluded, and each of ``since:``/``until:``/``year:`` may appear once.

Tokenisation (one rule for queries, papers and the index)
--------------------------------------------------------
Text is cleaned first (:func:`clean_text`): format characters (zero-width space/joiners, bidi
marks, soft hyphen) and emoji variation selectors are deleted, so a word with a zero-width joiner
inside stays one word; control characters become spaces; every character is NFKC-normalised
(full-width letters and punctuation become ASCII). Then :func:`~bot.domain.papers.fold`
lower-cases and strips accents, and **a word is a maximal run of letters and digits**
(``str.isalnum``: Unicode L* and N*, which is also what SQLite FTS5 ``unicode61
remove_diacritics 2`` treats as token characters). Everything else — punctuation, symbols, emoji —
separates words, with no exceptions for ``.``, ``-`` or ``+``: so ``gpt-4`` is the phrase
"gpt 4", ``cs.CL`` typed as a word is "cs cl", ``c++`` is "c", and ``don't`` is "don t". The index
splits the paper text the same way, so these still match where they occur (PostgreSQL's
``english`` parser keeps hyphenated compounds and also indexes their parts, so a phrase of the
parts matches there too). Storage should index text passed through :func:`clean_text`, because
FTS5 itself would split a word at a zero-width joiner. Words are not stemmed here
(see :func:`~.evaluate.stem`); stop-words are kept (see :mod:`.stopwords`).

Chosen graceful cases: emoji or punctuation on their own are ignored (``🚀 rocket`` is
``rocket``); ``title : x`` and FTS5 syntax such as ``{title}:x``, ``^word`` or ``NEAR(a b)`` are
ordinary text (nothing is ever passed to a backend unparsed); ``title: x`` (space after the colon)
is ``title:x``; “curly” and «guillemet» quotes are quotes; ``ti:``/``au:``/``abs:``/``all:`` are
arXiv-style aliases; a lone ``-`` is ignored and ``--a`` is ``-a``; ``-(-a)`` is ``a``; a bare
new-style arXiv id (``2403.05530``) means ``id:``; ``word:`` that is neither a field nor a near
miss of one (``LLM: reasoning``) is text, while a near miss (``autor:``) is an error naming the
field meant.
A query made only of exclusions needs a filter to bound it (``cat:cs.CL -survey`` is fine,
``-survey`` alone is an error).

Errors are :class:`QueryError`; ``position`` is a 0-based index into the text as typed and the
message names the 1-based column.
"""

from __future__ import annotations

import calendar
import difflib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Literal, TypeAlias

from bot.domain.arxiv_ids import parse_arxiv_ref
from bot.domain.categories import ARCHIVES, CATEGORIES, expand_listing_code, normalise_category
from bot.domain.papers import fold
from bot.domain.query.ast import (
    TEXT_FIELDS,
    And,
    AnyOf,
    CategoryFilter,
    DateRange,
    DateUnit,
    Filter,
    IdFilter,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    RelativeDate,
    Sort,
    Term,
    TextField,
    leaves,
)
from bot.domain.query.stopwords import is_stopword

__all__ = [
    "FIELDS",
    "MAX_NESTING",
    "MAX_QUERY_LENGTH",
    "MIN_PREFIX_LENGTH",
    "QueryError",
    "clean_text",
    "parse_query",
    "tokenize",
]

MAX_QUERY_LENGTH = 500
"""Longest query accepted, in characters after trimming surrounding whitespace."""
MIN_PREFIX_LENGTH = 3
"""Letters needed before a ``*``: shorter prefixes expand to too many index terms to be useful."""
MAX_NESTING = 10
"""Deepest parenthesis nesting accepted; keeps parsing and evaluation recursion small."""
# The longest offset a relative date may reach back, in days; keeps date arithmetic in range.
_MAX_RELATIVE_DAYS = 200 * 366

FIELDS: tuple[str, ...] = (
    "author",
    "title",
    "abstract",
    "cat",
    "org",
    "id",
    "since",
    "until",
    "year",
    "sort",
)
_FIELD_LIST = ", ".join(FIELDS)
_ALIASES = {
    "au": "author",
    "authors": "author",
    "ti": "title",
    "abs": "abstract",
    "aff": "org",
    "affiliation": "org",
    "category": "cat",
    "all": "all",
}
_EXAMPLES = {
    "author": 'author:hinton or author:"geoffrey hinton"',
    "title": "title:transformer",
    "abstract": 'abstract:"long context"',
    "org": "org:deepmind",
    "all": "all:transformer",
    "cat": "cat:cs.CL or cat:cs",
    "id": "id:2403.05530",
    "since": "since:2024-11-01 or since:7d",
    "until": "until:2024-11-30 or until:30d",
    "year": "year:2024 or year:2020-2023",
    "sort": "sort:recent or sort:relevance",
}
# Names a typo is compared with; the two-letter aliases would make every short word a near miss.
_SUGGESTABLE = [*FIELDS, "authors", "affiliation", "category"]
_TEXT_FIELD_BY_NAME: dict[str, TextField] = {f: f for f in TEXT_FIELDS}
_UNITS: dict[str, DateUnit] = {"d": "d", "w": "w", "m": "m", "y": "y"}
_SORTS: dict[str, Sort] = {
    "relevance": "relevance",
    "relevant": "relevance",
    "best": "relevance",
    "recent": "recent",
    "new": "recent",
    "newest": "recent",
    "latest": "recent",
    "date": "recent",
}

_QUOTES = frozenset('"“”„‟«»〝〞＂')
_SPECIAL = frozenset('"()')
_FIELD_RE = re.compile(r"([A-Za-z]+):")
_BARE_ID_RE = re.compile(r"\d{4}\.\d{4,5}(?:v\d+)?")
_CATEGORY_RE = re.compile(r"[a-z]+(?:-[a-z]+)?(?:\.[a-z]+(?:-[a-z]+)*)?", re.IGNORECASE)
_RELATIVE_RE = re.compile(r"(\d{1,6})\s*([dwmy])", re.IGNORECASE)
_ISO_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_YEAR_RE = re.compile(r"(\d{4})(?:-(\d{4}))?")
_DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 31, "y": 366}


class QueryError(ValueError):
    """A query that cannot be parsed. ``message`` is written for the person who typed it."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return self.message


# --- cleaning and tokenising ------------------------------------------------------------------


def _is_dropped(c: str) -> bool:
    # Format characters (ZWSP, ZWJ/ZWNJ, bidi marks, soft hyphen, BOM) and variation selectors
    # are invisible: deleting them keeps "mod\u200del" one word; surrogates cannot be text.
    cat = unicodedata.category(c)
    return cat in ("Cf", "Cs") or "\ufe00" <= c <= "\ufe0f" or "\U000e0100" <= c <= "\U000e01ef"


def _clean_with_positions(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    where: list[int] = []
    for i, c in enumerate(text):
        if c.isascii():
            # The common case, kept cheap: only controls need work.
            out.append(" " if c < " " or c == "\x7f" else c)
            where.append(i)
            continue
        if _is_dropped(c):
            continue
        if unicodedata.category(c) == "Cc" or c.isspace():
            out.append(" ")
            where.append(i)
            continue
        if c in _QUOTES:
            out.append('"')
            where.append(i)
            continue
        for n in unicodedata.normalize("NFKC", c):
            out.append(n)
            where.append(i)
    return "".join(out), where


def _cleaned_char(c: str) -> str:
    """What :func:`_clean_with_positions` makes of one character other than printable ASCII."""
    if c.isascii():
        return " "  # a control character
    if _is_dropped(c):
        return ""
    if unicodedata.category(c) == "Cc" or c.isspace():
        return " "
    if c in _QUOTES:
        return '"'
    return unicodedata.normalize("NFKC", c)


# Characters other than printable ASCII, and what each becomes (memoised: text repeats them).
_UNUSUAL = re.compile(r"[^\x20-\x7e]")
_CLEANED: dict[str, str] = {}


def _clean_match(m: re.Match[str]) -> str:
    c = m.group()
    found = _CLEANED.get(c)
    if found is None:
        found = _cleaned_char(c)
        if len(_CLEANED) < 50_000:
            _CLEANED[c] = found
    return found


def clean_text(text: str) -> str:
    """``text`` with invisible characters removed, controls as spaces and NFKC applied."""
    # The same per-character rule as _clean_with_positions, but printable ASCII (nearly all
    # of an abstract) is left to the regex engine instead of a Python loop.
    return _UNUSUAL.sub(_clean_match, text)


_ASCII_WORD = re.compile(r"[a-z0-9]+")
# \w minus underscore is exactly str.isalnum(): Unicode letters and numbers.
_WORD = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    """The folded words of ``text`` (see the module docstring for the rule); papers and queries
    are tokenised by this one function."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    return _WORD.findall(fold(clean_text(text)))


def _is_word_char(c: str) -> bool:
    return c.isalnum()


# --- lexing -----------------------------------------------------------------------------------

_Kind: TypeAlias = Literal[
    "word", "phrase", "lparen", "rparen", "or", "and", "not", "neg", "field", "id"
]


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: _Kind
    text: str
    pos: int  # index into the original text


def _col(pos: int) -> int:
    return pos + 1


def _lex(s: str, where: list[int]) -> list[_Tok]:
    toks: list[_Tok] = []
    n = len(s)
    i = 0
    while i < n:
        c = s[i]
        if c == " ":
            i += 1
            continue
        if c == '"':
            end = s.find('"', i + 1)
            if end == -1:
                raise QueryError(
                    f"unbalanced quote: the phrase starting at column {_col(where[i])} is never "
                    'closed; add a closing " or remove this one',
                    where[i],
                )
            toks.append(_Tok("phrase", s[i + 1 : end], where[i]))
            i = end + 1
            continue
        if c in "()":
            toks.append(_Tok("lparen" if c == "(" else "rparen", c, where[i]))
            i += 1
            continue
        if c == "-":
            nxt = s[i + 1] if i + 1 < n else ""
            if nxt and (nxt in '"(' or _is_word_char(nxt)):
                toks.append(_Tok("neg", "-", where[i]))
                i += 1
                continue
            if nxt == "-":
                i += 1
                continue
        end = i
        while end < n and s[end] != " " and s[end] not in _SPECIAL:
            end += 1
        _lex_chunk(s[i:end], s[end : end + 1], where[i], i, where, toks)
        i = end
    return toks


def _lex_chunk(
    chunk: str, following: str, pos: int, start: int, where: list[int], toks: list[_Tok]
) -> None:
    if chunk in ("OR", "AND", "NOT"):
        toks.append(_Tok("or" if chunk == "OR" else "and" if chunk == "AND" else "not", chunk, pos))
        return
    m = _FIELD_RE.match(chunk)
    if m:
        name = m.group(1).lower()
        canonical = _ALIASES.get(name, name)
        if canonical in FIELDS or canonical == "all":
            toks.append(_Tok("field", canonical, pos))
            rest = chunk[m.end() :]
            if rest:
                rest_pos = where[start + m.end()]
                negated = rest[1:2].isalnum() or (rest == "-" and following in ('"', "("))
                if rest[0] == "-" and negated:
                    value = rest[1:] or ("(...)" if following == "(" else '"..."')
                    raise QueryError(
                        f"'{m.group(0)}{rest}' at column {_col(pos)}: to exclude, put the minus "
                        f"before the field: -{m.group(0)}{value}",
                        rest_pos,
                    )
                toks.append(_Tok("word", rest, rest_pos))
            return
        if parse_arxiv_ref(chunk) is not None:
            toks.append(_Tok("id", chunk, pos))
            return
        if name in ("http", "https", "www"):
            raise QueryError(
                f"the link at column {_col(pos)} can't be searched; to follow one paper, paste "
                "its arXiv link or write id:2403.05530",
                pos,
            )
        error = _unknown_field(m.group(1), pos)
        if error is not None:
            raise error
        # Not a field nor a near miss ("LLM: reasoning"): the colon is punctuation.
    core = chunk.rstrip(".,;:!?")
    if _BARE_ID_RE.fullmatch(core):
        toks.append(_Tok("id", core, pos))
        return
    if "*" in chunk or tokenize(chunk):
        toks.append(_Tok("word", chunk, pos))
    # A chunk of only emoji or punctuation ("🚀", "-", ":") separates words and is dropped.


def _unknown_field(name: str, pos: int) -> QueryError | None:
    """The error for a near miss of a field name (``autor:``), else None."""
    guess = difflib.get_close_matches(name.lower(), _SUGGESTABLE, n=1, cutoff=0.75)
    if not guess:
        return None
    target = _ALIASES.get(guess[0], guess[0])
    return QueryError(
        f"unknown field '{name}:' at column {_col(pos)} — did you mean {target}:? "
        f"Fields: {_FIELD_LIST}",
        pos,
    )


# --- parsing into a raw tree (filters still mixed in) -------------------------------------------


@dataclass(slots=True)
class _RLeaf:
    node: Term | Phrase
    pos: int


@dataclass(slots=True)
class _RFilter:
    kind: str  # a FIELDS name: cat, id, since, until, year, sort
    value: CategoryFilter | IdFilter | tuple[date, RelativeDate | None] | tuple[date, date] | Sort
    pos: int


@dataclass(slots=True)
class _RAnd:
    items: list[_Raw]
    pos: int


@dataclass(slots=True)
class _ROr:
    items: list[_Raw]
    pos: int


@dataclass(slots=True)
class _RNot:
    item: _Raw
    pos: int


_Raw: TypeAlias = _RLeaf | _RFilter | _RAnd | _ROr | _RNot


@dataclass(slots=True)
class _Group:
    """The field a parenthesised group is under (``title:(...)``), for leaves and errors."""

    field: TextField | None
    name: str
    pos: int


@dataclass(slots=True)
class _Parser:
    toks: list[_Tok]
    today: date
    i: int = 0
    group: _Group | None = field(default=None)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def advance(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> list[_Raw]:
        items = self.conj(0)
        tok = self.peek()
        if tok is not None:
            # conj only stops early at a ')' that no '(' opened.
            raise QueryError(
                f"the ')' at column {_col(tok.pos)} has no matching '('; remove it or add a '('",
                tok.pos,
            )
        return items

    def conj(self, depth: int) -> list[_Raw]:
        items: list[_Raw] = []
        pending_and: _Tok | None = None
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "rparen":
                break
            if tok.kind == "or":
                if pending_and is not None:
                    raise QueryError(
                        f"'OR' at column {_col(tok.pos)} comes right after 'AND'; use one of them",
                        tok.pos,
                    )
                raise QueryError(
                    f"'OR' at column {_col(tok.pos)} needs something to search for before it, "
                    "as in a OR b",
                    tok.pos,
                )
            if tok.kind == "and":
                if not items or pending_and is not None:
                    raise QueryError(
                        f"'AND' at column {_col(tok.pos)} needs something to search for before "
                        "it: write a AND b, or just a b",
                        tok.pos,
                    )
                pending_and = self.advance()
                continue
            items.append(self.disj(depth))
            pending_and = None
        if pending_and is not None:
            raise QueryError(
                f"'AND' at column {_col(pending_and.pos)} needs something to search for after it",
                pending_and.pos,
            )
        return items

    def disj(self, depth: int) -> _Raw:
        first = self.unary(depth)
        parts = [first]
        while (tok := self.peek()) is not None and tok.kind == "or":
            or_tok = self.advance()
            nxt = self.peek()
            if nxt is None or nxt.kind == "rparen":
                raise QueryError(
                    f"'OR' at column {_col(or_tok.pos)} needs something to search for after it",
                    or_tok.pos,
                )
            if nxt.kind == "or":
                raise QueryError(
                    f"'OR' at column {_col(nxt.pos)} comes right after another 'OR'; remove one",
                    nxt.pos,
                )
            if nxt.kind == "and":
                raise QueryError(
                    f"'OR' at column {_col(or_tok.pos)} is followed by 'AND'; use one of them",
                    nxt.pos,
                )
            parts.append(self.unary(depth))
        return first if len(parts) == 1 else _ROr(parts, first.pos)

    def unary(self, depth: int) -> _Raw:
        tok = self.peek()
        assert tok is not None
        if tok.kind not in ("neg", "not"):
            return self.atom(depth)
        self.advance()
        label = "'-'" if tok.kind == "neg" else "'NOT'"
        nxt = self.peek()
        if nxt is None or nxt.kind in ("rparen", "or", "and"):
            raise QueryError(
                f"{label} at column {_col(tok.pos)} needs a word, phrase or group after it to "
                "exclude",
                tok.pos,
            )
        if nxt.kind in ("neg", "not"):
            raise QueryError(
                f"{label} at column {_col(tok.pos)} is followed by another exclusion; use one",
                nxt.pos,
            )
        return _RNot(self.atom(depth), tok.pos)

    def atom(self, depth: int) -> _Raw:
        tok = self.advance()
        if tok.kind == "lparen":
            return self.paren(tok, depth)
        if tok.kind == "phrase":
            return self.phrase(tok)
        if tok.kind == "word":
            return self.word(tok)
        if tok.kind == "field":
            return self.fielded(tok, depth)
        if tok.kind == "id":
            self.no_filter_in_group(tok, "an arXiv id")
            return _RFilter("id", _id_filter(tok.text, tok.pos, "id"), tok.pos)
        # Callers check for these before calling atom; kept as a clear error, not an assert.
        raise QueryError(f"unexpected '{tok.text}' at column {_col(tok.pos)}", tok.pos)

    def paren(self, open_tok: _Tok, depth: int) -> _Raw:
        if depth + 1 > MAX_NESTING:
            raise QueryError(
                f"too many nested parentheses at column {_col(open_tok.pos)}: at most "
                f"{MAX_NESTING} levels",
                open_tok.pos,
            )
        items = self.conj(depth + 1)
        close = self.peek()
        if close is None:
            raise QueryError(
                f"the '(' at column {_col(open_tok.pos)} is never closed; add a ')'",
                open_tok.pos,
            )
        self.advance()
        if not items:
            raise QueryError(
                f"the parentheses at column {_col(open_tok.pos)} have nothing to search for inside",
                open_tok.pos,
            )
        return items[0] if len(items) == 1 else _RAnd(items, open_tok.pos)

    def leaf_field(self) -> TextField | None:
        return self.group.field if self.group else None

    def phrase(self, tok: _Tok) -> _Raw:
        words = tokenize(tok.text)
        if not words:
            raise QueryError(f"the phrase at column {_col(tok.pos)} has no words in it", tok.pos)
        f = self.leaf_field()
        node: Term | Phrase = Term(words[0], f) if len(words) == 1 else Phrase(tuple(words), f)
        return _RLeaf(node, tok.pos)

    def word(self, tok: _Tok) -> _Raw:
        f = self.leaf_field()
        chunk = tok.text
        if "*" not in chunk:
            words = tokenize(chunk)
            if not words:
                raise QueryError(
                    f"'{chunk}' at column {_col(tok.pos)} has no letters or digits to search for",
                    tok.pos,
                )
            node: Term | Phrase = Term(words[0], f) if len(words) == 1 else Phrase(tuple(words), f)
            return _RLeaf(node, tok.pos)
        return _RLeaf(_prefix_term(chunk, tok.pos, f), tok.pos)

    def no_filter_in_group(self, tok: _Tok, what: str) -> None:
        if self.group is not None:
            raise QueryError(
                f"{what} at column {_col(tok.pos)} can't go inside {self.group.name}:(...) "
                f"(column {_col(self.group.pos)}); put it outside the parentheses",
                tok.pos,
            )

    def fielded(self, tok: _Tok, depth: int) -> _Raw:
        name = tok.text
        self.no_filter_in_group(tok, f"'{name}:'")
        nxt = self.peek()
        example = _EXAMPLES[name]
        if nxt is None or nxt.kind in ("rparen", "or", "and", "field", "id"):
            raise QueryError(
                f"'{name}:' at column {_col(tok.pos)} needs a value right after it, as in "
                f"{example}",
                tok.pos,
            )
        if nxt.kind in ("neg", "not"):
            raise QueryError(
                f"'{name}:' at column {_col(tok.pos)}: to exclude, put the minus before the "
                f"field, as in -{name}:value",
                nxt.pos,
            )
        if name in TEXT_FIELDS or name == "all":
            self.group = _Group(_TEXT_FIELD_BY_NAME.get(name), name, tok.pos)
            try:
                return self.atom(depth)
            finally:
                self.group = None
        if nxt.kind == "lparen":
            raise QueryError(
                f"'{name}:' at column {_col(tok.pos)} takes a single value, as in {example}; "
                f"for several, write {name}:a OR {name}:b",
                tok.pos,
            )
        value_tok = self.advance()
        return _RFilter(name, self.filter_value(name, value_tok.text, value_tok.pos), tok.pos)

    def filter_value(
        self, name: str, value: str, pos: int
    ) -> CategoryFilter | IdFilter | tuple[date, RelativeDate | None] | tuple[date, date] | Sort:
        value = value.strip()
        if name == "cat":
            return _category_filter(value, pos)
        if name == "id":
            return _id_filter(value, pos, "id")
        if name in ("since", "until"):
            return _date_bound(name, value, pos, self.today)
        if name == "year":
            return _year_range(value, pos)
        sort = _SORTS.get(value.lower())
        if sort is None:
            raise QueryError(f"'sort:' is either relevance or recent, got '{value}'", pos)
        return sort


def _trim_punctuation(chunk: str) -> str:
    start, end = 0, len(chunk)
    while start < end and not (chunk[start].isalnum() or chunk[start] == "*"):
        start += 1
    while end > start and not (chunk[end - 1].isalnum() or chunk[end - 1] == "*"):
        end -= 1
    return chunk[start:end]


def _prefix_term(chunk: str, pos: int, f: TextField | None) -> Term:
    # Punctuation around a prefix ("'trans*'", "trans*,") is as irrelevant as around a word.
    core = _trim_punctuation(chunk)
    body = core.rstrip("*")
    if "*" in body:
        raise QueryError(
            f"'{chunk}' at column {_col(pos)}: a * can only end a word, as in transform*", pos
        )
    words = tokenize(body)
    if not words:
        raise QueryError(
            f"a * needs at least {MIN_PREFIX_LENGTH} letters before it, as in transform* "
            f"(column {_col(pos)})",
            pos,
        )
    if not body[-1].isalnum():
        raise QueryError(
            f"'{chunk}' at column {_col(pos)}: a * must come right after a word, as in transform*",
            pos,
        )
    if len(words) > 1:
        raise QueryError(
            f"'{chunk}' at column {_col(pos)}: a * can only end a single word, and punctuation "
            f"splits '{body}' into {' and '.join(words)}; drop the *",
            pos,
        )
    word = words[0]
    if len(word) < MIN_PREFIX_LENGTH:
        raise QueryError(
            f"'{chunk}' at column {_col(pos)} is too short: a * needs at least "
            f"{MIN_PREFIX_LENGTH} letters before it",
            pos,
        )
    return Term(word, f, prefix=True)


# --- filter values ------------------------------------------------------------------------------


def _category_filter(value: str, pos: int) -> CategoryFilter:
    # cs, cs.* and cs* all name the whole archive; an archive is recognised by name below.
    code = value.removesuffix("*").removesuffix(".") if value.endswith("*") else value
    if not _CATEGORY_RE.fullmatch(code):
        several = "; for several, write cat:cs.CL OR cat:cs.LG" if "," in code else ""
        raise QueryError(
            f"'cat:' needs an arXiv category such as cs.CL, or a whole archive such as cs; "
            f"got '{value}'{several}",
            pos,
        )
    lowered = code.lower()
    if lowered in ARCHIVES:
        return CategoryFilter(lowered, whole_archive=True)
    # A category has no sub-levels, so cs.CL* means cs.CL.
    known = normalise_category(code) or expand_listing_code(code)
    if known is not None:
        return CategoryFilter(known)
    choices = [*ARCHIVES, *CATEGORIES]
    guess = difflib.get_close_matches(lowered, [c.lower() for c in choices], n=1, cutoff=0.6)
    hint = "."
    if guess:
        hint = f" — did you mean {next(c for c in choices if c.lower() == guess[0])}?"
    raise QueryError(
        f"unknown arXiv category '{value}'{hint} Categories look like cs.CL, math.AG or hep-th; "
        "an archive such as cs covers all of its categories",
        pos,
    )


def _id_filter(value: str, pos: int, name: str) -> IdFilter:
    ref = parse_arxiv_ref(value.rstrip(".,;:!?"))
    if ref is None:
        raise QueryError(
            f"'{name}:' needs an arXiv id such as 2403.05530 or hep-th/9901001, got '{value}'",
            pos,
        )
    return IdFilter(ref.id)


def _date_bound(name: str, value: str, pos: int, today: date) -> tuple[date, RelativeDate | None]:
    lowered = value.lower()
    rel: RelativeDate | None = None
    if lowered in ("today", "yesterday"):
        rel = RelativeDate(0 if lowered == "today" else 1, "d")
    elif m := _RELATIVE_RE.fullmatch(lowered):
        amount = int(m.group(1))
        unit = _UNITS[m.group(2)]
        if amount * _DAYS_PER_UNIT[unit] > _MAX_RELATIVE_DAYS:
            raise QueryError(f"'{name}:{value}' reaches back too far: at most 200 years", pos)
        rel = RelativeDate(amount, unit)
    if rel is not None:
        return rel.before(today), rel
    m = _ISO_RE.fullmatch(value)
    if not m:
        raise QueryError(
            f"'{name}:' needs a date such as 2024-11-01, 2024-11, 2024 or 7d, got '{value}'",
            pos,
        )
    year = int(m.group(1))
    try:
        if m.group(3) is not None:
            return date(year, int(m.group(2)), int(m.group(3))), None
        if m.group(2) is not None:
            month = int(m.group(2))
            day = 1 if name == "since" else calendar.monthrange(year, month)[1]
            return date(year, month, day), None
        return (date(year, 1, 1) if name == "since" else date(year, 12, 31)), None
    except (ValueError, calendar.IllegalMonthError):
        raise QueryError(
            f"'{name}:' needs a date such as 2024-11-01 or 7d, got '{value}', which is not a "
            "real date",
            pos,
        ) from None


def _year_range(value: str, pos: int) -> tuple[date, date]:
    m = _YEAR_RE.fullmatch(value)
    if not m:
        raise QueryError(
            f"'year:' needs a year such as 2024 or a range such as 2020-2023, got '{value}'", pos
        )
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else first
    if first < 1 or last < 1:
        raise QueryError(f"'year:{value}' is not a real year", pos)
    if last < first:
        raise QueryError(f"'year:{value}' runs backwards; write year:{last}-{first}", pos)
    return date(first, 1, 1), date(last, 12, 31)


# --- from the raw tree to a Query --------------------------------------------------------------


def _simplify(raw: _Raw) -> _Raw:
    """Flatten nested AND/OR and cancel double exclusions, so checks see the final shape."""
    if isinstance(raw, _RNot):
        inner = _simplify(raw.item)
        return inner.item if isinstance(inner, _RNot) else _RNot(inner, raw.pos)
    if isinstance(raw, _RAnd):
        flat: list[_Raw] = []
        for item in map(_simplify, raw.items):
            flat.extend(item.items if isinstance(item, _RAnd) else [item])
        return flat[0] if len(flat) == 1 else _RAnd(flat, raw.pos)
    if isinstance(raw, _ROr):
        flat = []
        for item in map(_simplify, raw.items):
            flat.extend(item.items if isinstance(item, _ROr) else [item])
        return flat[0] if len(flat) == 1 else _ROr(flat, raw.pos)
    return raw


def _is_set_filter(raw: _Raw) -> bool:
    return isinstance(raw, _RFilter) and raw.kind in ("cat", "id")


def _set_filter(raw: _Raw) -> CategoryFilter | IdFilter:
    assert isinstance(raw, _RFilter)
    assert isinstance(raw.value, CategoryFilter | IdFilter)
    return raw.value


def _filter_inside_text(raw: _RFilter) -> QueryError:
    return QueryError(
        f"'{raw.kind}:' at column {_col(raw.pos)} is a filter on the whole query, so it can't be "
        "combined with words by OR or excluded together with them; put it outside the "
        "parentheses",
        raw.pos,
    )


def _to_node(raw: _Raw) -> tuple[Node, bool]:
    """The AST node for a text subtree and whether it is positive (findable by index lookup)."""
    if isinstance(raw, _RLeaf):
        return raw.node, True
    if isinstance(raw, _RFilter):
        raise _filter_inside_text(raw)
    if isinstance(raw, _RNot):
        child, _ = _to_node(raw.item)
        return Not(child), False
    converted = [_to_node(item) for item in raw.items]
    if isinstance(raw, _RAnd):
        return And(tuple(n for n, _ in converted)), any(p for _, p in converted)
    for item, (_, positive) in zip(raw.items, converted, strict=True):
        if not positive:
            raise QueryError(
                f"the exclusion at column {_col(item.pos)} can't be one side of OR: it would "
                "match almost everything. Move it outside, as in (a OR b) -c",
                item.pos,
            )
    return Or(tuple(n for n, _ in converted)), True


def _flatten_top(items: list[_Raw]) -> list[_Raw]:
    out: list[_Raw] = []
    for item in items:
        item = _simplify(item)
        if isinstance(item, _RAnd):
            out.extend(item.items)
        else:
            out.append(item)
    return out


@dataclass(slots=True)
class _Assembly:
    """Collects the top-level conjuncts of a query into its text tree and filters."""

    today: date
    text: list[tuple[Node, bool, int]] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    date_slot: int | None = None
    dates: dict[str, _RFilter] = field(default_factory=dict)
    sort: tuple[Sort, int] | None = None

    def add(self, item: _Raw) -> None:
        if isinstance(item, _RFilter):
            self.add_filter(item)
        elif isinstance(item, _RNot) and isinstance(item.item, _RFilter):
            inner = item.item
            if inner.kind not in ("cat", "id"):
                raise QueryError(
                    f"'{inner.kind}:' at column {_col(inner.pos)} can't be excluded with '-' or "
                    "NOT; to narrow dates use since:, until: or year:",
                    item.pos,
                )
            self.add_plain(replace(_set_filter(inner), exclude=True))
        elif (
            isinstance(item, _RNot)
            and isinstance(item.item, _ROr)
            and all(_is_set_filter(x) for x in item.item.items)
        ):
            # -(cat:a OR cat:b) is neither a nor b.
            for option in item.item.items:
                self.add_plain(replace(_set_filter(option), exclude=True))
        elif isinstance(item, _ROr) and any(isinstance(x, _RFilter) for x in item.items):
            bad = [x for x in item.items if not _is_set_filter(x)]
            if bad:
                raise QueryError(
                    "cat: and id: filters can only be OR-ed with each other, as in cat:cs.CL OR "
                    f"cat:cs.LG, not with the words, exclusions or dates at column "
                    f"{_col(bad[0].pos)}",
                    bad[0].pos,
                )
            options = tuple(dict.fromkeys(_set_filter(x) for x in item.items))
            self.add_plain(AnyOf(options) if len(options) > 1 else options[0])
        else:
            node, positive = _to_node(item)
            self.text.append((node, positive, item.pos))

    def add_plain(self, f: Filter) -> None:
        if f not in self.filters:
            self.filters.append(f)

    def add_filter(self, item: _RFilter) -> None:
        if item.kind in ("cat", "id"):
            self.add_plain(_set_filter(item))
            return
        if item.kind == "sort":
            assert isinstance(item.value, str)
            value: Sort = "recent" if item.value == "recent" else "relevance"
            if self.sort is not None and self.sort[0] != value:
                raise QueryError(
                    f"'sort:' is given twice with different values (columns "
                    f"{_col(self.sort[1])} and {_col(item.pos)}); keep one",
                    item.pos,
                )
            self.sort = (value, item.pos)
            return
        earlier = self.dates.get(item.kind)
        if earlier is not None:
            raise QueryError(
                f"'{item.kind}:' is given twice (columns {_col(earlier.pos)} and "
                f"{_col(item.pos)}); keep one",
                item.pos,
            )
        other = (
            self.dates.get("year") if item.kind != "year" else next(iter(self.dates.values()), None)
        )
        if other is not None:
            raise QueryError(
                f"'year:' can't be combined with since: or until: (columns {_col(other.pos)} "
                f"and {_col(item.pos)}); use since: and until: for other ranges",
                item.pos,
            )
        self.dates[item.kind] = item
        if self.date_slot is None:
            self.date_slot = len(self.filters)

    def date_range(self) -> DateRange | None:
        if not self.dates:
            return None
        if "year" in self.dates:
            year_item = self.dates["year"]
            assert isinstance(year_item.value, tuple)
            first, last = year_item.value
            assert isinstance(first, date) and isinstance(last, date)
            return DateRange(since=first, until=last)
        since: date | None = None
        until: date | None = None
        since_rel: RelativeDate | None = None
        until_rel: RelativeDate | None = None
        if "since" in self.dates:
            v = self.dates["since"].value
            assert isinstance(v, tuple) and isinstance(v[0], date)
            since = v[0]
            since_rel = v[1] if isinstance(v[1], RelativeDate) else None
        if "until" in self.dates:
            v = self.dates["until"].value
            assert isinstance(v, tuple) and isinstance(v[0], date)
            until = v[0]
            until_rel = v[1] if isinstance(v[1], RelativeDate) else None
        if since is not None and until is not None and since > until:
            pos = self.dates["until"].pos
            raise QueryError(
                f"since: {since.isoformat()} is after until: {until.isoformat()}, so no paper "
                "can match; swap them",
                pos,
            )
        return DateRange(since, until, since_rel, until_rel)


def parse_query(text: str, *, today: date | None = None) -> Query:
    """Parse a search query; raise :class:`QueryError` with a plain-words message if invalid.

    ``today`` is the day relative dates (``since:7d``) count back from; default: today in UTC.
    The grammar, tokenisation rule and graceful cases are described in this module's docstring.
    """
    if today is None:
        today = datetime.now(UTC).date()
    stripped = text.strip()
    if len(stripped) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"too long: at most {MAX_QUERY_LENGTH} characters (this one has {len(stripped)})",
            len(text) - len(text.lstrip()) + MAX_QUERY_LENGTH,
        )
    cleaned, where = _clean_with_positions(text)
    if not cleaned.strip():
        raise QueryError("the query is empty: type some words to search for", None)
    toks = _lex(cleaned, where)
    items = _Parser(toks, today).parse()

    assembly = _Assembly(today)
    for item in _flatten_top(items):
        assembly.add(item)
    filters = list(assembly.filters)
    date_range = assembly.date_range()
    if date_range is not None:
        slot = assembly.date_slot if assembly.date_slot is not None else len(filters)
        filters.insert(slot, date_range)

    text_tree: Node | None = None
    if assembly.text:
        nodes = [n for n, _, _ in assembly.text]
        text_tree = nodes[0] if len(nodes) == 1 else And(tuple(nodes))
        if not any(p for _, p, _ in assembly.text) and not filters:
            raise QueryError(
                "the query has nothing to search for: it only excludes words. Add a word to "
                "look for, or a filter such as cat:cs.CL",
                assembly.text[0][2],
            )
    if text_tree is None and not filters:
        if assembly.sort is not None:
            raise QueryError(
                "the query has nothing to search for: sort: only orders results; add words "
                "or a filter such as cat:cs.CL",
                assembly.sort[1],
            )
        raise QueryError("the query has nothing to search for: it has no letters or digits", None)

    default_sort: Sort = "relevance" if text_tree is not None else "recent"
    sort = assembly.sort[0] if assembly.sort is not None else default_sort
    broad = text_tree is not None and _only_stopwords(text_tree)
    return Query(text_tree, tuple(filters), sort, text, broad)


def _only_stopwords(tree: Node) -> bool:
    for leaf in leaves(tree):
        if isinstance(leaf, Term):
            if leaf.prefix or not is_stopword(leaf.text):
                return False
        elif not all(is_stopword(w) for w in leaf.words):
            return False
    return True
