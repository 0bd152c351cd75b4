"""A pasted listing (a web page's list of papers copied as text) into papers.

The format, one entry after another::

    CLNov 3, 2023
    Attention Is Not All You Need AnymoreJane Doe, Wei Zhang, Amal Haddad et al. · example-lab, mila
    We study whether attention layers remain necessary when ...

The category code is glued to the date, and the title runs straight into the author list, so the
title/author boundary has to be found: every upper-case letter is a candidate start of the author
list, the text from there on must read as a comma-separated list of plausible names, and the
candidates that do are scored. Entries whose best reading is not clearly ahead are imported and
reported in ``ParseResult.uncertain``; entries with no reading at all are skipped.

The affiliations after " · " are the paper's, not any one author's (the listing does not say who is
where), so every author gets all of them: ``Paper.affiliations`` then reads back exactly the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.categories import expand_listing_code
from bot.domain.ingest import ParseResult, SkippedEntry
from bot.domain.ingest.feeds import collapse_ws
from bot.domain.papers import Author, Paper

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# The code is matched lazily so "cs.MAMay 3, 2023" reads as cs.MA + May, not cs.M + AMay.
HEADER_RE = re.compile(
    r"^\s*(?P<code>[A-Za-z][A-Za-z.\-]{0,24}?)\s*"
    r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+"
    r"(?P<day>\d{1,2}),?\s+(?P<year>\d{4})\s*$"
)

_ET_AL = re.compile(r"\s*,?\s*(?:et\s+al\.?|and\s+others)\s*$", re.IGNORECASE)
_AFFILIATION_SEP = re.compile(r"\s+·\s+")
_AUTHOR_SEP = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*")
# "The ATLAS Collaboration", "CHIME/FRB Collaboration", "Event Horizon Telescope Collaboration".
_GROUP_WORDS = frozenset({"Collaboration", "Consortium", "Team", "Group"})
_COLLAB_WORD = r"(?:[A-Z][a-z]+|[A-Z0-9][A-Z0-9/\-]+|of|and|for|the)"
_COLLABORATION = re.compile(
    rf"^(?:The\s+)?{_COLLAB_WORD}(?:\s+{_COLLAB_WORD}){{0,3}}\s+"
    r"(?:Collaboration|Consortium|Team|Group)s?$"
)
_PARTICLES = frozenset(
    {
        "van",
        "von",
        "de",
        "der",
        "den",
        "del",
        "della",
        "dei",
        "des",
        "di",
        "da",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ter",
        "ten",
        "zu",
        "zum",
        "zur",
        "y",
        "e",
        "bin",
        "ibn",
        "ben",
        "al",
        "el",
        "af",
        "av",
    }
)
_PARTICLE_PREFIX = re.compile(r"^(?:al|el|d|l|da|de|di)[-'’](.+)$")
_SUFFIXES = frozenset({"Jr.", "Jr", "Sr.", "Sr", "II", "III", "IV"})
# Names with a capital inside (McDonald, LeCun, DiCarlo, MacArthur, VanderPlas, FitzGerald).
_CAMEL_PREFIXES = ("Mac", "Mc", "De", "Di", "Da", "Du", "La", "Le", "Van", "Von", "Fitz")
_APOSTROPHES = re.compile(r"['’]")
# A "title" ending like this is really the front of the author list.
_INSIDE_LIST = re.compile(r"(?:,|&|\band)$")
_CLOSERS = frozenset(")]}\"'”’?!.%*+")

_NAME_WINDOW = 120
# Confidence: a winner must beat the runner-up by this much.
_MARGIN = 1.0


@dataclass(frozen=True, slots=True)
class TitleSplit:
    """A title/author line taken apart; ``doubt`` says why the split is a guess, if it is."""

    title: str
    authors: tuple[str, ...]
    affiliations: tuple[str, ...] = ()
    et_al: bool = False
    doubt: str | None = None


@dataclass(frozen=True, slots=True)
class _Reading:
    position: int
    score: float
    authors: tuple[str, ...]


def _capitalised(part: str) -> bool:
    return len(part) >= 2 and part[0].isupper() and all(c.islower() for c in part[1:])


def _name_part(part: str) -> float | None:
    """Penalty of one hyphen-free, apostrophe-free piece of a name word; None if implausible."""
    if _capitalised(part):
        return 0.0
    for prefix in _CAMEL_PREFIXES:
        if part.startswith(prefix) and _capitalised(part[len(prefix) :]):
            return 0.5
    return None


def _word(token: str) -> float | None:
    m = _PARTICLE_PREFIX.match(token)
    if m:  # al-Hassan, d'Alembert
        return _word(m.group(1))
    penalty = 0.0
    for hyphen_part in token.split("-"):
        pieces = _APOSTROPHES.split(hyphen_part)
        for i, piece in enumerate(pieces):
            # O'Brien, D'Amico: a lone capital may stand before an apostrophe.
            if i < len(pieces) - 1 and len(piece) == 1 and piece.isupper():
                continue
            p = _name_part(piece)
            if p is None:
                return None
            penalty += p
    return penalty


def _initials(token: str) -> float | None:
    """J.  J.R.R.  J.-P.  (no penalty);  J  JJ  (some: undotted capitals are also acronyms)."""
    if token.endswith(".") and all(
        chunk and len(chunk) == 1 and chunk.isupper()
        for chunk in token[:-1].replace("-", "").split(".")
    ):
        return 0.0
    if 1 <= len(token) <= 2 and token.isalpha() and token.isupper():
        return 0.5
    return None


def _author_penalty(name: str) -> float | None:
    """How unlikely ``name`` is as one author's name (0 = ordinary), or None if it is not one."""
    if _COLLABORATION.match(name):
        return 0.5
    tokens = name.split()
    core = 0
    penalty = 0.0
    last_kind = ""
    for index, token in enumerate(tokens):
        if token in _SUFFIXES and index == len(tokens) - 1 and core >= 2:
            break
        if token in _PARTICLES:
            if index == 0:
                return None
            last_kind = "particle"
            continue
        initial = _initials(token)
        if initial is not None:
            penalty += initial
            last_kind = "initial"
        else:
            word = _word(token) if token not in _GROUP_WORDS else None
            if word is None:
                return None
            penalty += word
            last_kind = "word"
        core += 1
    if not 2 <= core <= 4 or last_kind != "word":
        return None
    return penalty


