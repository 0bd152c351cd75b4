"""Building a topic's digest: a summary, the papers ranked with a TL;DR each, split into messages.

The output is front-end neutral: :class:`DigestMessage` holds plain text (a ``content`` line and
:class:`DigestCard` blocks, one per paper), already cut to fit Discord's limits
(:class:`DigestLimits`) with headroom for the markdown escaping a renderer adds. The Discord front
end turns a card into an embed; the console prints it with rich.

Shape of a digest:

1. the first message opens with the summary line: how many papers and the themes that stand out
   (phrases shared by several of the new abstracts, see :meth:`DigestBuilder.themes`);
2. the papers, ranked by relevance to the topic (query words in the title count more than in the
   abstract), then by recency; each card has the title, authors and categories, a one- or
   two-sentence TL;DR (:func:`bot.domain.summaries.tldr`) and links;
3. at most ``max_papers`` cards; the rest are counted in a last "and N more" card that says how
   to see them. They count as delivered: a digest that cannot shrink would never catch up;
4. an empty period gives no message, or with ``notify_empty`` a one-line notice saying why
   (:func:`explain_empty`: weekend, arXiv holiday, or nothing matched).

Each message lists the paper keys it delivers (``paper_keys``), so the poster can record them in
the same transaction as the message id (see bot/digests/service.py and docs/digests.md).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import chain, repeat
from typing import Any, Literal, TypeAlias, cast

from bot.domain.announcements import (
    ARXIV_ZONE,
    AVAILABILITY_LAG,
    announcements_between,
    skipped_between,
)
from bot.domain.keyphrases import choose_themes, preferred_spelling, topic_summary_line
from bot.domain.paper_notes import OWN_THEMES, PaperNotes, take_notes
from bot.domain.papers import Paper
from bot.domain.query import (
    And,
    Node,
    Not,
    Or,
    Phrase,
    PreparedPaper,
    Query,
    Term,
    prepare,
    stem_cached,
)
from bot.domain.text import latex_to_text, plural, shorten, shorten_authors
from bot.domain.topics import Topic

__all__ = [
    "NO_THREAD",
    "Digest",
    "DigestBuilder",
    "DigestCard",
    "DigestEntry",
    "DigestLimits",
    "DigestLink",
    "DigestMessage",
    "DigestOptions",
    "EmptyReason",
    "build_digest",
    "encode_messages",
    "explain_empty",
    "relevance",
    "without_thread",
]

EmptyKind: TypeAlias = Literal["weekend", "holiday", "nothing_matched", "no_new_papers"]


# --- limits and options -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestLimits:
    """Discord's message limits (discord-protocol.md). ``headroom`` is the share of the
    6,000-character embed budget kept free for the renderer's markdown escaping and link
    syntax."""

    content: int = 2000
    cards_per_message: int = 10
    total_chars: int = 6000
    title: int = 256
    description: int = 4096
    field_value: int = 1024
    footer: int = 2048
    headroom: float = 0.15

    @property
    def card_budget(self) -> int:
        return int(self.total_chars * (1 - self.headroom))


@dataclass(frozen=True, slots=True)
class DigestOptions:
    """How a digest is shaped. ``max_papers`` cards at most; ``description_chars`` per card
    (byline, TL;DR and links) so that several cards share one message."""

    max_papers: int = 20
    tldr_chars: int = 280
    themes: int = 4
    description_chars: int = 700
    limits: DigestLimits = field(default_factory=DigestLimits)

    def __post_init__(self) -> None:
        if self.max_papers < 1:
            raise ValueError("max_papers must be at least 1")
        if self.description_chars > self.limits.description:
            raise ValueError("description_chars exceeds the description limit")


# --- the output ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestLink:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class DigestCard:
    """One block of a message (an embed on Discord). ``paper_key`` is None for the closing
    "and N more" card."""

    title: str
    url: str | None = None
    byline: str = ""
    body: str = ""
    links: tuple[DigestLink, ...] = ()
    footer: str = ""
    paper_key: str | None = None

    def description(self, *, markdown_links: bool = True) -> str:
        """Byline, body and links as one text (links as ``[abs](url)`` or ``abs: url``)."""
        if markdown_links:
            links = " · ".join(f"[{link.label}]({link.url})" for link in self.links)
        else:
            links = " · ".join(f"{link.label}: {link.url}" for link in self.links)
        return "\n".join(part for part in (self.byline, self.body, links) if part)

    @property
    def size(self) -> int:
        """Characters this card counts towards a message's embed budget (links as markdown)."""
        return len(self.title) + len(self.description()) + len(self.footer)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "url": self.url,
            "byline": self.byline,
            "body": self.body,
            "links": [[link.label, link.url] for link in self.links],
            "footer": self.footer,
            "paper_key": self.paper_key,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DigestCard:
        return cls(
            title=str(data["title"]),
            url=data.get("url"),
            byline=str(data.get("byline", "")),
            body=str(data.get("body", "")),
            links=tuple(DigestLink(str(a), str(b)) for a, b in data.get("links", [])),
            footer=str(data.get("footer", "")),
            paper_key=data.get("paper_key"),
        )


