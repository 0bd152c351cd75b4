"""Message shaping: shortening, author lists, packing lines into messages, light LaTeX cleanup."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

__all__ = [
    "chunk_lines",
    "collapse_ws",
    "latex_to_text",
    "plural",
    "shorten",
    "shorten_authors",
]

# Trailing punctuation that reads badly right before an ellipsis ("results, …").
_DANGLING = " \t\r\n\f\v,;:-–—/([{"


def collapse_ws(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) turned into one space, trimmed."""
    return " ".join(text.split())


def shorten(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, ellipsis included, at a word boundary.

    Text that fits is returned unchanged. A cut falls on whitespace unless no whitespace precedes
    the limit (one long word or URL), in which case the word itself is cut. The result is always a
    prefix of ``text`` (trailing whitespace and dangling punctuation dropped) followed by
    ``ellipsis``; if even the ellipsis does not fit, a bare prefix of ``text``.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    budget = limit - len(ellipsis)
    if budget < 0:
        return text[:limit]
    head = text[:budget]
    if not text[budget].isspace():
        # Back up to the last whitespace so no word is cut; keep the hard cut when the only
        # whitespace is leading (a single word longer than the limit).
        cut = len(head)
        while cut > 0 and not head[cut - 1].isspace():
            cut -= 1
        if head[:cut].strip():
            head = head[:cut]
    head = head.rstrip(_DANGLING) or head.rstrip()
    return head + ellipsis


def shorten_authors(names: Sequence[str], limit: int, *, max_names: int = 3) -> str:
    """A by-line such as ``"A. Smith, B. Jones, C. Wu et al."`` of at most ``limit`` characters.

    At most ``max_names`` names are listed before "et al."; fewer are listed when the line would
    not fit, and a single name too long for the limit is shortened.
    """
    if limit <= 0:
        return ""
    cleaned = [n for n in (collapse_ws(name) for name in names) if n]
    if not cleaned:
        return ""
    max_names = max(1, max_names)
    shown = min(len(cleaned), max_names)
    for k in range(shown, 0, -1):
        line = ", ".join(cleaned[:k])
        if k < len(cleaned):
            line += " et al."
        if len(line) <= limit:
            return line
    if len(cleaned) == 1:
        return shorten(cleaned[0], limit)
    # Even "First et al." is too long: shorten the first name but keep the "et al." when it
    # leaves room for a few characters of the name, since it says there are co-authors.
    suffix = " et al."
    if limit - len(suffix) >= 4:
        return shorten(cleaned[0], limit - len(suffix)) + suffix
    return shorten(cleaned[0] + suffix, limit)


def chunk_lines(lines: Sequence[str], limit: int) -> list[str]:
    """``lines`` packed in order into newline-joined chunks of at most ``limit`` characters.

    A line longer than ``limit`` is shortened (see :func:`shorten`). Blank lines at the start or
    end of a chunk are dropped (they only separated content now split across messages), so no
    chunk is empty: chat platforms refuse empty messages.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    chunks: list[str] = []
    current: list[str] = []
    size = 0

    def close() -> None:
        while current and not current[-1].strip():
            current.pop()
        if current:
            chunks.append("\n".join(current))

    for raw in lines:
        line = shorten(raw, limit)
        if not current:
            if line.strip():
                current, size = [line], len(line)
        elif size + 1 + len(line) <= limit:
            current.append(line)
            size += 1 + len(line)
        else:
            close()
            current, size = ([line], len(line)) if line.strip() else ([], 0)
    close()
    return chunks


def plural(n: int, word: str, *, many: str | None = None) -> str:
    """``"1 paper"``, ``"3 papers"``; ``many`` gives an irregular plural (``plural(2, "index",
    many="indices")``). English regular rules apply to the last word otherwise."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {many if many is not None else _pluralise(word)}"


def _pluralise(word: str) -> str:
    if not word or not word[-1].isalpha():
        return word
    last = word.rsplit(" ", 1)[-1]
    if last.isupper() and len(last) > 1:
        return word + "s"  # acronyms: "LLMs", "GPUs"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


# --- light LaTeX cleanup -------------------------------------------------------------------

_SYMBOLS: dict[str, str] = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ",
    "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "φ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # relations, operators, arrows
    "times": "×", "cdot": "·", "pm": "±", "mp": "∓", "leq": "≤", "le": "≤", "geq": "≥",
    "ge": "≥", "leqslant": "≤", "geqslant": "≥", "neq": "≠", "ne": "≠", "approx": "≈",
    "sim": "~", "simeq": "≃", "equiv": "≡", "propto": "∝", "ll": "≪", "gg": "≫",
    "infty": "∞", "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒",
    "Leftarrow": "⇐", "leftrightarrow": "↔", "Leftrightarrow": "⇔", "mapsto": "↦",
    "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "cup": "∪",
    "cap": "∩", "setminus": "∖", "emptyset": "∅", "varnothing": "∅", "forall": "∀",
    "exists": "∃", "partial": "∂", "nabla": "∇", "sum": "∑", "prod": "∏", "int": "∫",
    "sqrt": "√", "ell": "ℓ", "hbar": "ħ", "circ": "∘", "deg": "°", "degree": "°",
    "ldots": "…", "dots": "…", "cdots": "⋯", "langle": "⟨", "rangle": "⟩", "oplus": "⊕",
    "otimes": "⊗", "star": "⋆", "ast": "*", "prime": "′", "dagger": "†", "wedge": "∧",
    "vee": "∨", "neg": "¬", "lvert": "|", "rvert": "|", "vert": "|", "mid": "|",
    # text-mode letters and escapes
    "ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ",
    "l": "ł", "L": "Ł", "i": "ı", "textasciitilde": "~", "textdegree": "°", "S": "§",
    "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊", "rfloor": "⌋", "rtimes": "⋊", "ltimes": "⋉",
}  # fmt: skip
_SPACING = {",", ";", ":", "!", " ", "quad", "qquad", "enspace", "thinspace"}
_SIZING = {
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle",
    "textstyle", "scriptstyle", "limits", "nolimits", "rm", "it", "bf", "sf", "tt", "em", "cal",
    "small", "footnotesize", "large", "Large", "normalsize", "noindent", "centering",
}  # fmt: skip
_UNWRAP = (
    "mathrm|mathbf|mathit|mathsf|mathtt|mathcal|mathscr|mathfrak|boldsymbol|bm|text|textrm|"
    "textbf|textit|texttt|textsf|textsc|textnormal|emph|operatorname|mbox|hbox|underline|"
    "overline|widehat|hat|tilde|widetilde|bar|vec|dot|ddot|mathnormal|textup|textsl|"
    "underbrace|overbrace|footnote|textsuperscript|mathring|check|breve"
)
_UNWRAP_NAMES = frozenset(_UNWRAP.split("|"))
_BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "P": "ℙ", "E": "𝔼"}
_SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_SUBSCRIPT = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_ACCENTS = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a",
}  # fmt: skip

