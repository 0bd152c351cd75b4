"""Discord's message limits, and fitting any reply inside them.

Builders measure text by the most characters a front end may need to show it: Discord's
renderer puts a backslash before every character that markdown would read as markup, and before
the number of a line that would start an ordered list. :func:`markup_len` counts those extra
characters in advance, so a reply that fits here still fits once escaped. Footers are shown
verbatim (Discord renders no markdown there) and are measured by their plain length.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from bot.domain.text import shorten
from bot.messages.model import Card, Field, Reply, RichText, Span

CONTENT_MAX = 2000
CARDS_MAX = 10
CARDS_TOTAL_MAX = 6000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
URL_MAX = 1024

# Characters a markdown front end may escape with one backslash each (counted wherever they
# appear; the last three are markup only at the start of a line).
MARKUP_CHARS = frozenset("\\*_~|`<>@[]#->")
LINE_START_CHARS = frozenset("#->")
# Characters percent-encoded in URLs so a link's target can never close the link early.
_URL_UNSAFE = frozenset(" ()<>\"'\\`[]{}|^")
_EMPTY = "—"
_STYLE_OVERHEAD = {"plain": 0, "bold": 4, "italic": 2, "code": 2}


def _scan(text: str, budget: int | None = None) -> tuple[int, int]:
    """(cost of ``text``, longest prefix whose cost is at most ``budget``)."""
    cost = 0
    at_line_start = True
    for i, c in enumerate(text):
        step = 1
        if c in MARKUP_CHARS:
            step = 2
        elif at_line_start and c.isdigit():
            step = 2  # "1. " at a line start would become a list: its "." gets escaped
        if c == "\n":
            at_line_start = True
        elif not (c == " " or c == "\t"):
            at_line_start = False
        if budget is not None and cost + step > budget:
            return cost, i
        cost += step
    return cost, len(text)


def markup_len(text: str) -> int:
    """The most characters ``text`` takes once escaped for a markdown front end."""
    return _scan(text)[0]


def fit_text(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """``text`` shortened at a word boundary, with ``ellipsis``, so ``markup_len`` <= ``limit``."""
    if markup_len(text) <= limit:
        return text
    if limit < len(ellipsis):
        return ""
    _, n = _scan(text, limit - len(ellipsis))
    # shorten() keeps text that is short in characters; pad it (the padding lies past the cut,
    # so it never shows) when it is long only in markup.
    padded = text if len(text) > n + len(ellipsis) else text + "\x00" * (len(ellipsis) + 1)
    return shorten(padded, n + len(ellipsis), ellipsis=ellipsis)


def fit_plain(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters, for places shown verbatim (footers)."""
    return shorten(text, limit)


def span_overhead(span: Span) -> int:
    """Characters a front end adds around the span's text: ``**``, backticks, ``[..](url)``."""
    extra = _STYLE_OVERHEAD[span.style]
    if span.url:
        extra += len(span.url) + 4
    return extra


def span_cost(span: Span) -> int:
    body = len(span.text) if span.style == "code" else markup_len(span.text)
    return body + span_overhead(span)


def spans_cost(spans: RichText) -> int:
    return sum(span_cost(s) for s in spans)


def fit_spans(spans: RichText, limit: int) -> RichText:
    """The longest leading run of ``spans`` costing at most ``limit``; the span that does not fit
    is shortened with an ellipsis when there is room for a few words of it, else dropped."""
    out: list[Span] = []
    used = 0
    for span in spans:
        cost = span_cost(span)
        if used + cost <= limit:
            out.append(span)
            used += cost
            continue
        room = limit - used - span_overhead(span)
        if span.style == "code":
            text = shorten(span.text, room) if room >= 8 else ""
        else:
            text = fit_text(span.text, room) if room >= 8 else ""
        if text:
            out.append(replace(span, text=text))
        elif limit - used >= 1 and out:
            out.append(Span("…"))
        break
    return tuple(out)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with every character that could end a markdown link percent-encoded,
    or None for anything else (other schemes, no host, too long)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if not url.isprintable() or any("\ud800" <= c <= "\udfff" for c in url):
        return None  # control characters or lone surrogates: no real address has them
    encoded = "".join(
        c
        if c.isascii() and c.isprintable() and c not in _URL_UNSAFE
        else "".join(f"%{b:02X}" for b in c.encode("utf-8"))
        for c in url
    )
    return encoded if len(encoded) <= URL_MAX else None


def card_cost(card: Card) -> int:
    """What ``card`` counts towards the 6000 characters all of a message's embeds may hold."""
    total = markup_len(card.title) + spans_cost(card.description) + len(card.footer)
    for f in card.fields:
        total += markup_len(f.name) + spans_cost(f.value)
    return total