@dataclass(frozen=True, slots=True)
class DigestMessage:
    """One message of a digest: a plain-text line and up to ten cards.

    ``paper_keys`` are the papers this message delivers (its cards, and on the last message the
    papers counted in "and N more"); a notice delivers none.
    """

    content: str
    cards: tuple[DigestCard, ...] = ()
    paper_keys: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "cards": [card.to_json() for card in self.cards],
            "paper_keys": list(self.paper_keys),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DigestMessage:
        return cls(
            content=str(data["content"]),
            cards=tuple(DigestCard.from_json(c) for c in data.get("cards", [])),
            paper_keys=tuple(str(k) for k in data.get("paper_keys", [])),
        )


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# A str as _encode writes it (the C function the encoder itself calls for a str).
_encode_str: Callable[[str], str] = json.encoder.encode_basestring


# A day's cards recur in many digests (a builder makes one card per paper, whatever the topic):
# their JSON by the card's id, with the card held so that no other object takes its id meanwhile.
_CARD_JSON: dict[int, tuple[DigestCard, str]] = {}
_CARD_JSON_MAX = 20_000


def _card_json(card: DigestCard) -> str:
    found = _CARD_JSON.get(id(card))
    if found is not None and found[0] is card:
        return found[1]
    if len(_CARD_JSON) >= _CARD_JSON_MAX:
        _CARD_JSON.clear()
    text = _encode(card.to_json())
    _CARD_JSON[id(card)] = (card, text)
    return text


def encode_messages(messages: Sequence[DigestMessage]) -> str:
    """``messages`` as the JSON list of :meth:`DigestMessage.to_json` a claim stores, read back
    by :meth:`DigestMessage.from_json`."""
    parts = [
        f'{{"content":{_encode_str(m.content)},"cards":[{",".join(map(_card_json, m.cards))}],'
        f'"paper_keys":[{",".join(map(_encode_str, m.paper_keys))}]}}'
        for m in messages
    ]
    return "[" + ",".join(parts) + "]"


@dataclass(frozen=True, slots=True)
class EmptyReason:
    kind: EmptyKind
    text: str  # one clause, e.g. "arXiv does not announce on Friday and Saturday"


@dataclass(frozen=True, slots=True)
class DigestEntry:
    paper: Paper
    score: float
    tldr: str


@dataclass(frozen=True, slots=True)
class Digest:
    """A built digest. ``paper_keys`` are every paper it delivers: shown, then counted."""

    topic_name: str
    summary: str
    themes: tuple[str, ...]
    entries: tuple[DigestEntry, ...]
    overflow: tuple[str, ...]
    messages: tuple[DigestMessage, ...]
    empty_reason: EmptyReason | None = None
    thread_name: str = ""

    @property
    def count(self) -> int:
        return len(self.entries) + len(self.overflow)

    @property
    def paper_keys(self) -> tuple[str, ...]:
        return tuple(e.paper.key for e in self.entries) + self.overflow

    @property
    def is_empty(self) -> bool:
        return not self.entries and not self.overflow


# --- why a digest is empty ----------------------------------------------------------------------


