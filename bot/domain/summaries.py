"""TL;DR of an abstract: the sentence that states the contribution, and the best result if it fits.

Extractive and cue-based on purpose: it runs on every paper of every digest, must be instant and
deterministic, and an abstract's own sentence never misstates the paper.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from bot.domain.text import MATH_RE, URL_RE, collapse_ws, latex_to_text, shorten

__all__ = ["split_sentences", "tldr"]


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# --- sentence splitting --------------------------------------------------------------------

# A period after one of these never ends a sentence when a capital or digit follows
# ("e.g. Transformers", "Fig. 3", "Phys. Rev. Lett."). Lower case, without the final period.
_ABBREVIATIONS = _wordset(
    """
    e.g eg i.e ie cf vs v viz approx ca resp fig figs eq eqs ref refs sec secs tab tabs no nos
    vol vols pp p ch chap thm lem prop def cor rem ex dr mr mrs ms prof st mt jr sr inc ltd co
    corp dept univ jan feb mar apr jun jul aug sep sept oct nov dec phys rev lett math ann
    comput j nat proc sci acad natl appl int conf trans astron astrophys chem biol opt mech
    stat eng res soc am eur mon not phil camb sov nucl comm commun geom anal theor fund
    """
)
# After an initial ("A. Wires"), "et al." or a dotted acronym ("U.S."), a period ends the sentence
# only when a word that commonly opens a sentence follows; names and titles follow them too often.
_STARTERS = _wordset(
    """
    We Our The This These That Those It Its In Here However Finally Moreover Furthermore
    Additionally Also Further Thus Therefore Hence Then Such Specifically Using To As For On
    By With Based Besides Consequently Overall Experimental Experiments Results Numerical
    Extensive Finally Second Third First Last Next Unlike While Although Despite Several
    Many Most Both Each Several Recent Recently Existing Previous Current Currently
    """
)
_BOUNDARY = re.compile(
    r"(?P<punct>[.!?…]+)(?:[\"'”’)\]]*(?P<space>\s+)(?=\S)"
    # "accuracy.The results": a missing space after a full stop, common in submitted abstracts.
    r"|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z]))"
)
_INITIALS = re.compile(r"(?:[A-Z]\.)*[A-Z]|al")
_OPENERS = "([{\"'“‘"


def _protected(text: str) -> list[tuple[int, int]]:
    """Spans (math, URLs) inside which no sentence may end, sorted by start."""
    spans = [m.span() for m in MATH_RE.finditer(text)] if "$" in text or "\\" in text else []
    if "://" in text or "www." in text:
        spans.extend(m.span() for m in URL_RE.finditer(text))
        spans.sort()
    return spans


def _inside(spans: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    i = bisect_right(starts, pos) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    if m.group("space") is None:  # the missing-space alternative
        return True
    punct = m.group("punct")
    nxt = text[m.end()] if m.end() < len(text) else ""
    if nxt.islower():
        return False
    if "." not in punct or len(punct) > 1:
        return True  # "?", "!", "…", "..." before a capital or digit
    start = text.rfind(" ", 0, m.start()) + 1
    prev = text[start : m.start()].lstrip(_OPENERS)
    if prev.lower() in _ABBREVIATIONS:
        return False
    if _INITIALS.fullmatch(prev):
        word_end = m.end()
        while word_end < len(text) and text[word_end].isalpha():
            word_end += 1
        return text[m.end() : word_end] in _STARTERS
    return True


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (an abstract), whitespace collapsed, LaTeX and URLs intact.

    Periods in abbreviations ("e.g.", "et al.", "Fig. 2", "vs.", "U.S."), initials, decimals,
    inline math and URLs do not end a sentence.
    """
    text = collapse_ws(text)
    if not text:
        return []
    spans = _protected(text)
    starts = [s for s, _ in spans]
    sentences: list[str] = []
    begin = 0
    for m in _BOUNDARY.finditer(text):
        if spans and _inside(spans, starts, m.start()):
            continue
        if not _ends_sentence(text, m):
            continue
        end = m.start("space") if m.group("space") is not None else m.end()
        piece = text[begin:end].strip()
        if piece:
            sentences.append(piece)
        begin = m.end()
    tail = text[begin:].strip()
    if tail:
        sentences.append(tail)
    return sentences


# --- scoring -------------------------------------------------------------------------------