def _read_authors(text: str) -> tuple[tuple[str, ...], float] | None:
    # Most candidates fail on the first name: check it in a short window (no name is that long)
    # before splitting the whole rest of the line, or a long line would cost quadratic time.
    if _author_penalty(collapse_ws(_AUTHOR_SEP.split(text[:_NAME_WINDOW], maxsplit=1)[0])) is None:
        return None
    names = [collapse_ws(n) for n in _AUTHOR_SEP.split(text)]
    if not names or any(not n for n in names):
        return None
    penalty = 0.0
    for name in names:
        p = _author_penalty(name)
        if p is None:
            return None
        penalty += p
    return tuple(names), penalty


def _boundary_score(head: str, i: int, first_author: str) -> float:
    """How much the text around position ``i`` looks like the end of a title and a name's start."""
    before = head[i - 1]
    if before.islower() or before.isdigit() or before in _CLOSERS:
        score = 3.0
    elif before.isupper():
        score = 1.5  # the title may end in an acronym, or the acronym may eat a capital
    else:
        score = 1.0
    words = head[:i].split()
    tail = words[-1] if words else ""
    first_word = first_author.split()[0] if first_author.split() else ""
    # Cutting "Mc|Donald" or "Le|Cun" out of one name: the title's tail plus the first word of the
    # author list would itself be a single name word.
    if tail and _word(tail + first_word) is not None:
        score -= 2.0
    # A title rarely ends in a lone lower-case letter ("on the i|MacJane Doe").
    if len(tail) == 1 and tail.islower():
        score -= 0.5
    # Cutting inside a run of capitals ("ATL|AS", "A|TLAS"): possible, but an acronym more often
    # stays whole on one side of the boundary.
    if before.isupper() and head[i + 1 : i + 2].isupper():
        score -= 0.5
        if len(first_word) >= 3 and first_word.isupper():
            score -= 0.5
    return score


def _strict_readings(head: str, glued: bool) -> list[_Reading]:
    readings: list[_Reading] = []
    for i in range(1, len(head)):
        if not head[i].isupper() or head[i - 1].isspace() == glued:
            continue
        title = head[:i].strip()
        if not any(c.isalnum() for c in title) or _INSIDE_LIST.search(title):
            continue
        parsed = _read_authors(head[i:])
        if parsed is None:
            continue
        authors, penalty = parsed
        score = (_boundary_score(head, i, authors[0]) if glued else 0.0) - penalty
        readings.append(_Reading(i, score, authors))
    return readings


def _lenient_readings(head: str) -> list[_Reading]:
    """Glued boundaries whose tail is at least list-shaped (mononyms, all-caps surnames)."""
    readings: list[_Reading] = []
    for i in range(1, len(head)):
        if not head[i].isupper() or head[i - 1].isspace():
            continue
        if _INSIDE_LIST.search(head[:i].strip()):
            continue
        first = collapse_ws(_AUTHOR_SEP.split(head[i : i + _NAME_WINDOW], maxsplit=1)[0])
        if len(first.split()) > 5:
            continue
        names = [collapse_ws(n) for n in _AUTHOR_SEP.split(head[i:])]
        if any(not n or not n[0].isupper() or len(n.split()) > 5 for n in names):
            continue
        plausible = sum(_author_penalty(n) is not None for n in names)
        if not plausible:
            continue
        # Later boundaries win ties: an earlier one would swallow title words into the first name.
        readings.append(_Reading(i, plausible + i / 10_000, tuple(names)))
    return readings


