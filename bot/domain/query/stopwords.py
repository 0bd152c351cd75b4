"""English stop-words: words so common that a query made only of them finds nearly everything.

The list is the classic NLTK English list with contraction forms written the way the query
tokeniser splits them ("don't" is the two tokens ``don`` and ``t``, so ``don`` and ``t`` are here).
Stop-words are never dropped from a query (phrases need them, and the in-memory matcher has no
reason to); a query whose words are all stop-words is flagged ``Query.broad`` so storage can pick a
cheaper plan than a full-text lookup of "the".
"""

from __future__ import annotations

_WORDS = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did
    doing a an the and but if or because as until while of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both each few more
    most other some such no nor not only own same so than too very s t can will just don
    should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn ma mightn
    mustn needn shan shouldn wasn weren won wouldn
"""
STOPWORDS: frozenset[str] = frozenset(_WORDS.split())


def is_stopword(word: str) -> bool:
    """Whether a folded query word (lower case, no accents) is an English stop-word."""
    return word in STOPWORDS