def explain_empty(
    window_start: datetime,
    window_end: datetime,
    new_papers: int,
    *,
    extra_holidays: Iterable[date] = (),
) -> EmptyReason:
    """Why a digest covering ``(window_start, window_end]`` has nothing, given how many papers
    entered the catalog in that span (``new_papers``).

    Papers reach the catalog :data:`~bot.domain.announcements.AVAILABILITY_LAG` after arXiv
    announces them, so the announcements that fed this window are those in the window shifted
    back by that lag.
    """
    if new_papers > 0:
        return EmptyReason(
            "nothing_matched",
            f"none of the {plural(new_papers, 'new paper')} in the catalog matched this topic",
        )
    start = window_start - AVAILABILITY_LAG
    end = window_end - AVAILABILITY_LAG
    holidays = list(extra_holidays)
    if not announcements_between(start, end, extra_holidays=holidays):
        skipped = skipped_between(start, end, extra_holidays=holidays)
        if skipped:
            names = ", ".join(dict.fromkeys(name for _, name in skipped))
            return EmptyReason("holiday", f"arXiv holiday ({names}): no announcement")
        if _spans_weekend(start, end):
            return EmptyReason(
                "weekend", "weekend: arXiv announces nothing on Friday and Saturday evenings"
            )
        return EmptyReason("no_new_papers", "no arXiv announcement since the last digest")
    return EmptyReason(
        "no_new_papers",
        "no new papers reached the catalog yet; late ones come in the next digest",
    )


def _spans_weekend(start: datetime, end: datetime) -> bool:
    first = start.astimezone(ARXIV_ZONE).date()
    last = end.astimezone(ARXIV_ZONE).date()
    day = first
    while day <= last:
        if day.weekday() in (4, 5):
            return True
        day = date.fromordinal(day.toordinal() + 1)
    return False


# --- relevance ----------------------------------------------------------------------------------

_TITLE_WEIGHT = 3.0
_ABSTRACT_WEIGHT = 1.0
_OTHER_WEIGHT = 0.5


def _positive_leaves(node: Node) -> list[Term | Phrase]:
    if isinstance(node, Term | Phrase):
        return [node]
    if isinstance(node, Not):
        return []
    assert isinstance(node, And | Or)
    out: list[Term | Phrase] = []
    for child in node.children:
        out.extend(_positive_leaves(child))
    return out


@dataclass(frozen=True, slots=True)
class _Leaf:
    """A positive query word or phrase, stemmed once."""

    field: str | None
    stems: tuple[str, ...]  # the phrase's stems, or the word's stem
    prefix: str | None  # a prefix word's text

    def hits(self, stems: tuple[str, ...], stem_set: frozenset[str]) -> bool:
        if self.prefix is not None:
            return any(map(str.startswith, stem_set, repeat(self.prefix)))
        target = self.stems
        if len(target) == 1:
            return target[0] in stem_set
        if not stem_set.issuperset(target):
            return False
        # Where the first word is, found in C, then the rest compared there.
        first = target[0]
        k = len(target)
        i = stems.index(first)
        while True:
            if stems[i : i + k] == target:
                return True
            try:
                i = stems.index(first, i + 1)
            except ValueError:
                return False


@lru_cache(maxsize=4096)
def _leaves(query: Query) -> tuple[_Leaf, ...]:
    if query.text_tree is None:
        return ()
    out = []
    for leaf in _positive_leaves(query.text_tree):
        if isinstance(leaf, Term):
            out.append(
                _Leaf(leaf.field, (stem_cached(leaf.text),), leaf.text if leaf.prefix else None)
            )
        else:
            out.append(_Leaf(leaf.field, tuple(map(stem_cached, leaf.words)), None))
    return tuple(out)


def _plan(query: Query) -> tuple[tuple[str, ...], tuple[_Leaf, ...]]:
    """The query's positive leaves split in two: the stems of its plain words (no field, no
    prefix), scored by one lookup in a paper's :func:`_word_weights`, and the other leaves
    (phrases, fields, prefixes), scored by :func:`_score`."""
    words: list[str] = []
    rest: list[_Leaf] = []
    for leaf in _leaves(query):
        if leaf.field is None and leaf.prefix is None and len(leaf.stems) == 1:
            words.append(leaf.stems[0])
        else:
            rest.append(leaf)
    return tuple(words), tuple(rest)


def _word_weights(doc: PreparedPaper) -> dict[str, float]:
    """What a plain query word scores in ``doc`` (see :func:`_score`), by its stem: 3 in the
    title plus 1 in the abstract."""
    weights: dict[str, float] = {}
    for segments, weight in ((doc.title, _TITLE_WEIGHT), (doc.abstract, _ABSTRACT_WEIGHT)):
        seen: set[str] = set()
        for seg in segments:
            seen |= seg.stem_set
        for word in seen:
            weights[word] = weights.get(word, 0.0) + weight
    return weights


_NOTHING = repeat(0.0)  # the default of every missing word's weight (map(weights.get, ...))