# (pattern, weight, trigger words, needed texts): a pattern only runs when the sentence has one
# of its trigger words and, when given, contains one of the needed texts (literals every match
# holds, such as the verbs of _MAKE). Regex searches dominate the cost of a TL;DR and most cues
# are absent from most sentences, so a set test first keeps one abstract well under a
# millisecond.
_Cues = tuple[tuple[re.Pattern[str], float, frozenset[str], tuple[str, ...]], ...]
_TOKEN = re.compile(r"[a-z]+|[%×]")


def _cues(*specs: tuple[str, float, str] | tuple[str, float, str, str]) -> _Cues:
    return tuple(
        (re.compile(spec[0]), spec[1], frozenset(spec[2].split()), tuple(spec[3].split()))
        if len(spec) == 4
        else (re.compile(spec[0]), spec[1], frozenset(spec[2].split()), ())
        for spec in specs
    )


_WORK = (
    r"(?:paper|work|study|article|letter|note|manuscript|thesis|report|research|review|"
    r"contribution|chapter|survey|project|tutorial|dissertation|essay|communication)"
)
_MAKE = (
    r"(?:propos|present|introduc|develop|design|devis|construct|establish|formulat|build|"
    r"creat|contribut|offer|describ|report|put(?:s|ting)? forward|provid|giv)"
    r"(?:e|es|ed|ing|s|d|en)?\b"
)
# Every match of _MAKE holds one of these.
_MAKE_TEXTS = (
    "propos present introduc develop design devis construct establish formulat build creat "
    "contribut offer describ report put provid giv"
)
_PASSIVE = "proposed presented introduced developed"
# A sentence with one of these states the paper's contribution; it outranks any other cue.
# All cues are matched against the lower-cased sentence.
_STRONG = _cues(
    (
        rf"\bwe (?:have |then |further |also |here |now |first |\w+ly )*{_MAKE}",
        4,
        "we",
        _MAKE_TEXTS,
    ),
    (rf"\bwe\b[^.;]{{0,80}}?\b(?:to|and) {_MAKE}", 3, "we", _MAKE_TEXTS),
    (
        rf"\b(?:this|the present|the current|these) (?:\w+ )?{_WORK}s?,? (?:\w+ly )?"
        r"(?!was\b|has\b|is\b|as\b)(?:\w+(?:s|ed)\b|aims? to|seeks? to|is (?:devoted|dedicated)"
        r" to|is (?:concerned|focused) (?:with|on))",
        4,
        "this present current these",
    ),
    (
        rf"\b(?:purpose|aim|goal|objective|focus)s? of (?:this|the present|our) {_WORK}\b",
        4,
        "purpose purposes aim aims goal goals objective objectives focus",
    ),
    (
        r"\b(?:is|are|was|were) (?:\w+ly )?(?:proposed|presented|introduced|developed) "
        r"(?:here|in this)",
        4,
        _PASSIVE,
    ),
    (
        r"\b(?:the )?(?:main|key|primary|central) (?:contribution|result|finding|idea)s? of "
        rf"(?:this|the present|our) {_WORK}",
        4,
        "main key primary central",
    ),
)
_CONTRIBUTION = _cues(
    (rf"\bin this (?:\w+ )?{_WORK}\b", 2, "this"),
    (r"\bhere,? we\b", 2, "here"),
    (r"\bwe (?:also |then |further |\w+ly )*(?:show|prove|derive|obtain|demonstrate|find|"
     r"discover|establish)", 3, "we",
     "show prove derive obtain demonstrate find discover establish"),
    (r"\bit is (?:\w+ly )?(?:shown|proved|proven|demonstrated|found)\b(?! by)", 2,
     "shown proved proven demonstrated found"),
    (r"\bwe (?:have |then |also |further |\w+ly )*(?:stud(?:y|ied)|investigat|examin|explor|"
     r"analy[sz]|consider|address|compar|evaluat|assess|benchmark|characteri[sz]|quantif|"
     r"measur|report|delv|focus|tackl|aim|seek|revisit|discuss|review|summari[sz]|suggest|"
     r"calculat|comput|simulat|determin|solv|identif|estimat|implement|perform|conduct|"
     r"search)", 2, "we"),
    (r"\b(?:is|are) (?:\w+ly )?(?:studied|investigated|analy[sz]ed|examined|considered|"
     r"discussed|explored|derived|obtained|reported|addressed)\b", 2,
     "studied investigated analyzed analysed examined considered discussed explored derived "
     "obtained reported addressed"),
    (r"\bwe\b", 1, "we"),
    (r"\bour (?:\w+ )?(?:method|approach|model|framework|system|algorithm|technique|design|"
     r"architecture|pipeline|tool)s?\b", 2, "our"),
    (r"\b(?:is|are) (?:\w+ly )?(?:proposed|presented|introduced|developed)\b", 2, _PASSIVE),
    (r"\b(?:main|key) (?:contribution|result|finding|idea)s?\b", 2, "main key"),
    (r"\bto (?:the best of )?our (?:best )?knowledge\b", 2, "knowledge"),
    (r"\bnovel\b|\bnew\b|\bfirst\b", 1, "novel new first"),
)  # fmt: skip
_RESULT = _cues(
    (r"\d(?:\.\d+)?\s*(?:\\?%|percent\b|pp\b|percentage points?)", 3, "% percent pp percentage"),
    (r"state-of-the-art|\bsota\b|\bnew record\b", 2, "state sota record"),
    (r"\bup to \d+(?:\.\d+)?\s*(?:x|×|times|-?fold)|\d(?:\.\d+)?\s*(?:x|×|-fold)\b", 3,
     "x × fold times"),
    (r"\boutperform|\bsurpass|\bbeats?\b|\bexceed", 3,
     "outperform outperforms outperformed outperforming surpass surpasses surpassed surpassing "
     "beat beats exceed exceeds exceeded exceeding"),
    (r"\b(?:results?|experiments?|evaluations?|simulations?|analys[ie]s|findings) (?:\w+ )?"
     r"(?:show|demonstrate|indicate|reveal|suggest|confirm|verify|validate|prove)", 3,
     "result results experiment experiments evaluation evaluations simulation simulations "
     "analysis analyses findings"),
    (r"\bwe\b[^.;]{0,80}?\b(?:find|found|observe|show|demonstrate)d? that\b", 2, "we", " that"),
    (r"\bachiev|\bimprov|\breduc|\bspeed-?up|\bfaster\b|\bgains?\b|\bboost", 1,
     "achieve achieves achieved achieving improve improves improved improving improvement "
     "improvements reduce reduces reduced reducing reduction reductions speedup speed faster "
     "gain gains boost boosts boosting boosted"),
    (r"\bsignificant(?:ly)?\b|\bsubstantial(?:ly)?\b|\bconsistent(?:ly)?\b", 1,
     "significant significantly substantial substantially consistent consistently"),
    (r"\baccuracy\b|\bf1\b|\bauc\b|\berror\b|\bprecision\b", 1, "accuracy f auc error precision"),
)  # fmt: skip
_BACKGROUND = _cues(
    (r"\brecent(?:ly)?\b|\bin recent years\b|\bnowadays\b", 2, "recent recently nowadays"),
    (r"\b(?:has|have) (?:\w+ )?(?:become|shown|been (?:widely|extensively|increasingly)|"
     r"attracted|gained|received|drawn|emerged|demonstrated|achieved|proven|seen)\b", 2,
     "has have"),
    (r"\b(?:is|are|remains?) (?:a |an )?(?:\w+ )?(?:fundamental|crucial|critical|essential|"
     r"important|central|key|major|long-standing|ubiquitous|widely used|promising)\b", 2,
     "fundamental crucial critical essential important central key major long ubiquitous "
     "widely promising"),
    (r"\bplays? (?:a|an) (?:\w+ )?role\b", 2, "role"),
    (r"\bhowever\b|\bexisting\b|\bdespite\b|\bsuffer|\bconventional\b|\btraditional\b", 2,
     "however existing despite suffer suffers suffering suffered conventional traditional"),
    (r"\b(?:remains?|is|are) (?:still )?(?:a |an )?(?:\w+ )?(?:challenge|challenging|open|"
     r"unclear|unknown|limited|lacking|difficult|unexplored|underexplored|elusive)\b", 2,
     "challenge challenging open unclear unknown limited lacking difficult unexplored "
     "underexplored elusive"),
    (r"\bgrowing interest\b|\bincreasing(?:ly)?\b|\bwidely\b|\bprevious(?:ly)?\b|\bprior\b", 1,
     "growing increasing increasingly widely previous previously prior"),
)  # fmt: skip
# Sentences that are never the point: where the code lives, what future work holds.
_URL = re.compile(r"https?://|www\.|github\.")
_BOILERPLATE = re.compile(
    r"\bgithub\b|\b(?:code|implementation|data|dataset|models?|software|benchmark)s?"
    r"\b[^.;]{0,60}\b(?:is|are|will be|has been|have been|were|was) (?:made )?(?:publicly |freely |"
    r"openly )?(?:available|released|open-sourced)|\bavailable (?:at|on|from|online)\b"
    r"|\bwe (?:\w+ )?(?:release|open-source|make (?:our|the) [\w\s]{1,30}available)"
    r"|\bfuture (?:work|research|directions)\b|\baccepted (?:at|to|for|by)\b"
)
# Every match of _BOILERPLATE holds one of these.
_BOILERPLATE_TEXTS = ("github", "available", "release", "open-source", "future", "accepted")
_LABEL = re.compile(
    r"^(background|context|motivation|introduction|purpose|objectives?|aims?|goals?|methods?|"
    r"methodology|approach|design|materials and methods|results?|main results|findings|"
    r"conclusions?|significance|implications|discussion|summary)\s*:\s*",
    re.IGNORECASE,
)
# (contribution, result, background) added for a structured abstract's section label.
_LABEL_BONUS: dict[str, tuple[float, float, float]] = {
    **dict.fromkeys(("background", "context", "motivation", "introduction"), (0.0, 0.0, 4.0)),
    **dict.fromkeys(
        ("purpose", "objective", "objectives", "aim", "aims", "goal", "goals"), (4.0, 0.0, 0.0)
    ),
    **dict.fromkeys(("result", "results", "main results", "findings"), (0.0, 3.0, 0.0)),
    **dict.fromkeys(("conclusion", "conclusions", "significance"), (2.0, 1.0, 0.0)),
}
# Discourse openers that add nothing to a stand-alone summary sentence.
_LEAD_IN = re.compile(
    r"^(?:(?:moreover|furthermore|additionally|in addition|finally|specifically|thus|hence|"
    r"therefore|overall|besides|consequently|further|also|next|then|first|second|third|lastly|"
    r"notably|importantly|in particular|in summary|in conclusion|to this end|here|as a result|"
    r"to (?:address|overcome|tackle|solve|fill|bridge|mitigate|alleviate|resolve) (?:this|these|"
    r"the|such|those) [\w -]{1,30}?|in this (?:paper|work|study|article|letter|note|manuscript|"
    r"context)),\s+|(?:in this (?:paper|work|study|article|letter|note|manuscript)|here)\s+"
    r"(?=we\b))",
    re.IGNORECASE,
)
# Acronym definitions ("network (CNN)") and e.g./i.e. glosses: the cheapest words to lose.
_PARENTHETICAL = re.compile(
    r" \((?P<acronym>[A-Za-z][\w-]{0,14}?[A-Z][\w-]{0,14}s?)\)|"
    r" \((?:e\.g\.|i\.e\.|such as|including)[^()]{1,60}\)"
)
_DISPLAY_MATH = re.compile(
    r"\$\$.+?\$\$|\\\[.+?\\\]|\\begin\{(equation|align|eqnarray|gather|multline|displaymath)"
    r"(\*?)\}.+?\\end\{\1\2\}",
    re.DOTALL,
)
# "We also present", "Finally, we introduce": a side contribution, not the headline.
_SECONDARY = re.compile(
    r"\bwe (?:also|further|additionally|finally)\b|^(?:also|additionally|furthermore|"
    r"moreover|finally|in addition|besides|lastly)\b"
)
_FIRST_PERSON = re.compile(r"\bI\b(?![.'’])")


