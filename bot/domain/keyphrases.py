"""Themes of a batch of abstracts: the 1-3 word phrases that stand out, for a digest's summary line.

Statistical on purpose (document frequency against a background, no tagger or model): a digest of
hundreds of papers must be summarised in well under a second, the same way every time.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

from bot.domain.text import MATH_RE, URL_RE, latex_to_text, plural

__all__ = [
    "choose_themes",
    "document_frequencies",
    "document_phrases",
    "document_spellings",
    "key_phrases",
    "phrase_key",
    "preferred_spelling",
    "theme_score",
    "topic_summary_line",
]


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Function words: never at either end of a phrase, and only "of" inside one ("theory of mind").
STOP_WORDS = _wordset(
    """
    a about above across after again against all almost along already also although always am
    among an and another any anyone anything are around as at be became because become becomes
    been before being below between beyond both but by can cannot could did do does doing done
    down during each either else enough especially even ever every few for from further had has
    have having he her here hers herself him himself his how however i if in into is it its
    itself just least less like many may me might more most much must my neither no nor not now
    of off often on once one only onto or other others otherwise our ours ourselves out over own
    per perhaps rather same several shall she should since so some such than that the their
    theirs them themselves then there thereby therefore these they this those though three
    through thus to too toward towards two under until up upon us very via was we well were what
    whatever when where whereas whether which while who whom whose why will with within without
    would yet you your yours etc e.g i.e vs cf ie eg furthermore moreover additionally hence
    nevertheless nonetheless meanwhile consequently accordingly instead respectively namely
    specifically finally notably particularly besides whereby wherein herein thereof let suppose
    see e.g. i.e. et al
    """
)
# Words of every abstract: verbs of the genre, evaluative adjectives, bare nouns like "method".
# They may sit inside a phrase ("diffusion model") but neither open one ("proposed method") nor
# stand alone as a theme.
GENERIC_WORDS = _wordset(
    """
    able achieve achieved achieves achieving address addressed addresses addressing allow allowed
    allows analysis analyses analyze analyzed applied apply approach approaches art article based
    benchmark benchmarks better call called case cases challenge challenges challenging compared
    comparison conduct conducted consider considered considering contribution contributions
    current data demonstrate demonstrated demonstrates derive derived describe described design
    designed develop developed different discuss discussed due effect effective effectively
    effects efficient enable enabled enables enhance enhanced enhances evaluate evaluated
    evaluation evidence example existing experiment experimental experiments explore explored
    extensive field find finding findings first focus form framework further general given good
    high higher however identify important improve improved improvement improves improving
    include included includes including increase increased increasing introduce introduced
    introduces investigate investigated issue issues key known large larger latter lead leading
    leads learn learned level levels limited low lower main make makes making many method methods
    model models new novel number numerous obtain obtained offer offers order outperform
    outperforms overall paper particular performance performed performing perspective possible
    potential present presented presents previous problem problems process promising propose
    proposed proposes provide provided provides range recent recently reduce reduced related
    remain remains require required requires research result results reveal reveals robust role
    second set show showed shown shows significant significantly similar simple small solution
    solutions specific state studied studies study suggest suggests system systems task tasks
    technique techniques terms thereby third type types understanding use used uses using value
    values various way ways wide work works yield yields
    ability accurate across algorithm algorithms application applications available capability
    capabilities capture captures code complex critical dataset datasets diverse domain domains
    effectiveness efficiency feature features function functions generate generated generates
    human information leverage leverages leveraging multiple need needs prediction predictions
    real-world representation representations sample samples setting settings space strategy
    strategies structure structures time times trained training traditional accuracy
    state-of-the-art parameter parameters condition conditions application prove proves proof
    proofs finite infinite property properties case classical standard common certain natural
    total real unique whole full final initial better best recent specific respective relevant
    crucial essential fundamental great greater novel original practical previous prior broad
    deep extensive significant substantial strong weak fast slow simple efficient effective
    advanced powerful scalable able efficient feasible robust typical necessary sufficient
    order approach step steps insight insights aspect aspects factor factors component
    components element elements input inputs output outputs scenario scenarios amount part
    parts point points level object objects observation observations measurement measurements
    give gives giving take takes taken future superior high-quality low-cost state-of-art
    outstanding remarkable promising comprehensive detailed thorough various diverse novelty
    """
)
# Adjective and participle endings: a theme names a thing, so a phrase never ends in one.
_ADJECTIVE_ENDINGS = ("ous", "ful", "less", "ive", "able", "ible", "al", "ed", "ic", "ary", "ar")
_ENDING_NOUNS = _wordset(
    """
    signal signals potential potentials material materials interval intervals retrieval removal
    survival terminal terminals tutorial tutorials animal animals hospital hospitals metal metals
    crystal crystals journal journals trial trials proposal proposals arrival manual manuals
    principal capital proposal approval rival rivals portal portals protocol
    objective objectives derivative derivatives alternative alternatives perspective perspectives
    incentive incentives directive directives narrative narratives primitive primitives
    initiative initiatives representative representatives detective explosive explosives
    variable variables table tables cable cables observable observables syllable syllables
    logic topic topics music clinic clinics arithmetic traffic fabric metric metrics heuristic
    heuristics characteristic characteristics statistic statistics epidemic pandemic mosaic
    graphic graphics magic rhetoric republic panic critic critics mechanic relic harmonic
    harmonics polynomial polynomials functional functionals integral integrals differential
    differentials tensor manifold seed speed feed need bed red shed bleed breed
    dictionary dictionaries boundary boundaries library libraries summary summaries glossary
    anniversary binary binaries secretary salary vocabulary itinerary estuary sanctuary
    radar lidar sonar pillar pillars calendar sugar seminar grammar scholar scholars dollar
    dollars scalar scalars guitar
    """
)
# Adverbs end in -ly; these nouns do too.
_LY_NOUNS = _wordset(
    "anomaly family assembly supply monopoly butterfly italy july ply poly reply fly rely apply"
    " homology topology ontology biology methodology technology"
)
_UNCHANGED_PLURALS = _wordset(
    """
    data media criteria analysis bias lens gas mass class series species news physics mathematics
    chaos corpus status focus basis axis thesis nucleus radius virus consensus apparatus campus
    bus plus minus versus cosmos atlas alias canvas ethics economics statistics dynamics
    kinetics genetics genomics robotics graphics optics electronics mechanics linguistics
    logistics semantics metrics
    """
)
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_BARRIER_CHARS = re.compile(r"[^\w\s'’-]")


def _singular(word: str) -> str:
    """A crude singular for the last word of a phrase key: merges "models" and "model"."""
    if len(word) <= 3 or word in _UNCHANGED_PLURALS or not word.endswith("s"):
        return word
    if word.endswith(("ss", "us", "is", "ics")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes", "zes")):
        return word[:-2]
    return word[:-1]


# Per token: (surface, lower-case form, singular form, may open a phrase, may close one,
# is generic, is "of"). The empty tuple marks a token that breaks phrases (numbers, symbols).
_Token = tuple[str, str, str, bool, bool, bool, bool] | tuple[()]
_BARRIER: tuple[()] = ()


def _token(token: str) -> _Token:
    """What a token can be in a phrase."""
    if _BARRIER_CHARS.match(token):
        return _BARRIER
    lower = token.lower()
    if lower.endswith(("'s", "’s")):
        lower = lower[:-2]
    if lower.isdigit() or not any(c.isalpha() for c in lower):
        return _BARRIER
    adverb = lower.endswith("ly") and len(lower) > 4 and lower not in _LY_NOUNS
    opens = lower not in STOP_WORDS and not adverb and len(lower) > 1
    # Adjectives may open a phrase ("neural network") but not close one ("graph neural").
    adjective = len(lower) > 4 and lower.endswith(_ADJECTIVE_ENDINGS) and lower not in _ENDING_NOUNS
    closes = opens and not adjective
    return token, lower, _singular(lower), opens, closes, lower in GENERIC_WORDS, lower == "of"


def _clean(text: str) -> str:
    # Math and URLs are never themes; they become phrase barriers.
    if "$" in text or "\\" in text:
        text = MATH_RE.sub(" ; ", text)
        if "\\" in text:
            text = latex_to_text(text)
    if "://" in text or "www." in text:
        text = URL_RE.sub(" ; ", text)
    return text


def _doc_phrases(text: str, cache: dict[str, _Token]) -> dict[str, str]:
    """Phrase key -> first surface form, for every candidate phrase of one document.

    One pass with a window of the two previous tokens; a stop-word other than "of" or a
    barrier empties the window, since no phrase may span it.
    """
    found: dict[str, str] = {}
    p1: _Token = _BARRIER
    p2: _Token = _BARRIER
    for raw in _TOKEN.findall(_clean(text)):
        rec = cache.get(raw)
        if rec is None:
            rec = cache[raw] = _token(raw)
        if not rec:
            p1 = p2 = _BARRIER
            continue
        surface, _, single, opens, closes, generic, is_of = rec
        if not opens:
            if is_of and p1 and p1[3]:
                p2, p1 = p1, rec
            else:
                p1 = p2 = _BARRIER
            continue
        if closes:
            if not generic and single not in found:
                found[single] = surface
            if p1:
                s1, l1, _, o1, _, g1, of1 = p1
                # "learning models", "training data": the tail of a longer, real phrase.
                if o1 and not (g1 and generic) and not (generic and l1.endswith("ing")):
                    key = f"{l1} {single}"
                    if key not in found:
                        found[key] = f"{s1} {surface}"
                if p2 and p2[3]:
                    s2, l2, _, _, _, g2, _ = p2
                    # "of" carries no content: "number of parameters" is all generic.
                    if not (g2 and generic and (g1 or of1)):
                        key = f"{l2} {l1} {single}"
                        if key not in found:
                            found[key] = f"{s2} {s1} {surface}"
        p2, p1 = p1, rec
    return found


def phrase_key(phrase: str) -> str:
    """The normalised key a phrase is counted under (lower case, last word singular)."""
    words = [w.lower().removesuffix("'s").removesuffix("’s") for w in phrase.split()]
    if not words:
        return ""
    words[-1] = _singular(words[-1])
    return " ".join(words)


# What each raw token can be in a phrase (see _token, a pure function): shared by every call,
# since abstracts repeat their vocabulary; emptied when it grows past the bound.
_TOKENS: dict[str, _Token] = {}
_TOKENS_MAX = 200_000


def _token_cache() -> dict[str, _Token]:
    if len(_TOKENS) > _TOKENS_MAX:
        _TOKENS.clear()
    return _TOKENS


def document_phrases(text: str) -> frozenset[str]:
    """The candidate phrases of one text, keyed by :func:`phrase_key` (what
    :func:`document_frequencies` counts once per text)."""
    return frozenset(_doc_phrases(text, _token_cache()))


def document_spellings(text: str) -> dict[str, str]:
    """The candidate phrases of one text, keyed by :func:`phrase_key`, each with its spelling as
    first written there."""
    return _doc_phrases(text, _token_cache())


def document_frequencies(texts: Iterable[str]) -> Counter[str]:
    """In how many of ``texts`` each candidate phrase occurs, keyed by :func:`phrase_key`.

    Use it on a large sample of past abstracts to build the ``background`` of
    :func:`key_phrases`.
    """
    cache = _token_cache()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_doc_phrases(text, cache).keys())
    return counts


def _subsumed(df: Mapping[str, int], min_df: int) -> set[str]:
    """Phrases that mostly occur inside one longer phrase ("large language" in "large language
    model"): the longer one is the theme, the fragment is noise."""
    out: set[str] = set()
    for key, count in df.items():
        if count < min_df or " " not in key:
            continue
        words = key.split()
        prefix = " ".join([*words[:-2], _singular(words[-2])])
        suffix = " ".join(words[1:])
        for part in (prefix, suffix):
            if count >= 0.6 * df.get(part, 0):
                out.add(part)
    return out


def _initials(key: str) -> str:
    return "".join(w[0] for w in key.split())


def _contains(long_: tuple[str, ...], short: tuple[str, ...]) -> bool:
    """True when ``short`` is a contiguous part of ``long_``."""
    k = len(short)
    return any(long_[i : i + k] == short for i in range(len(long_) - k + 1))


def _overlaps(candidate: tuple[str, ...], chosen: tuple[str, ...]) -> bool:
    """True when one phrase is a contiguous part of the other ("language model" in "large ...")."""
    if len(candidate) <= len(chosen):
        return _contains(chosen, candidate)
    return _contains(candidate, chosen)


def key_phrases(
    texts: Sequence[str],
    *,
    limit: int = 5,
    background: Mapping[str, int] | None = None,
    background_docs: int = 0,
) -> list[str]:
    """Up to ``limit`` phrases that characterise ``texts`` (abstracts), most salient first.

    Candidates are 1-3 word n-grams without stop-words at their ends, counted once per text.
    With a ``background`` (document frequencies from :func:`document_frequencies` over
    ``background_docs`` texts) a phrase scores by TF-IDF against it, so what is merely common
    everywhere ranks low; without one, by frequency in the batch with a bonus for 2-3 word
    phrases. A phrase contained in a better one ("language model" in "large language model"),
    or the acronym of one ("LLM"), is dropped. Phrases come back in their most common spelling
    ("LLMs", "large language models"). Ties break alphabetically, so the result is
    deterministic.
    """
    if limit <= 0:
        return []
    cache = _token_cache()
    per_doc = [_doc_phrases(t, cache) for t in texts if t and not t.isspace()]
    n_docs = len(per_doc)
    if not n_docs:
        return []
    df: Counter[str] = Counter()
    for found in per_doc:
        df.update(found.keys())
    # A theme recurs; a phrase from a single paper is that paper's topic, not the batch's.
    min_df = 1 if n_docs < 3 else 2
    subsumed = _subsumed(df, min_df)
    use_background = background is not None and background_docs > 0
    scored: list[tuple[float, str]] = []
    for key, count in df.items():
        if count < min_df or key in subsumed:
            continue
        length = key.count(" ") + 1
        if background is not None and use_background:
            seen = min(background.get(key, 0), background_docs)
            idf = math.log((background_docs + 1) / (seen + 1))
            score = count * idf * (1.0, 1.5, 1.7)[length - 1]
        else:
            # Frequency in the batch, damped for phrases in most texts; longer phrases are
            # more specific, and specificity is what a themes line needs.
            idf = math.log(1 + n_docs / count)
            score = count * idf * (1.0, 2.0, 2.5)[length - 1]
        if score > 0:
            scored.append((score, key))
    scored.sort(key=lambda item: (-item[0], item[1]))

    chosen: list[str] = []
    chosen_words: list[tuple[str, ...]] = []
    for _, key in scored:
        words = tuple(key.split())
        if any(_overlaps(words, other) for other in chosen_words):
            continue
        initials = _initials(key)
        if len(words) == 1 and any(
            len(o) > 1 and _initials(" ".join(o)) == key for o in chosen_words
        ):
            continue  # "LLM" after "large language model"
        if len(words) > 1 and any(len(o) == 1 and o[0] == initials for o in chosen_words):
            continue  # "large language model" after "LLM"
        chosen.append(key)
        chosen_words.append(words)
        if len(chosen) >= limit:
            break

    surfaces: dict[str, Counter[str]] = {key: Counter() for key in chosen}
    for found in per_doc:
        for key in chosen:
            surface = found.get(key)
            if surface is not None:
                surfaces[key][surface] += 1
    return [_readable(surfaces[key]) for key in chosen]


def _readable(spellings: Counter[str]) -> str:
    """The most common spelling, not counting a capital that only opens a sentence."""
    merged = Counter(spellings)
    for spelling, count in spellings.items():
        first = spelling.split(" ", 1)[0]
        lowered = spelling[0].lower() + spelling[1:]
        if (
            lowered != spelling
            and first[:1].isupper()
            and first[1:].islower()
            and lowered in merged
        ):
            merged[lowered] += count
            del merged[spelling]
    return min(merged.items(), key=lambda kv: (-kv[1], kv[0]))[0]


# --- themes of a digest ---------------------------------------------------------------------------

_LENGTH_BONUS = (1.0, 2.0, 2.5)
_second = itemgetter(1)


def _acronym_of(short: tuple[str, ...], long_: tuple[str, ...]) -> bool:
    """Whether one-word ``short`` is the initials of ``long_`` ("llm", "large language model")."""
    if len(short) != 1 or len(long_) < 2:
        return False
    initials = "".join(w[0] for w in long_)
    return short[0] in (initials, initials + "s")


def theme_score(count: int, words: int, n: int) -> float:
    """How a phrase of ``words`` words found in ``count`` of ``n`` texts ranks as a theme:
    count x log(1 + n/count) x a bonus for 2-3 words (increasing with the count)."""
    return count * math.log(1 + n / count) * _LENGTH_BONUS[min(3, words) - 1]


def choose_themes(
    candidates: Sequence[Mapping[str, int]], n: int, limit: int, *, min_count: int = 1
) -> list[tuple[str, ...]]:
    """Up to ``limit`` phrases of ``candidates`` (per number of words: key -> papers of ``n``
    having it, at least ``min_count``), best first.

    Scored by :func:`theme_score`, ties alphabetical; a phrase is out when a longer candidate
    holding it as its start or end is in at least 0.6 as many papers (the fragment is mostly
    seen inside it), or when it overlaps or abbreviates one chosen already.

    The score depends on the count and the number of words only, so groups of one count and
    length are visited best first, and only the candidates of the groups reached are looked
    at (each length sorted by count once, in C); whether a phrase is subsumed is settled only
    for the phrases reached, against the longer candidates in at least 0.6 as many papers.
    """
    ranked = [sorted(m.items(), key=_second, reverse=True) for m in candidates]
    lows = [[-c for _, c in r] for r in ranked]  # ascending, for bisect
    if min_count > 1:  # the rest cut off where the counts fall below it (found in C)
        for words, low in enumerate(lows):
            end = bisect_right(low, -min_count)
            del ranked[words][end:], low[end:]
    counts = sorted({-c for low in lows for c in low}, reverse=True)
    by_score: dict[float, list[tuple[int, int]]] = {}
    for c in counts:
        for words in (0, 1, 2):
            by_score.setdefault(-theme_score(c, words + 1, n), []).append((c, words))

    def group(count: int, words: int) -> list[tuple[str, int, int]]:
        low = lows[words]
        start = bisect_left(low, -count)
        end = bisect_right(low, -count, start)
        return [(key, count, words) for key, _ in ranked[words][start:end]]

    # The most papers a longer candidate holding a phrase as its start or end is in, over the
    # longer candidates registered so far (most papers first).
    holders: dict[str, int] = {}
    registered = [0, 0, 0]

    def subsumed(key: str, count: int, words: int) -> bool:
        if words >= 2:
            return False  # no candidate is longer than three words
        need = 0.6 * count
        longer = ranked[words + 1]
        at = registered[words + 1]
        while at < len(longer) and longer[at][1] >= need:
            holder, c = longer[at]
            at += 1
            for part in (holder[: holder.rfind(" ")], holder[holder.find(" ") + 1 :]):
                if c > holders.get(part, 0):
                    holders[part] = c
        registered[words + 1] = at
        return holders.get(key, 0) >= need

    chosen: list[tuple[str, ...]] = []
    for score in sorted(by_score):
        keys = sorted(entry for cw in by_score[score] for entry in group(*cw))
        for key, count, words in keys:
            if subsumed(key, count, words):
                continue
            phrase = tuple(key.split())
            if any(_overlaps(phrase, o) for o in chosen):
                continue
            if any(_acronym_of(phrase, o) or _acronym_of(o, phrase) for o in chosen):
                continue  # "llm" beside "large language model"
            chosen.append(phrase)
            if len(chosen) >= limit:
                return chosen
    return chosen


def preferred_spelling(spellings: Mapping[str, int]) -> str | None:
    """The spelling most texts use (spelling -> texts), a capital that only opens a sentence
    ("Diffusion models") lowered first; ties alphabetical; None when there is none."""
    merged: Counter[str] = Counter()
    for spelling, count in spellings.items():
        first, _, rest = spelling.partition(" ")
        if rest and first[:1].isupper() and first[1:].islower() and rest == rest.lower():
            spelling = spelling[0].lower() + spelling[1:]
        merged[spelling] += count
    if not merged:
        return None
    return min(merged.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def topic_summary_line(count: int, phrases: list[str]) -> str:
    """The digest's headline: ``"12 new papers · themes: LLMs, reinforcement learning"``."""
    head = "No new papers" if count <= 0 else plural(count, "new paper")
    if not phrases or count <= 0:
        return head
    return f"{head} · themes: {', '.join(phrases)}"