def relevance(query: Query, paper: Paper | PreparedPaper) -> float:
    """How strongly ``paper`` is about ``query``: each positive query word or phrase scores 3 in
    the title, 1 in the abstract, 0.5 in names and affiliations. 0 for a filters-only topic."""
    if query.text_tree is None:
        return 0.0
    return _score(_leaves(query), paper if isinstance(paper, PreparedPaper) else prepare(paper))


def _in(leaf: _Leaf, segments: tuple[Any, ...]) -> bool:
    """Whether ``leaf`` is in one of the field values ``segments``."""
    if leaf.prefix is None and len(leaf.stems) == 1:  # a word: one set lookup each
        target = leaf.stems[0]
        if len(segments) == 1:  # a title, an abstract
            return target in segments[0].stem_set
        return any(target in seg.stem_set for seg in segments)
    if len(segments) == 1:
        only = segments[0]
        return leaf.hits(only.stems, only.stem_set)
    return any(leaf.hits(seg.stems, seg.stem_set) for seg in segments)


def _score(leaves: tuple[_Leaf, ...], doc: PreparedPaper) -> float:
    score = 0.0
    for leaf in leaves:
        field_ = leaf.field
        if field_ == "author" or field_ == "org":
            if _in(leaf, doc.author if field_ == "author" else doc.org):
                score += _OTHER_WEIGHT
            continue
        if (field_ is None or field_ == "title") and _in(leaf, doc.title):
            score += _TITLE_WEIGHT
        if (field_ is None or field_ == "abstract") and _in(leaf, doc.abstract):
            score += _ABSTRACT_WEIGHT
    return score


def _when(paper: Paper) -> datetime:
    moment = paper.published or paper.updated or paper.added_at
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_Phrases: TypeAlias = tuple[frozenset[str], frozenset[str], frozenset[str]]  # 1, 2, 3 words
_FEW = 16  # up to this many papers, the phrases a digest's papers share are found by set algebra


# --- building -----------------------------------------------------------------------------------


# (paper key, version, hash of the abstract): what the caches go by. A str caches its hash, so
# the hash costs once per loaded abstract, and an abstract edited under one version (a feed that
# is not arXiv) is not mistaken for the old one.
_Ident: TypeAlias = tuple[str, int | None, int]


@dataclass(frozen=True, slots=True)
class _Asked:
    """What a builder keeps of a query it was asked about, by the query object's id (the query
    held, so no other object takes its id meanwhile): hashing a query walks its whole tree."""

    query: Query
    tree: int  # the text tree's number among those the builder has seen: equal trees, equal
    words: tuple[str, ...]  # see _plan
    rest: tuple[_Leaf, ...]


@dataclass(frozen=True, slots=True)
class _Shared:
    """What every digest of one query over the same papers has in common: the ranking (as
    positions in the papers given), the cards shown, the overflow, themes and summary line.
    Subscriptions sharing a topic (the ready-made ones, popular themes) build it once."""

    shown: tuple[tuple[float, int], ...]  # (score, position) of the papers shown, best first
    entries: tuple[DigestEntry, ...]  # the papers shown, as objects of ``source``
    source: Sequence[Paper]  # the batch it was built from
    cards: tuple[DigestCard, ...]
    sizes: tuple[int, ...]  # each card's DigestCard.size
    overflow: tuple[str, ...]
    count: int
    themes: tuple[str, ...]
    summary: str
    oldest: datetime


