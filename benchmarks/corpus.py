"""A deterministic synthetic corpus in arXiv's metadata-snapshot layout (JSON Lines).

Everything the generator draws from comes from the real fixture
``tests/fixtures/arxiv/rss_2024-11-28_all_archives.xml`` (1,504 arXiv items of one day), parsed
here with ElementTree:

* abstract words: a frequency table over the fixture's abstracts, English stop-words kept. Word
  frequencies are the fixture's own, which follow Zipf's law (rank x frequency roughly constant);
* category vocabularies: the content words (stop-words removed) of the abstracts listed under each
  category, merged with the archive's (``math``) when a category has few abstracts. About 30% of
  each abstract's words come from its primary category's vocabulary, so the words of a topic
  co-occur and multi-word searches find papers the way they do on real data;
* title words: a frequency table over the fixture's titles (their Title Case kept), 30% from the
  category vocabulary;
* author names: first and last names split from the ``dc:creator`` lists (TeX accents kept, as the
  snapshot has them), combined into a pool of distinct names whose size grows with ``n`` (0.6 names
  per paper, about what arXiv has), drawn with a skew so prolific authors exist;
* categories: Zipf over the fixture's categories ranked by how often they lead an item, with
  ``cs.*`` weighted up (arXiv today is about 40% computer science); about half the papers are
  cross-listed, to a partner category seen with the primary in the fixture when there is one;
* licences: the fixture's distribution.

Sentences mix the two tables word by word (every third or fourth word from the category's,
30% in all) and are built once per seed into per-category pools of abstract *halves* and title
halves (``random.choices`` does the sampling in bulk). A record then costs a few picks: an abstract
is two halves whose lengths are drawn from gamma(5, 16), so the whole follows gamma(10, 16) (mean
160 words, sd ~50), plus a made-up model name (``GrapTran``) so the vocabulary keeps growing with
the corpus as real vocabularies do; a title is two halves of 3-7 words (6-14). Papers have 3-5
authors and 1-3 versions. Ids are ``YYMM.NNNNN``, increasing, spread evenly over 2015-01..2026-12,
with RFC 2822 version dates inside the id's month (later versions up to 200 days on).

``generate(n, seed)`` is deterministic for ``(n, seed)`` (the id range and the author pool depend
on ``n``, so the first records of two sizes differ) and makes about 90k records/s here;
``python -m benchmarks.corpus 1000000 benchmarks/data/corpus-1m.jsonl`` writes a file.
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import io
import json
import math
import random
import re
import sys
import time
import xml.etree.ElementTree as ET
from bisect import bisect
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any, TextIO

FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "arxiv"
    / "rss_2024-11-28_all_archives.xml"
)
DC = "{http://purl.org/dc/elements/1.1/}"

FIRST_YEAR = 2015
LAST_YEAR = 2026
MONTHS = (LAST_YEAR - FIRST_YEAR + 1) * 12
MAX_PER_MONTH = 99_999  # five-digit sequence numbers (arXiv ids since 2015)
MAX_N = MONTHS * MAX_PER_MONTH

ABSTRACT_MEAN_WORDS = 160
ABSTRACT_SHAPE = 10.0  # gamma shape: sd = mean / sqrt(shape), about 50 words
CATEGORY_SHARE = 0.30  # of an abstract's (and a title's) words from its category's vocabulary
CROSS_LIST_SHARE = 0.5
THIRD_CATEGORY_SHARE = 0.3  # of the cross-listed papers
AUTHORS_PER_PAPER = (3, 5)
AUTHOR_POOL_PER_PAPER = 0.6
AUTHOR_SKEW = 1.6  # index = pool * u**skew: the top author is on ~1,000 of 1M papers
VERSION_WEIGHTS = (60, 28, 12)  # 1, 2 or 3 versions
# Abstract halves in all pools together: 16,384 from 65,536 papers up (cs.CV alone has ~3,000,
# so ~9M distinct pairs), less for small corpora, which then build in a fraction of a second.
HALF_BUDGET = 16_384
SMALL_BUDGET = 1_024
SENTENCE_WORDS = (8, 32)
TITLE_HALF_WORDS = (3, 7)  # two halves: 6-14 words
CS_BOOST = 1.5
MIN_CATEGORY_VOCAB = 400  # fewer content words than this: the archive's vocabulary is added

# Common English function words, kept in the text at their real frequency, left out of the
# category vocabularies.
STOP_WORDS = frozenset(
    """
    a about above after again against all also although am among an and another any are as at be
    because been before being below between both but by can cannot could did do does doing done
    down during each either else even ever every few for from further had has have having he her
    here hers herself him himself his how however i if in into is it its itself just least less
    let like many may me might more most much must my myself neither no nor not now of off often
    on once one only or other others our ours ourselves out over own per rather same several shall
    she should since so some such than that the their theirs them themselves then there therefore
    these they this those though through thus to too toward towards under until up upon us very
    via was we well were what whatever when where whereas whether which while who whom whose why
    will with within without would yet you your yours yourself yourselves
    """.split()  # noqa: SIM905
)

_MATH = re.compile(r"\$[^$]*\$|\\[A-Za-z]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_PARENS = re.compile(r"\([^()]*\)?")
_NAME_TOKEN = re.compile(r"^(?:[^\W\d_]|\\|\{)")
_NAME_STOP = frozenset(
    (
        "collaboration",
        "team",
        "group",
        "consortium",
        "project",
        "members",
        "et",
        "al",
        "jr",
        "jr.",
        "sr",
        "sr.",
        "ii",
        "iii",
        "iv",
    )
)

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

_JOURNALS = (
    ("10.1103/PhysRevD", "Phys. Rev. D"),
    ("10.1103/PhysRevB", "Phys. Rev. B"),
    ("10.1103/PhysRevLett", "Phys. Rev. Lett."),
    ("10.1088/1361-6382", "Class. Quantum Grav."),
    ("10.1007/JHEP", "JHEP"),
    ("10.1093/mnras", "Mon. Not. R. Astron. Soc."),
    ("10.3847/1538-4357", "Astrophys. J."),
    ("10.1109/TPAMI", "IEEE Trans. Pattern Anal. Mach. Intell."),
    ("10.1109/TIT", "IEEE Trans. Inf. Theory"),
    ("10.1145/3580305", "Proc. KDD"),
    ("10.1016/j.jcp", "J. Comput. Phys."),
    ("10.1016/j.aim", "Adv. Math."),
    ("10.1007/s00220", "Commun. Math. Phys."),
    ("10.1214/aos", "Ann. Statist."),
    ("10.1038/s41586", "Nature"),
    ("10.18653/v1", "Proc. ACL"),
)
_REPORT_PREFIXES = ("CERN-TH", "DESY", "FERMILAB-PUB", "SLAC-PUB", "KEK-TH", "MIT-CTP", "IPMU")


@dataclass(frozen=True, slots=True)
class Table:
    """Words and their cumulative weights, for ``random.choices(words, cum_weights=...)``."""

    words: tuple[str, ...]
    cum: tuple[float, ...]

    @classmethod
    def from_counts(cls, counts: Counter[str]) -> Table:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return cls(tuple(w for w, _ in ranked), tuple(accumulate(float(c) for _, c in ranked)))

    def __len__(self) -> int:
        return len(self.words)


@dataclass(frozen=True, slots=True)
class Fixture:
    """What the generator learns from the fixture (independent of the seed)."""

    abstract_words: Table
    title_words: Table
    category_words: dict[str, Table]  # content words of each category's abstracts
    category_titles: dict[str, tuple[str, ...]]  # the same words, capitalised for titles
    categories: tuple[str, ...]  # ranked: most frequent primary first
    partners: dict[str, Table]  # categories seen cross-listed with each primary
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    licenses: Table
    items: int


def _tokens(text: str) -> list[str]:
    return _WORD.findall(_MATH.sub(" ", text))


def _normal_case(word: str) -> str:
    """Lower case, except acronyms (``AI``, ``LiDAR``, ``ECGs``), which keep theirs."""
    return word if sum(1 for c in word if c.isupper()) >= 2 else word.lower()


def _split_names(creator: str) -> list[tuple[str, str]]:
    """(first, last) pairs from a ``dc:creator`` list, affiliations and collaborations dropped."""
    text = _PARENS.sub(" ", creator).replace(" and ", ", ")
    pairs = []
    for raw in text.split(","):
        tokens = raw.split()
        if not 2 <= len(tokens) <= 4:
            continue
        if any(t.lower() in _NAME_STOP for t in tokens):
            continue
        if not all(_NAME_TOKEN.match(t) for t in tokens):
            continue
        pairs.append((" ".join(tokens[:-1]), tokens[-1]))
    return pairs


@lru_cache(maxsize=2)
def load_fixture(path: Path = FIXTURE) -> Fixture:
    root = ET.parse(path).getroot()
    abstract_counts: Counter[str] = Counter()
    title_counts: Counter[str] = Counter()
    per_category: dict[str, Counter[str]] = {}
    primary_counts: Counter[str] = Counter()
    all_counts: Counter[str] = Counter()
    partner_counts: dict[str, Counter[str]] = {}
    firsts: dict[str, None] = {}
    lasts: dict[str, None] = {}
    license_counts: Counter[str] = Counter()
    items = 0
    for item in root.iter("item"):
        items += 1
        description = item.findtext("description") or ""
        _, marker, abstract = description.partition("Abstract:")
        words = [_normal_case(w) for w in _tokens(abstract if marker else description)]
        abstract_counts.update(words)
        content = [w for w in words if w.lower() not in STOP_WORDS and len(w) > 2]
        title_counts.update(_tokens(item.findtext("title") or ""))
        categories = list(
            dict.fromkeys(
                c.text.strip() for c in item.iter("category") if c.text and c.text.strip()
            )
        )
        if categories:
            primary_counts[categories[0]] += 1
            for other in categories[1:]:
                partner_counts.setdefault(categories[0], Counter())[other] += 1
        for category in categories:
            all_counts[category] += 1
            per_category.setdefault(category, Counter()).update(content)
        for first, last in _split_names(item.findtext(f"{DC}creator") or ""):
            firsts.setdefault(first, None)
            lasts.setdefault(last, None)
        license_counts[item.findtext(f"{DC}rights") or ""] += 1

    ranked = tuple(sorted(all_counts, key=lambda c: (-primary_counts[c], -all_counts[c], c)))
    archive_words: dict[str, Counter[str]] = {}
    for category, counts in per_category.items():
        archive_words.setdefault(category.split(".", 1)[0], Counter()).update(counts)
    category_words: dict[str, Table] = {}
    for category in ranked:
        counts = per_category[category]
        if len(counts) < MIN_CATEGORY_VOCAB:
            counts = counts + archive_words[category.split(".", 1)[0]]
        category_words[category] = Table.from_counts(counts)
    category_titles = {
        c: tuple(w if w[0].isupper() else w.capitalize() for w in t.words)
        for c, t in category_words.items()
    }
    return Fixture(
        abstract_words=Table.from_counts(abstract_counts),
        title_words=Table.from_counts(title_counts),
        category_words=category_words,
        category_titles=category_titles,
        categories=ranked,
        partners={c: Table.from_counts(p) for c, p in partner_counts.items()},
        first_names=tuple(firsts),
        last_names=tuple(lasts),
        licenses=Table.from_counts(license_counts),
        items=items,
    )


def category_weights(categories: tuple[str, ...]) -> list[float]:
    """Zipf over the ranked categories (weight 1/rank), computer science weighted up."""
    return [
        (CS_BOOST if c.startswith("cs.") else 1.0) / rank
        for rank, c in enumerate(categories, start=1)
    ]


@dataclass(slots=True)
class _Pool:
    """A category's abstract halves and title halves.

    An abstract is two halves: each half's length is drawn from gamma(shape/2, scale), so the sum
    follows gamma(shape, scale) (mean 160 words) while a record costs two picks and one format.
    """

    halves: tuple[str, ...]
    title_halves: tuple[str, ...]


@dataclass(slots=True)
class _Pools:
    """Per-category pools, built lazily, each from its own seeded generator (so the order in
    which categories are first met does not change them)."""

    fixture: Fixture
    seed: int
    sizes: dict[str, int]  # abstract halves per category
    built: dict[str, _Pool] = field(default_factory=dict)

    def get(self, category: str) -> _Pool:
        pool = self.built.get(category)
        if pool is None:
            pool = self.built[category] = self._build(category)
        return pool

    def _build(self, category: str) -> _Pool:
        rng = random.Random(f"paperbot-corpus:{self.seed}:pool:{category}")
        choices, randint, rand = rng.choices, rng.randint, rng.random
        general = self.fixture.abstract_words
        topical = self.fixture.category_words[category]
        scale = ABSTRACT_MEAN_WORDS / ABSTRACT_SHAPE
        lo, hi = SENTENCE_WORDS
        halves: list[str] = []
        for _ in range(self.sizes[category]):
            # Sentences (30% category words each) until the half's drawn length, the last cut.
            wanted = max(4, round(rng.gammavariate(ABSTRACT_SHAPE / 2, scale)))
            sentences: list[str] = []
            while wanted > 0:
                length = min(wanted, randint(lo, hi))
                wanted -= length
                words = choices(general.words, cum_weights=general.cum, k=length)
                # Every third or fourth word is the category's: 0.6/3 + 0.4/4 = 30%.
                step = 3 if rand() < 0.6 else 4
                slots = range(randint(0, step - 1), length, step)
                if slots:
                    words[slots.start :: step] = choices(
                        topical.words, cum_weights=topical.cum, k=len(slots)
                    )
                first = words[0]
                words[0] = first[0].upper() + first[1:]
                sentences.append(" ".join(words))
            halves.append(". ".join(sentences))
        # Title halves of 3-7 words from the titles' own words, 30% from the category's.
        titles = self.fixture.title_words
        caps = self.fixture.category_titles[category]
        last_cap = len(caps) - 1
        title_halves: list[str] = []
        t_lo, t_hi = TITLE_HALF_WORDS
        for _ in range(2 * len(halves)):
            length = randint(t_lo, t_hi)
            words = choices(titles.words, cum_weights=titles.cum, k=length)
            for j in range(length):
                if rand() < CATEGORY_SHARE:
                    pick = bisect(topical.cum, rand() * topical.cum[-1])
                    words[j] = caps[min(last_cap, pick)]
            title_halves.append(" ".join(words))
        return _Pool(tuple(halves), tuple(title_halves))


def _coprime_step(modulus: int, start: int) -> int:
    step = start % modulus or 1
    while math.gcd(step, modulus) != 1:
        step += 1
    return step


@dataclass(frozen=True, slots=True)
class _Calendar:
    """Every day of the range as the strings a record needs, so dates cost lookups, not calls."""

    month_first_day: tuple[int, ...]  # index of the 1st of each month in ``days``
    month_days: tuple[int, ...]
    month_prefix: tuple[str, ...]  # "1501." for January 2015
    rfc_day: tuple[str, ...]  # "Thu, 1 Jan 2015 "
    iso_day: tuple[str, ...]  # "2015-01-01"
    minutes: tuple[str, ...]  # "00:00:" .. "23:59:"
    seconds: tuple[str, ...]  # "00 GMT" .. "59 GMT"


@lru_cache(maxsize=1)
def _calendar() -> _Calendar:
    first_day: list[int] = []
    month_days: list[int] = []
    prefixes: list[str] = []
    rfc: list[str] = []
    iso: list[str] = []
    for i in range(MONTHS):
        year, month = FIRST_YEAR + i // 12, i % 12 + 1
        weekday, days = calendar.monthrange(year, month)
        first_day.append(len(rfc))
        month_days.append(days)
        prefixes.append(f"{year % 100:02d}{month:02d}.")
        for day in range(1, days + 1):
            rfc.append(
                f"{_WEEKDAYS[(weekday + day - 1) % 7]}, {day} {_MONTH_NAMES[month - 1]} {year} "
            )
            iso.append(f"{year}-{month:02d}-{day:02d}")
    return _Calendar(
        month_first_day=tuple(first_day),
        month_days=tuple(month_days),
        month_prefix=tuple(prefixes),
        rfc_day=tuple(rfc),
        iso_day=tuple(iso),
        minutes=tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)),
        seconds=tuple(f"{sec:02d} GMT" for sec in range(60)),
    )


def _comment(rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.3:
        return None
    pages = rng.randint(4, 60)
    if r < 0.75:
        return f"{pages} pages, {rng.randint(1, 16)} figures"
    if r < 0.9:
        return f"{pages} pages, {rng.randint(1, 12)} figures, {rng.randint(1, 6)} tables"
    return f"Accepted at a conference; {pages} pages"


def _pool_budget(n: int) -> int:
    """Halves for a corpus of ``n`` papers: powers of two, so sizes share cached pools."""
    budget = SMALL_BUDGET
    while budget < HALF_BUDGET and budget < n // 4:
        budget *= 2
    return budget


@lru_cache(maxsize=4)
def _pools(seed: int, budget: int = HALF_BUDGET) -> _Pools:
    """The seed's pools (kept, so generating again with a seed does not rebuild them)."""
    fixture = load_fixture()
    cum = list(accumulate(category_weights(fixture.categories)))
    smallest = max(16, budget // 170)  # 96 halves for the full budget
    sizes = {
        c: max(smallest, round(budget * (hi - lo) / cum[-1]))
        for c, lo, hi in zip(fixture.categories, [0.0, *cum[:-1]], cum, strict=True)
    }
    return _Pools(fixture, seed, sizes)


def generate(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """``n`` records in arXiv's snapshot JSONL layout, the same ones every time for ``seed``."""
    if n < 0 or n > MAX_N:
        raise ValueError(f"n must be between 0 and {MAX_N:,}")
    if n == 0:
        return
    fixture = load_fixture()
    rng = random.Random(f"paperbot-corpus:{seed}")
    rand = rng.random

    categories = fixture.categories
    cat_cum = list(accumulate(category_weights(categories)))
    cat_total = cat_cum[-1]
    last_cat = len(categories) - 1
    pools = _pools(seed, _pool_budget(n))
    partners = {c: (t.words, t.cum, t.cum[-1], len(t) - 1) for c, t in fixture.partners.items()}
    # Syllables of content words, for made-up model names (vocabulary growth).
    stems = sorted(
        {
            w[:4].capitalize()
            for w in fixture.abstract_words.words[:10000]
            if w.isalpha() and len(w) > 4 and w not in STOP_WORDS
        }
    )
    n_stems = len(stems)
    licenses = fixture.licenses
    license_words, license_cum = licenses.words, licenses.cum
    license_total, last_license = license_cum[-1], len(license_words) - 1

    firsts, lasts = fixture.first_names, fixture.last_names
    n_first = len(firsts)
    name_space = n_first * len(lasts)
    author_pool = min(name_space, max(1000, int(n * AUTHOR_POOL_PER_PAPER)))
    name_step = _coprime_step(name_space, 2_654_435_761 + seed * 40_503)
    name_offset = random.Random(f"paperbot-corpus:{seed}:names").randrange(name_space)
    lo_authors, hi_authors = AUTHORS_PER_PAPER
    author_span = hi_authors - lo_authors + 1

    cal = _calendar()
    month_first_day, month_days, month_prefix = (
        cal.month_first_day,
        cal.month_days,
        cal.month_prefix,
    )
    rfc_day, iso_day, minutes, seconds = cal.rfc_day, cal.iso_day, cal.minutes, cal.seconds
    last_day = len(rfc_day) - 1
    per_month = -(-n // MONTHS)
    if per_month > MAX_PER_MONTH:
        raise ValueError(f"at most {MAX_N:,} papers fit five-digit ids over {MONTHS} months")
    gaps = 0.1 if per_month * 3 < MAX_PER_MONTH else 0.0  # the odd gap in the numbering
    version_cum = list(accumulate(VERSION_WEIGHTS))
    version_total = version_cum[-1]
    n_journals = len(_JOURNALS)
    n_reports = len(_REPORT_PREFIXES)

    current_month = -1
    number = 0
    for i in range(n):
        month = i * MONTHS // n
        if month != current_month:
            current_month, number = month, 0
        number += 2 if rand() < gaps else 1
        year = FIRST_YEAR + month // 12
        arxiv_id = f"{month_prefix[month]}{number:05d}"

        # Categories: Zipf primary; half cross-listed, mostly to a partner seen in the fixture.
        primary = categories[min(last_cat, bisect(cat_cum, rand() * cat_total))]
        categories_text = primary
        if rand() < CROSS_LIST_SHARE:
            cats = [primary]
            wanted = 3 if rand() < THIRD_CATEGORY_SHARE else 2
            partner = partners.get(primary)
            for _ in range(8):
                if partner is not None and rand() < 0.7:
                    p_words, p_cum, p_total, p_last = partner
                    other = p_words[min(p_last, bisect(p_cum, rand() * p_total))]
                else:
                    other = categories[min(last_cat, bisect(cat_cum, rand() * cat_total))]
                if other not in cats:
                    cats.append(other)
                    if len(cats) == wanted:
                        break
            categories_text = " ".join(cats)

        # Abstract: two halves from the primary category's pool, and a made-up model name.
        pool = pools.get(primary)
        halves = pool.halves
        n_halves = len(halves)
        first_half = int(rand() * n_halves)
        second_half = int(rand() * (n_halves - 1))
        if second_half >= first_half:  # never the same half twice
            second_half += 1
        name = f"{stems[int(rand() * n_stems)]}{stems[int(rand() * n_stems)]}"
        abstract = f"  {halves[first_half]} {name}. {halves[second_half]}.\n"

        # Title: two halves of 3-7 words.
        title_halves = pool.title_halves
        n_titles = len(title_halves)
        title = f"{title_halves[int(rand() * n_titles)]} {title_halves[int(rand() * n_titles)]}"
        title = title[0].upper() + title[1:]

        # Authors: 3-5 distinct names from the pool, skewed towards prolific ones.
        names: list[str] = []
        parsed: list[list[str]] = []
        seen: list[int] = []
        for _ in range(lo_authors + int(rand() * author_span)):
            idx = int(author_pool * rand() ** AUTHOR_SKEW)
            if idx in seen:
                continue
            seen.append(idx)
            last_i, first_i = divmod((idx * name_step + name_offset) % name_space, n_first)
            first, last = firsts[first_i], lasts[last_i]
            names.append(f"{first} {last}")
            parsed.append([last, first, ""])
        authors = f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]

        # Versions: v1 inside the id's month, later ones days to months after (within range).
        day = month_first_day[month] + int(rand() * month_days[month])
        created = f"{rfc_day[day]}{minutes[int(rand() * 1440)]}{seconds[int(rand() * 60)]}"
        versions = [{"version": "v1", "created": created}]
        n_versions = bisect(version_cum, rand() * version_total) + 1
        for v in range(2, n_versions + 1):
            day = min(last_day, day + 1 + int(rand() * 200))
            created = f"{rfc_day[day]}{minutes[int(rand() * 1440)]}{seconds[int(rand() * 60)]}"
            versions.append({"version": f"v{v}", "created": created})

        doi = journal_ref = report_no = None
        r = rand()
        if r < 0.35:
            prefix, journal = _JOURNALS[int(rand() * n_journals)]
            doi = f"{prefix}.{year + 1}.{int(rand() * 1_000_000):06d}"
            if rand() < 0.8:
                journal_ref = f"{journal} {10 + year % 100 + int(rand() * 90)} ({year + 1})"
        elif r < 0.40:
            journal_ref = f"Proceedings of the {year} workshop, pp. {int(rand() * 400) + 1}"
        if rand() < 0.04:
            report_no = f"{_REPORT_PREFIXES[int(rand() * n_reports)]}-{year}-"
            report_no += f"{int(rand() * 300) + 1:03d}"

        yield {
            "id": arxiv_id,
            "submitter": names[0] if rand() < 0.85 else names[-1],
            "authors": authors,
            "title": title,
            "comments": _comment(rng),
            "journal-ref": journal_ref,
            "doi": doi,
            "report-no": report_no,
            "categories": categories_text,
            "license": license_words[min(last_license, bisect(license_cum, rand() * license_total))]
            or None,
            "abstract": abstract,
            "versions": versions,
            "update_date": iso_day[day],
            "authors_parsed": parsed,
        }


def write_jsonl(path: str | Path, n: int, seed: int = 0, *, compress: bool | None = None) -> Path:
    """Stream ``generate(n, seed)`` to ``path`` as JSON Lines; gzip when ``compress`` or ``.gz``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress is None:
        compress = path.suffix == ".gz"
    encode = json.JSONEncoder(separators=(",", ":")).encode
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as raw:
        out: TextIO
        if compress:
            out = io.TextIOWrapper(gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1), "utf-8")
        else:
            out = io.TextIOWrapper(raw, "utf-8", write_through=False)
        with out:
            lines: list[str] = []
            for record in generate(n, seed):
                lines.append(encode(record))
                if len(lines) == 2000:
                    out.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                out.write("\n".join(lines) + "\n")
    tmp.replace(path)
    return path


def bench_corpus(options: Any) -> dict[str, Any]:
    """Generator throughput: ``options.corpus_records`` records generated, then written."""
    from benchmarks.common import DATA_DIR, measure, print_table

    n, seed = options.corpus_records, options.seed
    load_fixture.cache_clear()
    _pools.cache_clear()
    with measure() as setup:
        fixture = load_fixture()
        pools = _pools(seed, _pool_budget(n))
        for category in fixture.categories:
            pools.get(category)
    with measure() as gen:
        for _ in generate(n, seed):
            pass
    path = DATA_DIR / f"bench-corpus-{n}.jsonl"
    with measure() as write:
        write_jsonl(path, n, seed)
    size_mb = path.stat().st_size / 1e6
    path.unlink()
    result = {
        "records": n,
        "seed": seed,
        "setup_s": round(setup.wall, 3),
        "generate_records_per_s": round(n / gen.wall, 1),
        "write_records_per_s": round(n / write.wall, 1),
        "write_mb_per_s": round(size_mb / write.wall, 1),
        "bytes_per_record": round(size_mb * 1e6 / n),
        "estimated_1m_write_s": round(setup.wall + 1_000_000 / (n / write.wall), 1),
    }
    print()
    print(f"Synthetic corpus, {n:,} records (seed {seed})")
    print_table(
        [
            {"what": "fixture + pools (once)", "value": f"{setup.wall:.2f}s"},
            {"what": "generate (dicts)", "value": f"{n / gen.wall:,.0f} records/s"},
            {"what": "generate + write JSONL", "value": f"{n / write.wall:,.0f} records/s"},
            {"what": "JSONL per record", "value": f"{result['bytes_per_record']:,} bytes"},
            {"what": "1M records to a file", "value": f"~{result['estimated_1m_write_s']:.0f}s"},
        ],
        [("what", "step"), ("value", "")],
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus",
        description="Write a synthetic arXiv snapshot (JSON Lines) for benchmarks.",
    )
    parser.add_argument("n", type=int, help="number of papers")
    parser.add_argument("path", type=Path, help="output file (.gz to compress)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    write_jsonl(args.path, args.n, args.seed)
    elapsed = time.perf_counter() - started
    size = args.path.stat().st_size / 1e6
    print(
        f"{args.n:,} papers -> {args.path} ({size:,.1f} MB) in {elapsed:.1f}s "
        f"({args.n / elapsed:,.0f} records/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
