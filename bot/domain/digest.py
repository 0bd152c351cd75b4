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

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Literal, TypeAlias

from bot.domain.announcements import (
    ARXIV_ZONE,
    AVAILABILITY_LAG,
    announcements_between,
    skipped_between,
)
from bot.domain.keyphrases import document_frequencies, topic_summary_line
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
    stem,
)
from bot.domain.summaries import tldr
from bot.domain.text import latex_to_text, plural, shorten, shorten_authors
from bot.domain.topics import Topic

__all__ = [
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
    "explain_empty",
    "relevance",
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
            return any(s.startswith(self.prefix) for s in stem_set)
        target = self.stems
        if len(target) == 1:
            return target[0] in stem_set
        if not stem_set.issuperset(target):
            return False
        k = len(target)
        return any(stems[i : i + k] == target for i in range(len(stems) - k + 1))


@lru_cache(maxsize=4096)
def _leaves(query: Query) -> tuple[_Leaf, ...]:
    if query.text_tree is None:
        return ()
    out = []
    for leaf in _positive_leaves(query.text_tree):
        if isinstance(leaf, Term):
            out.append(_Leaf(leaf.field, (stem(leaf.text),), leaf.text if leaf.prefix else None))
        else:
            out.append(_Leaf(leaf.field, tuple(stem(w) for w in leaf.words), None))
    return tuple(out)


def relevance(query: Query, paper: Paper | PreparedPaper) -> float:
    """How strongly ``paper`` is about ``query``: each positive query word or phrase scores 3 in
    the title, 1 in the abstract, 0.5 in names and affiliations. 0 for a filters-only topic."""
    if query.text_tree is None:
        return 0.0
    doc = paper if isinstance(paper, PreparedPaper) else prepare(paper)
    score = 0.0
    for leaf in _leaves(query):
        if leaf.field == "author" or leaf.field == "org":
            segments = doc.author if leaf.field == "author" else doc.org
            if any(leaf.hits(s.stems, s.stem_set) for s in segments):
                score += _OTHER_WEIGHT
            continue
        if leaf.field in (None, "title") and any(leaf.hits(s.stems, s.stem_set) for s in doc.title):
            score += _TITLE_WEIGHT
        if leaf.field in (None, "abstract") and any(
            leaf.hits(s.stems, s.stem_set) for s in doc.abstract
        ):
            score += _ABSTRACT_WEIGHT
    return score


def _when(paper: Paper) -> datetime:
    moment = paper.published or paper.updated or paper.added_at
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- themes -------------------------------------------------------------------------------------

_LENGTH_BONUS = (1.0, 2.0, 2.5)


def _contains(long_: tuple[str, ...], short: tuple[str, ...]) -> bool:
    k = len(short)
    return any(long_[i : i + k] == short for i in range(len(long_) - k + 1))


def _acronym_of(short: tuple[str, ...], long_: tuple[str, ...]) -> bool:
    """Whether one-word ``short`` is the initials of ``long_`` ("llm", "large language model")."""
    if len(short) != 1 or len(long_) < 2:
        return False
    initials = "".join(w[0] for w in long_)
    return short[0] in (initials, initials + "s")


_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


@dataclass(frozen=True, slots=True)
class _Words:
    """An abstract's words as written and lower-cased, and where each lower-cased word is."""

    original: tuple[str, ...]
    lower: tuple[str, ...]
    at: dict[str, list[int]]

    @classmethod
    def of(cls, text: str) -> _Words:
        original = tuple(_WORD.findall(text))
        lower = tuple(w.lower() for w in original)
        at: dict[str, list[int]] = {}
        for i, w in enumerate(lower):
            at.setdefault(w, []).append(i)
        return cls(original, lower, at)

    def spelling(self, key: str) -> str | None:
        """How the text writes the phrase ``key`` (lower case, last word singular) first."""
        words = key.split()
        n = len(words)
        last = words[-1]
        plurals = {last, last + "s", last + "es"}
        if last.endswith("y"):
            plurals.add(last[:-1] + "ies")
        if n == 1:
            found = [i for form in plurals for i in self.at.get(form, ())]
            return self.original[min(found)] if found else None
        head = words[:-1]
        for i in self.at.get(words[0], ()):
            if (
                i + n <= len(self.lower)
                and list(self.lower[i : i + n - 1]) == head
                and self.lower[i + n - 1] in plurals
            ):
                return " ".join(self.original[i : i + n])
        return None


# --- building -----------------------------------------------------------------------------------


class DigestBuilder:
    """Builds digests, caching per-paper work (TL;DR, phrases) across the digests of one batch.

    One builder per scheduler tick or benchmark run: building 10,000 digests over one day's
    papers then costs one TL;DR and one phrase scan per distinct paper, plus a little per digest.
    """

    def __init__(self, options: DigestOptions | None = None) -> None:
        self.options = options or DigestOptions()
        self._tldr: dict[tuple[str, int | None, str], str] = {}
        self._phrases: dict[tuple[str, int | None], frozenset[str]] = {}
        self._recurring: dict[tuple[str, int | None], frozenset[str]] = {}
        self._docs: dict[tuple[str, int | None], PreparedPaper] = {}
        self._abstract_words: dict[tuple[str, int | None], _Words] = {}
        self._sizes: dict[int, int] = {}
        self._cards: dict[tuple[str, int | None], DigestCard] = {}
        self._themes: dict[frozenset[tuple[str, int | None]], tuple[str, ...]] = {}

    # -- per paper -------------------------------------------------------------------------------

    def tldr(self, paper: Paper) -> str:
        key = (paper.key, paper.version, paper.abstract[:64])
        found = self._tldr.get(key)
        if found is None:
            found = self._tldr[key] = tldr(paper.abstract, max_chars=self.options.tldr_chars)
        return found

    def _paper_phrases(self, paper: Paper) -> frozenset[str]:
        key = (paper.key, paper.version)
        found = self._phrases.get(key)
        if found is None:
            found = self._phrases[key] = frozenset(document_frequencies([paper.abstract]))
        return found

    def _doc(self, paper: Paper) -> PreparedPaper:
        key = (paper.key, paper.version)
        found = self._docs.get(key)
        if found is None:
            found = self._docs[key] = prepare(paper)
        return found

    def prime(self, papers: Iterable[Paper]) -> None:
        """Do the per-paper work for a batch of digests at once: TL;DRs, prepared text, and
        phrases, noting of each paper the phrases another paper of the batch shares: a theme of
        three or more papers recurs, so only those can be one (smaller digests use them all)."""
        batch = list({(p.key, p.version): p for p in papers}.values())
        counts: Counter[str] = Counter()
        for paper in batch:
            self.tldr(paper)
            self._doc(paper)
            counts.update(self._paper_phrases(paper))
        recurring = frozenset(k for k, c in counts.items() if c > 1)
        for paper in batch:
            key = (paper.key, paper.version)
            self._recurring[key] = self._phrases[key] & recurring

    # -- per digest ------------------------------------------------------------------------------

    def themes(self, papers: Sequence[Paper]) -> tuple[str, ...]:
        """Phrases that recur across the abstracts of ``papers``, most salient first.

        Counted once per abstract; a phrase needs two papers when there are three or more;
        scored by count x log(1 + n/count) with a bonus for 2-3 word phrases (as
        :func:`bot.domain.keyphrases.key_phrases` does without a background); a phrase inside a
        chosen one is dropped, as is a fragment mostly seen inside a longer phrase. Shown in the
        spelling most abstracts use.
        """
        limit = self.options.themes
        if limit <= 0 or not papers:
            return ()
        cache_key = frozenset((p.key, p.version) for p in papers)
        cached = self._themes.get(cache_key)
        if cached is not None:
            return cached
        per_paper = [self._paper_phrases(p) for p in papers]
        if len(papers) >= 3:  # a theme needs two papers: phrases no other paper has are out
            per_paper = [
                self._recurring.get((p.key, p.version), found)
                for p, found in zip(papers, per_paper, strict=True)
            ]
        n = len(per_paper)
        df: Counter[str] = Counter()
        for found in per_paper:
            df.update(found)
        min_df = 1 if n < 3 else 2
        candidates = {k: c for k, c in df.items() if c >= min_df}
        subsumed: set[str] = set()
        for key, count in candidates.items():
            parts = key.split()
            if len(parts) < 2:
                continue
            for part in (" ".join(parts[:-1]), " ".join(parts[1:])):
                # The fragment's own key has a singular last word only when it ends the phrase.
                if part in df and count >= 0.6 * df[part]:
                    subsumed.add(part)
        scored = sorted(
            (
                (-c * math.log(1 + n / c) * _LENGTH_BONUS[min(2, k.count(" "))], k)
                for k, c in candidates.items()
                if k not in subsumed
            ),
        )
        chosen: list[tuple[str, ...]] = []
        for _, key in scored:
            phrase = tuple(key.split())
            if any(_contains(o, phrase) or _contains(phrase, o) for o in chosen):
                continue
            if any(_acronym_of(phrase, o) or _acronym_of(o, phrase) for o in chosen):
                continue  # "llm" beside "large language model"
            chosen.append(phrase)
            if len(chosen) >= limit:
                break
        result = tuple(self._readable(" ".join(w), papers, per_paper) for w in chosen)
        self._themes[cache_key] = result
        return result

    def _words(self, paper: Paper) -> _Words:
        key = (paper.key, paper.version)
        found = self._abstract_words.get(key)
        if found is None:
            found = self._abstract_words[key] = _Words.of(paper.abstract)
        return found

    def _readable(self, key: str, papers: Sequence[Paper], per_paper: list[frozenset[str]]) -> str:
        spellings: Counter[str] = Counter()
        for paper, found in zip(papers, per_paper, strict=True):
            if key not in found:
                continue
            spelling = self._words(paper).spelling(key)
            if spelling is not None:
                spellings[spelling] += 1
                if sum(spellings.values()) >= 3:
                    break
        if not spellings:
            return key
        merged: Counter[str] = Counter()
        for spelling, count in spellings.items():
            first, _, rest = spelling.partition(" ")
            # A capital that only opens a sentence ("Diffusion models") is not the spelling.
            if rest and first[:1].isupper() and first[1:].islower() and rest == rest.lower():
                spelling = spelling[0].lower() + spelling[1:]
            merged[spelling] += count
        return min(merged.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def rank(self, query: Query, papers: Iterable[Paper]) -> list[tuple[float, Paper]]:
        """``papers`` best first: relevance, then newest, then key (deterministic)."""
        unique = {p.key: p for p in papers}
        text = query.text_tree is not None
        ordered = sorted(
            (
                -relevance(query, self._doc(p)) if text else 0.0,
                -_when(p).timestamp(),
                key,
                p,
            )
            for key, p in unique.items()
        )
        return [(-score, p) for score, _, _, p in ordered]

    def card(self, paper: Paper, summary: str) -> DigestCard:
        """The paper's card (cached per paper: it does not depend on the topic)."""
        key = (paper.key, paper.version)
        found = self._cards.get(key)
        if found is None:
            found = self._cards[key] = self._card(paper, summary)
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
        ranked = self.rank(topic.query, papers)
        day = now.astimezone(UTC).date().isoformat()
        thread_name = shorten(f"{topic.name} · {day}", 100)
        if not ranked:
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
        shown = ranked[: options.max_papers]
        overflow = tuple(p.key for _, p in ranked[options.max_papers :])
        entries = tuple(DigestEntry(p, score, self.tldr(p)) for score, p in shown)
        themes = self.themes([p for _, p in ranked])
        summary = topic_summary_line(len(ranked), list(themes))
        cards = [self.card(e.paper, e.tldr) for e in entries]
        if overflow:
            oldest = min(_when(p) for _, p in ranked)
            hint = more_hint or _search_hint(topic, oldest if oldest.year > 1 else now)
            cards.append(
                DigestCard(
                    title=f"and {len(overflow)} more",
                    body=shorten(hint, options.description_chars),
                )
            )
        messages = self._pack(topic.name, summary, cards, overflow)
        return Digest(
            topic_name=topic.name,
            summary=summary,
            themes=themes,
            entries=entries,
            overflow=overflow,
            messages=messages,
            thread_name=thread_name,
        )

    def _pack(
        self, name: str, summary: str, cards: list[DigestCard], overflow: tuple[str, ...]
    ) -> tuple[DigestMessage, ...]:
        limits = self.options.limits
        budget = limits.card_budget
        groups: list[list[DigestCard]] = [[]]
        used = 0
        sizes = self._sizes
        for card in cards:
            if card.paper_key is None:  # the "and N more" card, made for this digest
                size = card.size
            else:  # paper cards are cached by the builder, and so are their sizes
                size = sizes.get(id(card)) or sizes.setdefault(id(card), card.size)
            group = groups[-1]
            if group and (len(group) >= limits.cards_per_message or used + size > budget):
                groups.append([])
                group = groups[-1]
                used = 0
            group.append(card)
            used += size
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