class DigestBuilder:
    """Builds digests, caching per-paper work (TL;DR, phrases) across the digests of one batch.

    One builder per scheduler tick or benchmark run: building 10,000 digests over one day's
    papers then costs one TL;DR, one phrase scan and one card per distinct paper, one ranking
    per distinct (query text, papers), plus packing the messages of each digest.
    """

    def __init__(self, options: DigestOptions | None = None) -> None:
        self.options = options or DigestOptions()
        self._notes: dict[_Ident, PaperNotes] = {}
        self._phrases: dict[_Ident, _Phrases] = {}  # the abstract's phrase keys by length
        self._recurring: dict[_Ident, _Phrases] = {}  # those another primed paper has
        self._docs: dict[_Ident, PreparedPaper] = {}
        self._stamps: dict[_Ident, tuple[float, datetime]] = {}
        # For ranking: a paper's plain-word weights and minus its timestamp (newest first).
        self._rankable: dict[_Ident, tuple[dict[str, float], float]] = {}
        self._sizes: dict[_Ident, int] = {}
        self._asked: dict[int, _Asked] = {}
        self._trees: dict[Node | None, int] = {}
        self._cards: dict[_Ident, DigestCard] = {}
        self._themes: dict[frozenset[_Ident], tuple[str, ...]] = {}
        self._shared: dict[tuple[int, tuple[_Ident, ...]], _Shared] = {}
        # The primed papers' keys by identity (a Paper is immutable), so they are not recomputed;
        # the papers are held, so no other object can have one of their ids meanwhile.
        self._primed: dict[int, _Ident] = {}
        self._primed_papers: list[Paper] = []

    # -- per paper -------------------------------------------------------------------------------

    def _ident(self, paper: Paper) -> _Ident:
        known = self._primed.get(id(paper))
        return known if known is not None else (paper.key, paper.version, hash(paper.abstract))

    def _idents(self, papers: Sequence[Paper]) -> tuple[_Ident, ...]:
        known = list(map(self._primed.get, map(id, papers)))
        if None in known:
            return tuple(self._ident(p) for p in papers)
        return cast(tuple[_Ident, ...], tuple(known))  # no None left

    def knows(self, paper: Paper) -> bool:
        """Whether the builder has the paper's notes already (taken or remembered)."""
        return self._ident(paper) in self._notes

    def remember(self, paper: Paper, notes: PaperNotes) -> None:
        """Use ``notes`` (stored when the paper entered the catalog, and checked with
        :meth:`PaperNotes.fits`) instead of taking them again."""
        ident = self._ident(paper)
        self._notes[ident] = notes
        self._phrases.pop(ident, None)

    def notes(self, paper: Paper) -> PaperNotes:
        """The paper's notes: its TL;DR and phrases (taken now unless known)."""
        return self._notes_of(paper, self._ident(paper))

    def _notes_of(self, paper: Paper, ident: _Ident) -> PaperNotes:
        found = self._notes.get(ident)
        if found is None:
            found = self._notes[ident] = take_notes(paper, tldr_chars=self.options.tldr_chars)
        return found

    def tldr(self, paper: Paper) -> str:
        return self._notes_of(paper, self._ident(paper)).tldr

    def _tldr_of(self, paper: Paper, ident: _Ident) -> str:
        return self._notes_of(paper, ident).tldr

    def _paper_phrases(self, paper: Paper, ident: _Ident | None = None) -> _Phrases:
        key = ident or self._ident(paper)
        found = self._phrases.get(key)
        if found is None:
            one, two, three = self._notes_of(paper, key).phrases
            found = self._phrases[key] = (frozenset(one), frozenset(two), frozenset(three))
        return found

    def _doc(self, paper: Paper, ident: _Ident | None = None) -> PreparedPaper:
        key = ident or self._ident(paper)
        found = self._docs.get(key)
        if found is None:
            found = self._docs[key] = prepare(paper)
        return found

    def _stamp(self, paper: Paper, ident: _Ident) -> tuple[float, datetime]:
        """When the paper came out (see ``_when``), and as a timestamp."""
        found = self._stamps.get(ident)
        if found is None:
            moment = _when(paper)
            found = self._stamps[ident] = (moment.timestamp(), moment)
        return found

    def _rankable_of(self, paper: Paper, ident: _Ident) -> tuple[dict[str, float], float]:
        found = self._rankable.get(ident)
        if found is None:
            weights = _word_weights(self._doc(paper, ident))
            found = self._rankable[ident] = (weights, -self._stamp(paper, ident)[0])
        return found

    def prime(self, papers: Iterable[Paper]) -> None:
        """Do the per-paper work for a batch of digests at once: TL;DRs, prepared text, and
        phrases, noting of each paper the phrases another paper of the batch shares: a theme of
        three or more papers recurs, so only those can be one (smaller digests use them all)."""
        given = list(papers)
        idents = [(p.key, p.version, hash(p.abstract)) for p in given]
        self._primed_papers.extend(given)
        for paper, ident in zip(given, idents, strict=True):
            self._primed[id(paper)] = ident
        batch = list(dict(zip(idents, given, strict=True)).items())
        counts: Counter[str] = Counter()
        for ident, paper in batch:
            self._tldr_of(paper, ident)
            self._doc(paper, ident)
            counts.update(chain.from_iterable(self._paper_phrases(paper, ident)))
        recurring = frozenset(k for k, c in counts.items() if c > 1)
        for ident, _ in batch:
            one, two, three = self._phrases[ident]
            self._recurring[ident] = (one & recurring, two & recurring, three & recurring)

    # -- per digest ------------------------------------------------------------------------------

    def _asked_of(self, query: Query) -> _Asked:
        found = self._asked.get(id(query))
        if found is None or found.query is not query:
            words, rest = _plan(query)
            tree = self._trees.setdefault(query.text_tree, len(self._trees))
            found = self._asked[id(query)] = _Asked(query, tree, words, rest)
        return found

    def themes(self, papers: Sequence[Paper]) -> tuple[str, ...]:
        """Phrases that recur across the abstracts of ``papers``, most salient first.

        Counted once per abstract; a phrase needs two papers when there are three or more;
        scored by count x log(1 + n/count) with a bonus for 2-3 word phrases (as
        :func:`bot.domain.keyphrases.key_phrases` does without a background); a phrase inside a
        chosen one is dropped, as is a fragment mostly seen inside a longer phrase. Shown in the
        spelling most abstracts use.
        """
        return self._themes_of(papers, [self._ident(p) for p in papers])

    def _themes_of(self, papers: Sequence[Paper], idents: Sequence[_Ident]) -> tuple[str, ...]:
        limit = self.options.themes
        if limit <= 0 or not papers:
            return ()
        cache_key = frozenset(idents)
        cached = self._themes.get(cache_key)
        if cached is not None:
            return cached
        n = len(papers)
        if n == 1 and limit <= OWN_THEMES:  # taken with the paper's notes
            result = self._notes_of(papers[0], idents[0]).themes[:limit]
        elif n < 3:
            per_paper = [self._paper_phrases(p, i) for p, i in zip(papers, idents, strict=True)]
            counts = [Counter(chain.from_iterable(p[w] for p in per_paper)) for w in range(3)]
            chosen = choose_themes(counts, n, limit)
            result = tuple(self._readable(" ".join(w), papers, idents, per_paper) for w in chosen)
        else:
            result = self._recurring_themes(papers, idents, limit)
        self._themes[cache_key] = result
        return result

    def _recurring_themes(
        self, papers: Sequence[Paper], idents: Sequence[_Ident], limit: int
    ) -> tuple[str, ...]:
        """Themes of three or more papers: phrases in two of them at least (with the papers
        primed, only the phrases another paper of the batch has are counted)."""
        recurring = self._recurring
        per_paper = [
            recurring.get(i) or self._paper_phrases(p, i)
            for p, i in zip(papers, idents, strict=True)
        ]
        counts: list[Mapping[str, int]]
        if len(per_paper) <= _FEW:  # the phrases two papers share, by set operations, counted
            counts = []
            for w in range(3):
                seen: set[str] = set()
                shared: set[str] = set()
                for found in per_paper:
                    shared |= seen & found[w]
                    seen |= found[w]
                counts.append({k: sum(k in found[w] for found in per_paper) for k in shared})
        else:
            counts = [Counter(chain.from_iterable(p[w] for p in per_paper)) for w in range(3)]
        chosen = choose_themes(counts, len(papers), limit, min_count=2)
        return tuple(self._readable(" ".join(w), papers, idents, per_paper) for w in chosen)

    def _readable(
        self,
        key: str,
        papers: Sequence[Paper],
        idents: Sequence[_Ident],
        per_paper: list[_Phrases],
    ) -> str:
        spellings: Counter[str] = Counter()
        seen = 0
        words = min(2, key.count(" "))
        for paper, ident, found in zip(papers, idents, per_paper, strict=True):
            if key not in found[words]:
                continue
            spelling = self._notes_of(paper, ident).phrases[words].get(key)
            if spelling is not None:
                spellings[spelling] += 1
                seen += 1
                if seen >= 3:
                    break
        return preferred_spelling(spellings) or key

    def rank(self, query: Query, papers: Iterable[Paper]) -> list[tuple[float, Paper]]:
        """``papers`` best first: relevance, then newest, then key (deterministic)."""
        batch = list(papers)
        idents = [self._ident(p) for p in batch]
        return [(score, batch[i]) for score, i in self._rank(query, batch, idents)]

    def _rank(
        self, query: Query, papers: Sequence[Paper], idents: Sequence[_Ident]
    ) -> list[tuple[float, int]]:
        """(score, position) of ``papers`` best first, one per key (its last position)."""
        unique = {ident[0]: i for i, ident in enumerate(idents)}
        if query.text_tree is None:
            ordered = sorted(
                (-self._stamp(papers[i], idents[i])[0], key, i) for key, i in unique.items()
            )
            return [(0.0, i) for _, _, i in ordered]
        asked = self._asked_of(query)
        words, rest = asked.words, asked.rest
        rankable = self._rankable
        rows: list[tuple[float, float, str, int]] = []
        for key, i in unique.items():
            ident = idents[i]
            weights, newest = rankable.get(ident) or self._rankable_of(papers[i], ident)
            score = sum(map(weights.get, words, _NOTHING), 0.0)
            if rest:
                score += _score(rest, self._doc(papers[i], ident))
            rows.append((-score, newest, key, i))
        rows.sort()
        return [(-score, i) for score, _, _, i in rows]

    def card(self, paper: Paper, summary: str) -> DigestCard:
        """The paper's card (cached per paper: it does not depend on the topic)."""
        return self._card_of(paper, self._ident(paper), summary)

    def _card_of(self, paper: Paper, ident: _Ident, summary: str) -> DigestCard:
        found = self._cards.get(ident)
        if found is None:
            found = self._cards[ident] = self._card(paper, summary)
        return found

    def _card(self, paper: Paper, summary: str) -> DigestCard:
        limits = self.options.limits
        title = shorten(latex_to_text(paper.title) or paper.key, limits.title)
        cats = ", ".join(paper.categories[:3])
        if len(paper.categories) > 3:
            cats += f" +{len(paper.categories) - 3}"
        byline = shorten_authors(paper.author_names, 120)
        if cats:
            byline = f"{byline} · {cats}" if byline else cats
        links: list[DigestLink] = []
        if paper.abs_link:
            links.append(DigestLink("abs", paper.abs_link))
        if paper.pdf_link:
            links.append(DigestLink("pdf", paper.pdf_link))
        if paper.doi and not paper.arxiv_id:
            links.append(DigestLink("doi", f"https://doi.org/{paper.doi}"))
        when = paper.published or paper.updated
        footer = " · ".join(
            part
            for part in (
                f"{paper.key}{paper.version_label or ''}" if paper.arxiv_id else paper.key,
                when.date().isoformat() if when else "",
            )
            if part
        )
        fixed = len(byline) + sum(len(link.label) + len(link.url) + 7 for link in links) + 2
        body = shorten(summary, max(0, self.options.description_chars - fixed))
        return DigestCard(
            title=title,
            url=paper.abs_link,
            byline=shorten(byline, 300),
            body=body,
            links=tuple(links),
            footer=shorten(footer, limits.footer),
            paper_key=paper.key,
        )

    def _share(self, query: Query, papers: Sequence[Paper], idents: tuple[_Ident, ...]) -> _Shared:
        key = (self._asked_of(query).tree, idents)
        found = self._shared.get(key)
        if found is not None:
            return found
        options = self.options
        ranked = self._rank(query, papers, idents)
        shown = tuple(ranked[: options.max_papers])
        overflow = tuple(idents[i][0] for _, i in ranked[options.max_papers :])
        cards = tuple(
            self._card_of(papers[i], idents[i], self._tldr_of(papers[i], idents[i]))
            for _, i in shown
        )
        sizes = self._sizes
        card_sizes = tuple(
            sizes.get(idents[i]) or sizes.setdefault(idents[i], card.size)
            for card, (_, i) in zip(cards, shown, strict=True)
        )
        themes = self._themes_of([papers[i] for _, i in ranked], [idents[i] for _, i in ranked])
        oldest = min(self._stamp(papers[i], idents[i])[1] for _, i in ranked)
        found = self._shared[key] = _Shared(
            shown=shown,
            entries=tuple(
                DigestEntry(papers[i], score, self._tldr_of(papers[i], idents[i]))
                for score, i in shown
            ),
            source=papers,
            cards=cards,
            sizes=card_sizes,
            overflow=overflow,
            count=len(ranked),
            themes=themes,
            summary=topic_summary_line(len(ranked), list(themes)),
            oldest=oldest,
        )
        return found

    def build(
        self,
        topic: Topic,
        papers: Iterable[Paper],
        *,
        now: datetime,
        empty_reason: EmptyReason | None = None,
        notify_empty: bool = False,
        more_hint: str | None = None,
    ) -> Digest:
        """The digest of ``papers`` (already the new, undelivered ones matching ``topic``).

        ``more_hint`` says how to see the papers beyond ``max_papers`` (default: a search for the
        topic's query). With no papers: no messages, or with ``notify_empty`` a one-line notice
        built from ``empty_reason``.
        """
        options = self.options
        batch = papers if isinstance(papers, list | tuple) else list(papers)
        day = now.astimezone(UTC).date().isoformat()
        thread_name = shorten(f"{topic.name} · {day}", 100)
        if not batch:
            messages: tuple[DigestMessage, ...] = ()
            if notify_empty:
                why = empty_reason.text if empty_reason else "nothing new"
                line = f"{topic.name}: no new papers — {why}."
                messages = (DigestMessage(content=shorten(line, options.limits.content)),)
            return Digest(
                topic_name=topic.name,
                summary=topic_summary_line(0, []),
                themes=(),
                entries=(),
                overflow=(),
                messages=messages,
                empty_reason=empty_reason,
                thread_name=thread_name,
            )
        idents = self._idents(batch)
        shared = self._share(topic.query, batch, idents)
        entries = shared.entries
        if shared.source is not batch:  # an equal batch: its own paper objects
            entries = tuple(
                DigestEntry(batch[i], e.score, e.tldr)
                for e, (_, i) in zip(entries, shared.shown, strict=True)
            )
        overflow = shared.overflow
        cards: Sequence[DigestCard] = shared.cards
        sizes: Sequence[int] = shared.sizes
        if overflow:
            oldest = shared.oldest
            hint = more_hint or _search_hint(topic, oldest if oldest.year > 1 else now)
            more = DigestCard(
                title=f"and {len(overflow)} more",
                body=shorten(hint, options.description_chars),
            )
            cards = (*cards, more)
            sizes = (*sizes, more.size)
        messages = self._pack(topic.name, shared.summary, cards, sizes, overflow)
        return Digest(
            topic_name=topic.name,
            summary=shared.summary,
            themes=shared.themes,
            entries=entries,
            overflow=overflow,
            messages=messages,
            thread_name=thread_name,
        )

    def _pack(
        self,
        name: str,
        summary: str,
        cards: Sequence[DigestCard],
        sizes: Sequence[int],
        overflow: tuple[str, ...],
    ) -> tuple[DigestMessage, ...]:
        """``cards`` (of ``sizes``) in messages: up to ten a message, within the budget."""
        limits = self.options.limits
        budget = limits.card_budget
        most = limits.cards_per_message
        groups: list[Sequence[DigestCard]] = []
        start = used = 0
        for end, size in enumerate(sizes):
            if end > start and (end - start >= most or used + size > budget):
                groups.append(cards[start:end])
                start = end
                used = 0
            used += size
        groups.append(cards[start:])
        total = len(groups)
        messages: list[DigestMessage] = []
        for i, group in enumerate(groups):
            content = f"{name} · {summary}" if i == 0 else f"{name} · continued"
            if total > 1:
                content += f" ({i + 1}/{total})"
            keys = tuple(c.paper_key for c in group if c.paper_key is not None)
            if i == total - 1:
                keys += overflow
            messages.append(
                DigestMessage(
                    content=shorten(content, limits.content), cards=tuple(group), paper_keys=keys
                )
            )
        return tuple(messages)