URL_RE = re.compile(r"""(?:https?://|www\.)[^\s<>"'{}]*[^\s<>"'{}.,;:!?)\]]""", re.IGNORECASE)
# Math regions: $$..$$, $..$, \(..\), \[..\], and display environments. A closing "$" right
# before a digit is a price ("$5 and $10"), not the end of math.
MATH_RE = re.compile(
    r"\$\$.+?\$\$|\$(?:[^$\\]|\\.)+?\$(?!\d)|\\\(.+?\\\)|\\\[.+?\\\]"
    r"|\\begin\{(equation|align|eqnarray|gather|multline|displaymath|math)(\*?)\}.+?\\end\{\1\2\}",
    re.DOTALL,
)
_HREF = re.compile(r"\\href\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_URL_CMD = re.compile(r"\\url\s*\{([^{}]*)\}")
_DROP_CMD = re.compile(r"\\(?:cite[tp]?|ref|eqref|autoref|cref|Cref|label)\s*\{[^{}]*\}")
_FOOTNOTE = re.compile(r"\\footnote\s*\{([^{}]*)\}")
_ENVIRON = re.compile(r"\\(?:begin|end)\s*\{[^{}]*\}(?:\{[^{}]*\})?")
_OVERSET = re.compile(r"\\(?:underset|overset|stackrel)\s*\{[^{}]*\}\s*\{([^{}]*)\}")
_ACCENT_RE = re.compile(
    r"\{\\([\"'`^~=.])\s*\{?([A-Za-z]|\\[ij])\}?\}"  # {\"o} {\"{o}}
    r"|\\([\"'`^~=.])\s*\{([A-Za-z]|\\[ij])\}"  # \"{o}
    r"|\\([\"'`^~=.])([A-Za-z])"  # \"o
    r"|\{?\\([uvHckr])\s*\{([A-Za-z]|\\[ij])\}\}?"  # \v{s} {\c{c}} \u{\i}
    r"|\\([uvHckr])\s+([A-Za-z])"  # \v s
)
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_BB = re.compile(r"\\mathbb\s*\{?\s*([A-Za-z])\s*\}?")
_UNWRAP_RE = re.compile(rf"\\(?:{_UNWRAP})\s*\{{([^{{}}]*)\}}")
_MACRO = re.compile(r"\\([A-Za-z]+)|\\([^A-Za-z])")
_SCRIPT = re.compile(r"([\^_])\s*(?:\{([^{}]*)\}|(\\[A-Za-z]+|[A-Za-z0-9*+\-]))")
_TILDE = re.compile(r"(?<=\S)~(?=\S)")
_DASH = re.compile(r"(?<=\w)-{2,3}(?=\w)")
_QUOTES = re.compile(r"``(.*?)''")


def _accent(m: re.Match[str]) -> str:
    mark, letter = (g for g in m.groups() if g is not None)
    # Dotless \i and \j only exist in TeX to carry an accent; Unicode composes on i and j.
    base = letter[-1]
    return unicodedata.normalize("NFC", base + _ACCENTS[mark])


def _macro(m: re.Match[str]) -> str:
    name = m.group(1)
    if name is None:
        char = m.group(2)
        # \% \& \_ \# \$ \{ \} are escaped characters; \, \; \! and \\ are spacing.
        return " " if char in _SPACING or char == "\\" else char
    if name in _SPACING:
        return " "
    if name in _SIZING or name in _UNWRAP_NAMES:
        # A wrapper whose braces did not survive (nested or cut text) contributes nothing.
        return ""
    sym = _SYMBOLS.get(name)
    if sym is not None:
        return sym
    # Unknown commands (\log, \max, \exp) read fine as their name.
    return name


def _script(m: re.Match[str]) -> str:
    kind, braced, single = m.group(1), m.group(2), m.group(3)
    body = braced if braced is not None else single
    body = _MACRO.sub(_macro, body).strip()
    table = _SUPERSCRIPT if kind == "^" else _SUBSCRIPT
    mapped = body.translate(table)
    if body and all(c != o for c, o in zip(mapped, body, strict=True)):
        return mapped
    if len(body) <= 1:
        return kind + body
    return f"{kind}({body})"


def _math(inner: str) -> str:
    inner = _ENVIRON.sub(" ", inner)
    inner = _OVERSET.sub(r"\1", inner)
    inner = _FRAC.sub(r"\1/\2", inner)
    inner = _BB.sub(lambda m: _BLACKBOARD.get(m.group(1), m.group(1)), inner)
    for _ in range(3):  # nested \mathbf{\hat{x}} unwrap from the inside out
        unwrapped = _UNWRAP_RE.sub(r"\1", inner)
        if unwrapped == inner:
            break
        inner = unwrapped
    inner = _SCRIPT.sub(_script, inner)
    inner = _MACRO.sub(_macro, inner)
    inner = inner.replace("{", "").replace("}", "")
    return collapse_ws(inner)


def _prose(text: str) -> str:
    text = _DROP_CMD.sub("", text)
    text = _ENVIRON.sub(" ", text)
    text = _ACCENT_RE.sub(_accent, text)
    text = _QUOTES.sub(r"“\1”", text)
    for _ in range(3):
        unwrapped = _UNWRAP_RE.sub(r"\1", text)
        if unwrapped == text:
            break
        text = unwrapped
    text = _TILDE.sub(" ", text)
    text = _DASH.sub(lambda m: "–" if len(m.group()) == 2 else "—", text)
    text = _MACRO.sub(_macro, text)
    return text.replace("{", "").replace("}", "")


def _clean_segment(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in MATH_RE.finditer(text):
        out.append(_prose(text[pos : m.start()]))
        raw = m.group()
        if raw.startswith("$$"):
            inner = raw[2:-2]
        elif raw.startswith("$"):
            inner = raw[1:-1]
        elif raw.startswith(("\\(", "\\[")):
            inner = raw[2:-2]
        else:
            inner = re.sub(r"^\\begin\{[^}]*\}|\\end\{[^}]*\}$", "", raw)
        out.append(_math(inner))
        pos = m.end()
    out.append(_prose(text[pos:]))
    return "".join(out)


def latex_to_text(text: str) -> str:
    """``text`` with light LaTeX markup rendered as plain Unicode, whitespace collapsed.

    Trivial math becomes symbols (``$\\alpha$`` → ``α``, ``$20\\%$`` → ``20%``,
    ``$1\\times1$`` → ``1×1``); anything richer keeps its inner text without the ``$``.
    Accents (``Schr\\"odinger``), ``\\emph{}``-style wrappers, ``\\href``, citations and ``~``
    ties are handled; URLs are left untouched.
    """
    if not any(c in text for c in "\\$~{-"):
        # The common case for many abstracts and titles: nothing to render.
        return collapse_ws(text)
    text = _HREF.sub(lambda m: m.group(2) or m.group(1), text)
    text = _URL_CMD.sub(r"\1", text)
    text = _FOOTNOTE.sub(r" (\1)", text)
    out: list[str] = []
    pos = 0
    for m in URL_RE.finditer(text):
        out.append(_clean_segment(text[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(_clean_segment(text[pos:]))
    return collapse_ws("".join(out))