def _filled(text: str) -> str:
    return text if text.strip() else _EMPTY


def _filled_spans(spans: RichText) -> RichText:
    """Discord refuses a blank field value."""
    return spans if "".join(s.text for s in spans).strip() else (Span(_EMPTY),)


def fit_card(card: Card) -> Card:
    """``card`` with every part within its own limit."""
    fields = tuple(
        Field(
            _filled(fit_text(f.name, FIELD_NAME_MAX)),
            _filled_spans(fit_spans(f.value, FIELD_VALUE_MAX)),
            f.inline,
        )
        for f in card.fields[:FIELDS_MAX]
    )
    return Card(
        title=fit_text(card.title, TITLE_MAX),
        url=safe_url(card.url),
        description=fit_spans(card.description, DESCRIPTION_MAX),
        fields=fields,
        footer=fit_plain(card.footer, FOOTER_MAX),
        color=card.color,
    )


def _shrink_total(cards: list[Card]) -> list[Card]:
    """Trim descriptions, then field values, then whole cards until all fit in 6000."""
    over = sum(card_cost(c) for c in cards) - CARDS_TOTAL_MAX
    for i in sorted(range(len(cards)), key=lambda i: -spans_cost(cards[i].description)):
        if over <= 0:
            return cards
        cost = spans_cost(cards[i].description)
        cards[i] = replace(cards[i], description=fit_spans(cards[i].description, cost - over))
        over -= cost - spans_cost(cards[i].description)
    for i, card in enumerate(cards):
        if over <= 0:
            return cards
        fields = list(card.fields)
        for j in sorted(range(len(fields)), key=lambda j: -spans_cost(fields[j].value)):
            if over <= 0:
                break
            cost = spans_cost(fields[j].value)
            value = _filled_spans(fit_spans(fields[j].value, max(1, cost - over)))
            fields[j] = replace(fields[j], value=value)
            over -= cost - spans_cost(value)
        cards[i] = replace(card, fields=tuple(fields))
    while over > 0 and len(cards) > 1:
        over -= card_cost(cards.pop())
    if over > 0 and cards:  # one card of many long field names and a long footer
        card = cards[0]
        fields = list(card.fields)
        while over > 0 and fields:
            gone = fields.pop()
            over -= markup_len(gone.name) + spans_cost(gone.value)
        footer = card.footer
        if over > 0:
            footer = fit_plain(footer, max(0, len(footer) - over))
        cards[0] = replace(card, fields=tuple(fields), footer=footer)
    return cards


def fit_reply(reply: Reply) -> Reply:
    """``reply`` within every Discord limit: each part, 10 cards, 6000 across all cards, and
    2000 characters of content. Nothing is ever dropped silently from the middle of a text:
    cuts fall at word boundaries and end in an ellipsis."""
    cards = _shrink_total([fit_card(c) for c in reply.cards[:CARDS_MAX]])
    content = fit_text(reply.content, CONTENT_MAX)
    if not content.strip() and not cards:
        content = "(nothing to show)"
    return replace(reply, content=content, cards=tuple(cards))


def reply_violations(reply: Reply) -> list[str]:
    """Every limit ``reply`` breaks, measured as a markdown front end would show it."""
    problems: list[str] = []

    def check(what: str, size: int, limit: int) -> None:
        if size > limit:
            problems.append(f"{what}: {size} > {limit}")

    check("content", markup_len(reply.content), CONTENT_MAX)
    check("cards", len(reply.cards), CARDS_MAX)
    check("cards total", sum(card_cost(c) for c in reply.cards), CARDS_TOTAL_MAX)
    if not reply.content and not reply.cards:
        problems.append("empty reply")
    for i, card in enumerate(reply.cards):
        check(f"card {i} title", markup_len(card.title), TITLE_MAX)
        check(f"card {i} description", spans_cost(card.description), DESCRIPTION_MAX)
        check(f"card {i} footer", len(card.footer), FOOTER_MAX)
        check(f"card {i} fields", len(card.fields), FIELDS_MAX)
        for j, f in enumerate(card.fields):
            check(f"card {i} field {j} name", markup_len(f.name), FIELD_NAME_MAX)
            check(f"card {i} field {j} value", spans_cost(f.value), FIELD_VALUE_MAX)
            if not f.name.strip() or not "".join(s.text for s in f.value).strip():
                problems.append(f"card {i} field {j} is empty")
        if card.url is not None and safe_url(card.url) != card.url:
            problems.append(f"card {i} url is not safe: {card.url!r}")
        for span in (*card.description, *(s for f in card.fields for s in f.value)):
            if span.url is not None and safe_url(span.url) != span.url:
                problems.append(f"card {i} link is not safe: {span.url!r}")
    return problems