# Added to each message of a long digest that should have gone in a thread and could not.
NO_THREAD = "(no thread: the bot may not create threads in this channel)"


def without_thread(message: DigestMessage, limits: DigestLimits | None = None) -> DigestMessage:
    """A continuation of a digest posted in the channel because no thread could be started:
    its line says so (shortened to fit)."""
    content = shorten(f"{message.content} · {NO_THREAD}", (limits or DigestLimits()).content)
    return DigestMessage(content=content, cards=message.cards, paper_keys=message.paper_keys)


def _search_hint(topic: Topic, oldest: datetime) -> str:
    query = topic.canonical_query
    has_since = any(part.startswith(("since:", "year:")) for part in query.split())
    since = "" if has_since else f" since:{oldest.astimezone(UTC).date().isoformat()}"
    return f"See them all with /search {query}{since}, or subscribe more often."


def build_digest(
    topic: Topic,
    papers: Iterable[Paper],
    *,
    now: datetime,
    options: DigestOptions | None = None,
    empty_reason: EmptyReason | None = None,
    notify_empty: bool = False,
    more_hint: str | None = None,
) -> Digest:
    """One digest (see :class:`DigestBuilder`; use one builder for many digests)."""
    return DigestBuilder(options).build(
        topic,
        papers,
        now=now,
        empty_reason=empty_reason,
        notify_empty=notify_empty,
        more_hint=more_hint,
    )