@dataclass(frozen=True, slots=True)
class _Scored:
    index: int
    raw: str
    strong: float
    contribution: float
    result: float
    background: float
    boilerplate: bool
    display_math: bool

    @property
    def tier(self) -> int:
        """2: states the contribution; 1: some first-person claim; 0: neither."""
        if self.strong > 0:
            return 2
        return 1 if self.contribution >= 2 else 0


def _score(cues: _Cues, text: str, words: frozenset[str]) -> float:
    return sum(
        w
        for rx, w, triggers, needs in cues
        if not words.isdisjoint(triggers)
        and (not needs or any(n in text for n in needs))
        and rx.search(text)
    )


def _scored(index: int, sentence: str) -> _Scored:
    # Single-author abstracts say "I"; score them like "we".
    lower = _FIRST_PERSON.sub("we", sentence).lower() if "I" in sentence else sentence.lower()
    words = frozenset(_TOKEN.findall(lower))
    strong = _score(_STRONG, lower, words)
    contribution = strong + _score(_CONTRIBUTION, lower, words)
    if contribution > 0 and _SECONDARY.search(lower):
        contribution -= 2
    result = _score(_RESULT, lower, words)
    background = _score(_BACKGROUND, lower, words)
    label = _LABEL.match(sentence)
    if label:
        c, r, b = _LABEL_BONUS.get(label.group(1).lower(), (0.0, 0.0, 0.0))
        contribution, result, background = contribution + c, result + r, background + b
        strong += c if c >= 4 else 0.0
    if len(sentence) < 25:  # fragments: a heading, "Results are mixed."
        contribution -= 2
        result -= 2
    # Where the code lives is never the point, though "we present X, open-sourced at ..." is.
    boilerplate = bool(_URL.search(lower)) or (
        strong == 0
        and any(n in lower for n in _BOILERPLATE_TEXTS)
        and bool(_BOILERPLATE.search(lower))
    )
    return _Scored(
        index,
        sentence,
        strong,
        contribution,
        result,
        background,
        boilerplate,
        bool(_DISPLAY_MATH.search(sentence)),
    )