def _nested_penalty(readings: list[_Reading], head: str) -> list[_Reading]:
    """Readings that start inside an earlier reading's first author lose some score.

    The earlier reading explains the capital as part of a name (ATLAS, JJ, McDonald); the later
    one needs the title to end in a fragment of it ("TeVThe ATL", "Part IIJ").
    """
    adjusted: list[_Reading] = []
    for reading in readings:
        inside = any(
            other.position < reading.position < other.position + len(other.authors[0])
            and head.startswith(other.authors[0], other.position)
            for other in readings
        )
        if inside:
            reading = _Reading(reading.position, reading.score - 0.75, reading.authors)
        adjusted.append(reading)
    return adjusted


def _split_head(head: str) -> tuple[str, tuple[str, ...], str | None] | None:
    glued = sorted(
        _nested_penalty(_strict_readings(head, glued=True), head),
        key=lambda r: (-r.score, r.position),
    )
    if glued:
        best = glued[0]
        doubt = None
        if len(glued) > 1 and best.score - glued[1].score < _MARGIN:
            runner = glued[1]
            doubt = (
                f"two readings score alike: title {head[: best.position].strip()!r} or "
                f"{head[: runner.position].strip()!r}"
            )
        return head[: best.position].strip(), best.authors, doubt
    lenient = sorted(_lenient_readings(head), key=lambda r: -r.score)
    if lenient:
        best = lenient[0]
        return (
            head[: best.position].strip(),
            best.authors,
            "author names do not all look like 'Given Family'; split is a guess",
        )
    spaced = _strict_readings(head, glued=False)
    if spaced:
        # Title and authors are separated by a space here, so any capitalised title word could
        # start the list; the shortest first author is the usual reading.
        best = max(spaced, key=lambda r: r.position)
        return (
            head[: best.position].strip(),
            best.authors,
            "title and author list are not glued together; split after the last title word",
        )
    return None


def split_title_authors(line: str) -> TitleSplit | None:
    """Take a listing's title/author line apart; None when no reading of it works.

    ``"Sparse Mixtures at ScaleRavi Kumar, Ana Lopes et al. · lab, uni"`` ->
    title ``Sparse Mixtures at Scale``, authors ``Ravi Kumar, Ana Lopes``, et al., affiliations
    ``lab, uni``.
    """
    line = collapse_ws(line)
    parts = _AFFILIATION_SEP.split(line)
    # The author list ends at the first " · " after it; a title may contain " · " itself.
    for k in range(1, len(parts) + 1):
        head = " · ".join(parts[:k])
        affiliations = tuple(
            a for a in (collapse_ws(x) for x in ", ".join(parts[k:]).split(",")) if a
        )
        et_al = bool(_ET_AL.search(head))
        head = _ET_AL.sub("", head)
        found = _split_head(head)
        if found is not None:
            title, authors, doubt = found
            return TitleSplit(title, authors, affiliations, et_al, doubt)
    return None


def _published(match: re.Match[str]) -> datetime | None:
    try:
        return datetime(
            int(match.group("year")),
            _MONTHS[match.group("month").lower()],
            int(match.group("day")),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def parse_listing(text: str, *, source: str = "listing") -> ParseResult:
    """Papers from a listing: code+date line, title-and-authors line, abstract lines, repeated.

    SkippedEntry positions are line numbers. Uncertain title/author splits are imported and listed
    in ``uncertain``; lines that cannot be split, and text before the first code+date line, are
    skipped with the reason.
    """
    result = ParseResult()
    blocks: list[tuple[int, re.Match[str], list[str]]] = []
    preamble: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        m = HEADER_RE.match(raw)
        if m:
            blocks.append((number, m, []))
        elif raw.strip():
            if blocks:
                blocks[-1][2].append(raw.strip())
            else:
                preamble.append(number)
    if preamble:
        result.skipped.append(
            SkippedEntry(preamble[0], "text before the first 'CODE' + date line", None)
        )
    for number, header, body in blocks:
        code = header.group("code")
        if not body:
            result.skipped.append(SkippedEntry(number, "entry has no title/author line", code))
            continue
        split = split_title_authors(body[0])
        if split is None:
            result.skipped.append(
                SkippedEntry(
                    number + 1,
                    "cannot tell where the title ends and the author list begins",
                    body[0][:120],
                )
            )
            continue
        category = expand_listing_code(code)
        doubts = [split.doubt] if split.doubt else []
        if category is None:
            doubts.append(f"unknown category code {code!r}")
        published = _published(header)
        paper = Paper(
            title=split.title,
            authors=tuple(Author(name, split.affiliations) for name in split.authors),
            abstract=collapse_ws(" ".join(body[1:])),
            categories=(category,) if category else (),
            published=published,
            updated=published,
            sources=(source,),
        )
        result.papers.append(paper)
        if doubts:
            result.uncertain.append(SkippedEntry(number + 1, "; ".join(doubts), split.title))
    return result