def _render(sentence: str) -> str:
    text = latex_to_text(_DISPLAY_MATH.sub(" … ", sentence))
    text = _LABEL.sub("", text, count=1)
    stripped = _LEAD_IN.sub("", text, count=1)
    if stripped != text and stripped:
        first = stripped.split(" ", 1)[0]
        # Re-capitalise "we ...", "real-time ..." but not "mRNA", "pH", "iPhone" or "$x$".
        if first[:1].isalpha() and first.islower():
            stripped = stripped[0].upper() + stripped[1:]
        text = stripped
    return text


def _fit(parts: list[str], max_chars: int) -> str | None:
    """The sentences joined, compressed if needed, or None when they cannot fit."""
    joined = " ".join(parts)
    if len(joined) <= max_chars:
        return joined
    joined = _compress(joined)
    return joined if len(joined) <= max_chars else None


def _compress(text: str) -> str:
    """``text`` without glosses and without definitions of acronyms it does not use again."""

    def drop(m: re.Match[str]) -> str:
        acronym = m.group("acronym")
        if acronym is not None and text.count(acronym) > 1:
            return m.group()
        return ""

    return _PARENTHETICAL.sub(drop, text)


def tldr(abstract: str, *, max_chars: int = 280, max_sentences: int = 2) -> str:
    """A one- or two-sentence TL;DR of ``abstract``, at most ``max_chars`` characters.

    The sentence stating the contribution ("we propose…", "this paper studies…") comes first;
    the strongest result sentence (numbers, "outperforms", "results show") is added when it fits,
    and the chosen sentences keep their original order. Background, motivation and
    code-availability sentences are avoided. LaTeX is lightly rendered as Unicode; a single
    sentence longer than ``max_chars`` is cut at a word boundary with "…". An empty abstract gives
    ``""``.
    """
    if max_chars <= 0 or max_sentences <= 0:
        return ""
    sentences = split_sentences(abstract)
    if not sentences:
        return ""
    scored = [_scored(i, s) for i, s in enumerate(sentences)]
    useful = [s for s in scored if not s.boilerplate] or scored
    any_cue = any(s.tier > 0 or s.result >= 3 for s in useful)

    def primary_key(s: _Scored) -> tuple[int, float, int]:
        # The opening sentence is background far more often than not, unless it says "we".
        opening = 3.0 if s.index == 0 and s.tier == 0 else 0.0
        # A comparison with "existing methods" is no reason to lose the contribution sentence,
        # hence the halved background weight; and the first statement of it is the headline.
        if s.tier == 2:
            score = s.contribution + 0.5 * s.result - 0.5 * s.background - 0.25 * s.index
        else:
            score = s.contribution + 0.5 * s.result - s.background - opening
        return (s.tier, score, -s.index)

    if any_cue:
        primary = max(useful, key=primary_key)
    else:
        # No cue anywhere (a short math or physics abstract): the opening statement, unless it
        # is plainly background, says what the paper is about.
        primary = min(useful, key=lambda s: (s.background, s.index))

    chosen = [primary]
    rendered = {primary.index: _render(primary.raw)}
    rest = [s for s in useful if s.index != primary.index]
    # Results first, then other contribution statements; each must carry a real cue.
    rest.sort(key=lambda s: (-(2 * s.result + s.contribution - s.background), s.index))
    for cand in rest:
        if len(chosen) >= max_sentences:
            break
        if (cand.result < 3 and cand.contribution < 3) or cand.display_math:
            continue
        text = _render(cand.raw)
        trial = sorted([*chosen, cand], key=lambda s: s.index)
        parts = [rendered.get(s.index, text) for s in trial]
        if _fit(parts, max_chars) is not None:
            chosen = trial
            rendered[cand.index] = text
    parts = [rendered[s.index] for s in chosen]
    fitted = _fit(parts, max_chars)
    if fitted is not None:
        return fitted
    return shorten(_compress(parts[0]), max_chars)
