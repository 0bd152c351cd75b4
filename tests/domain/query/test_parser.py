"""parse_query: what each kind of input becomes, and the exact words of each refusal."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.query import (
    MAX_QUERY_LENGTH,
    MIN_PREFIX_LENGTH,
    And,
    AnyOf,
    CategoryFilter,
    DateRange,
    Filter,
    IdFilter,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    QueryError,
    RelativeDate,
    Term,
    parse_query,
    tokenize,
)

TODAY = date(2024, 11, 28)


def parse(text: str) -> Query:
    return parse_query(text, today=TODAY)


def t(text: str, field: str | None = None, *, prefix: bool = False) -> Term:
    return Term(text, field, prefix)  # type: ignore[arg-type]


def ph(words: str, field: str | None = None) -> Phrase:
    return Phrase(tuple(words.split()), field)  # type: ignore[arg-type]


# (query, text_tree, filters)
TEXT_CASES: list[tuple[str, Node | None, tuple[Filter, ...]]] = [
    ("long context", And((t("long"), t("context"))), ()),
    (
        '"long context" OR "million tokens" cat:cs.CL',
        Or((ph("long context"), ph("million tokens"))),
        (CategoryFilter("cs.CL"),),
    ),
    ("-survey transformer*", And((Not(t("survey")), t("transformer", prefix=True))), ()),
    ('author:"Hinton G"', ph("hinton g", "author"), ()),
    ("author:hinton", t("hinton", "author"), ()),
    ("(a OR b) -c", And((Or((t("a"), t("b"))), Not(t("c")))), ()),
    ("title:(graph neural)", And((t("graph", "title"), t("neural", "title"))), ()),
    ("title:(a OR b)", Or((t("a", "title"), t("b", "title"))), ()),
    ("title:(graph -survey)", And((t("graph", "title"), Not(t("survey", "title")))), ()),
    # FTS5 operators and column syntax are ordinary text, never passed through.
    ("NEAR(a b)", And((t("near"), t("a"), t("b"))), ()),
    ("title : x", And((t("title"), t("x"))), ()),
    ("{title}:x", ph("title x"), ()),
    ("^start", t("start"), ()),
    ("🚀 rocket", t("rocket"), ()),
    ("تعلم الآلة", And((t("تعلم"), t("الالة"))), ()),
    ("trans\u200dformer", t("transformer"), ()),
    ("\u200fmodel\u200e", t("model"), ()),
    ("Hintón", t("hinton"), ()),
    ("gpt-4", ph("gpt 4"), ()),
    ("cs.CL", ph("cs cl"), ()),
    ("c++", t("c"), ()),
    ("don't", ph("don t"), ()),
    ("a\tb\nc", And((t("a"), t("b"), t("c"))), ()),
    # OR binds tighter than the implicit AND, as in web search.
    ("llm reasoning OR planning", And((t("llm"), Or((t("reasoning"), t("planning"))))), ()),
    ("a OR b OR c", Or((t("a"), t("b"), t("c"))), ()),
    ("((a OR b) OR c)", Or((t("a"), t("b"), t("c"))), ()),
    ("a (b (c d))", And((t("a"), t("b"), t("c"), t("d"))), ()),
    ("a or b", And((t("a"), t("or"), t("b"))), ()),
    ("a AND b", And((t("a"), t("b"))), ()),
    ("a NOT b", And((t("a"), Not(t("b")))), ()),
    ("a ＯＲ b", Or((t("a"), t("b"))), ()),
    ("--a b", And((Not(t("a")), t("b"))), ()),
    ("a - b", And((t("a"), t("b"))), ()),
    ("-(-a)", t("a"), ()),
    ('-"large language" model', And((Not(ph("large language")), t("model"))), ()),
    ("-(a OR b) c", And((Not(Or((t("a"), t("b")))), t("c"))), ()),
    ("“long context”", ph("long context"), ()),
    ('"single"', t("single"), ()),
    ("title: x", t("x", "title"), ()),
    ('author: "geoffrey hinton"', ph("geoffrey hinton", "author"), ()),
    (
        "ti:graph au:kipf abs:node",
        And((t("graph", "title"), t("kipf", "author"), t("node", "abstract"))),
        (),
    ),
    ("all:(a b)", And((t("a"), t("b"))), ()),
    ("org:deepmind", t("deepmind", "org"), ()),
    ("title:gpt-4", ph("gpt 4", "title"), ()),
    ("title:author:x", ph("author x", "title"), ()),
    ("Transformer*", t("transformer", prefix=True), ()),
    ("transform**", t("transform", prefix=True), ()),
    ("(trans*)", t("trans", prefix=True), ()),
    ("title:diffus*", t("diffus", "title", prefix=True), ()),
    # An unknown "field" that is no near miss of a real one is just text with a colon.
    ("LLM: reasoning", And((t("llm"), t("reasoning"))), ()),
    ("cat:cs -survey", Not(t("survey")), (CategoryFilter("cs", whole_archive=True),)),
    ("id:2403.05530", None, (IdFilter("2403.05530"),)),
    ("id:2403.05530v2", None, (IdFilter("2403.05530"),)),
    ("2403.05530", None, (IdFilter("2403.05530"),)),
    ("arXiv:2403.05530", None, (IdFilter("2403.05530"),)),
    ("https://arxiv.org/abs/2403.05530v2", None, (IdFilter("2403.05530"),)),
    ("id:hep-th/9901001", None, (IdFilter("hep-th/9901001"),)),
    ("-id:2403.05530 llm", t("llm"), (IdFilter("2403.05530", exclude=True),)),
    ("cat:CS.cl", None, (CategoryFilter("cs.CL"),)),
    ("cat:LG", None, (CategoryFilter("cs.LG"),)),
    ("cat:cs.CL*", None, (CategoryFilter("cs.CL"),)),
    ("cat:math.*", None, (CategoryFilter("math", whole_archive=True),)),
    ("cat:hep-th", None, (CategoryFilter("hep-th", whole_archive=True),)),
    ("cat:cond-mat.mes-hall", None, (CategoryFilter("cond-mat.mes-hall"),)),
    (
        "-cat:cs.CV cat:cs",
        None,
        (CategoryFilter("cs.CV", exclude=True), CategoryFilter("cs", whole_archive=True)),
    ),
    (
        "(cat:cs.CL OR cat:cs.LG) llm",
        t("llm"),
        (AnyOf((CategoryFilter("cs.CL"), CategoryFilter("cs.LG"))),),
    ),
    (
        "-(cat:cs.CV OR cat:cs.RO) vision",
        t("vision"),
        (CategoryFilter("cs.CV", exclude=True), CategoryFilter("cs.RO", exclude=True)),
    ),
    ("cat:cs.CL cat:cs.CL x", t("x"), (CategoryFilter("cs.CL"),)),
    ("(a cat:cs.CL)", t("a"), (CategoryFilter("cs.CL"),)),
    ("year:2020-2023", None, (DateRange(date(2020, 1, 1), date(2023, 12, 31)),)),
    ("year:2024", None, (DateRange(date(2024, 1, 1), date(2024, 12, 31)),)),
    ("since:2024-11-01", None, (DateRange(since=date(2024, 11, 1)),)),
    ("since:2024-11 until:2024-11", None, (DateRange(date(2024, 11, 1), date(2024, 11, 30)),)),
    ("until:2024", None, (DateRange(until=date(2024, 12, 31)),)),
    (
        "since:2w",
        None,
        (DateRange(since=date(2024, 11, 14), since_relative=RelativeDate(2, "w")),),
    ),
    (
        "since:1m",
        None,
        (DateRange(since=date(2024, 10, 28), since_relative=RelativeDate(1, "m")),),
    ),
    ("since:1y", None, (DateRange(since=date(2023, 11, 28), since_relative=RelativeDate(1, "y")),)),
    ("since:today", None, (DateRange(since=TODAY, since_relative=RelativeDate(0, "d")),)),
    (
        "until:yesterday",
        None,
        (DateRange(until=date(2024, 11, 27), until_relative=RelativeDate(1, "d")),),
    ),
]


@pytest.mark.parametrize(("text", "tree", "filters"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_parses(text: str, tree: Node | None, filters: tuple[Filter, ...]) -> None:
    q = parse(text)
    assert q.text_tree == tree
    assert q.filters == filters
    assert q.raw == text


def test_filters_and_sort_together() -> None:
    q = parse("cat:cs since:7d sort:recent")
    assert q.text_tree is None
    assert q.filters == (
        CategoryFilter("cs", whole_archive=True),
        DateRange(since=date(2024, 11, 21), since_relative=RelativeDate(7, "d")),
    )
    assert q.sort == "recent"


def test_default_sort_depends_on_text() -> None:
    assert parse("llm").sort == "relevance"
    assert parse("cat:cs.CL").sort == "recent"
    assert parse("llm sort:recent").sort == "recent"
    assert parse("llm sort:newest").sort == "recent"
    assert parse("cat:cs.CL sort:relevance").sort == "relevance"
    assert parse("llm sort:recent sort:recent").sort == "recent"


def test_date_range_sits_where_dates_were_first_written() -> None:
    q = parse("cat:cs.CL since:2024-01-01 cat:cs.LG until:2024-06")
    assert q.filters == (
        CategoryFilter("cs.CL"),
        DateRange(date(2024, 1, 1), date(2024, 6, 30)),
        CategoryFilter("cs.LG"),
    )


def test_today_defaults_to_the_current_day() -> None:
    q = parse_query("since:0d")
    (rng,) = q.filters
    assert isinstance(rng, DateRange) and rng.since is not None
    assert abs((rng.since - date.today()).days) <= 1


@pytest.mark.parametrize(
    ("text", "broad"),
    [
        ("the of", True),
        ('"to be or not to be"', True),
        ("a OR the", True),
        ("the transformer", False),
        ("the*", False),
        ("cat:cs.CL", False),
        ("-the cat:cs", True),
    ],
)
def test_broad_flags_queries_of_only_stopwords(text: str, broad: bool) -> None:
    assert parse(text).broad is broad


# (query, words the message must contain, position)
ERROR_CASES: list[tuple[str, str, int | None]] = [
    ("", "the query is empty", None),
    ("   ", "the query is empty", None),
    ("\u200b\u200d", "the query is empty", None),
    ('"unclosed', "unbalanced quote: the phrase starting at column 1 is never closed", 0),
    ('long "unclosed', "unbalanced quote: the phrase starting at column 6 is never closed", 5),
    ('a "b" "c', "the phrase starting at column 7 is never closed", 6),
    ("((a)", "the '(' at column 1 is never closed", 0),
    ("a)", "the ')' at column 2 has no matching '('", 1),
    ("()", "the parentheses at column 1 have nothing to search for inside", 0),
    ("( 🚀 )", "the parentheses at column 1 have nothing to search for inside", 0),
    ("*", f"a * needs at least {MIN_PREFIX_LENGTH} letters before it", 0),
    ("a*", "'a*' at column 1 is too short: a * needs at least 3 letters before it", 0),
    ("x ab*", "'ab*' at column 3 is too short", 2),
    ("tr*ns", "a * can only end a word", 0),
    ("gpt-4*", "punctuation splits 'gpt-4' into gpt and 4; drop the *", 0),
    ("{title}:*", "a * must come right after a word", 0),
    ('""', "the phrase at column 1 has no words in it", 0),
    ("OR a", "'OR' at column 1 needs something to search for before it", 0),
    ("a OR", "'OR' at column 3 needs something to search for after it", 2),
    ("(a OR) b", "'OR' at column 4 needs something to search for after it", 3),
    ("a OR OR b", "'OR' at column 6 comes right after another 'OR'; remove one", 5),
    ("a OR AND b", "'OR' at column 3 is followed by 'AND'", 5),
    ("a AND OR b", "'OR' at column 7 comes right after 'AND'", 6),
    ("AND a", "'AND' at column 1 needs something to search for before it", 0),
    ("a AND", "'AND' at column 3 needs something to search for after it", 2),
    ("NOT", "'NOT' at column 1 needs a word, phrase or group after it", 0),
    ("a -(", "the '(' at column 4 is never closed", 3),
    ("NOT -a", "is followed by another exclusion", 4),
    ("-a", "the query has nothing to search for: it only excludes words", 0),
    ("-a -b", "it only excludes words", 0),
    ("-a sort:recent", "it only excludes words", 0),
    ("🚀", "the query has nothing to search for: it has no letters or digits", None),
    ("sort:recent", "sort: only orders results", 0),
    ("-a OR b", "the exclusion at column 1 can't be one side of OR", 0),
    ("b OR (-a)", "the exclusion at column 7 can't be one side of OR", 6),
    ("b OR (-a -c)", "can't be one side of OR", 5),
    ("a OR cat:cs", "cat: and id: filters can only be OR-ed with each other", 0),
    ("since:7d OR cat:cs", "cat: and id: filters can only be OR-ed with each other", 0),
    ("-cat:cs.CV OR cat:cs", "cat: and id: filters can only be OR-ed with each other", 0),
    ("(a OR cat:cs.CL) b", "can only be OR-ed with each other", 1),
    ("-(a cat:cs.CL)", "'cat:' at column 5 is a filter on the whole query", 4),
    ("sort:weird", "'sort:' is either relevance or recent, got 'weird'", 5),
    ("-since:7d a", "'since:' at column 2 can't be excluded", 0),
    ("-sort:recent a", "'sort:' at column 2 can't be excluded", 0),
    ("since:2024-13-45", "got '2024-13-45', which is not a real date", 6),
    ("since:2024-02-30", "not a real date", 6),
    ("until:2024-13", "not a real date", 6),
    ("since:0000", "not a real date", 6),
    (
        "since:yesterdayish",
        "'since:' needs a date such as 2024-11-01, 2024-11, 2024 or 7d, got 'yesterdayish'",
        6,
    ),
    ("since:99999y", "reaches back too far", 6),
    ("since:7d since:1m", "'since:' is given twice (columns 1 and 10); keep one", 9),
    ("year:2024 since:2024-06", "'year:' can't be combined with since: or until:", 10),
    ("since:2024-06 year:2024", "'year:' can't be combined with since: or until:", 14),
    ("since:2024-12 until:2024-11", "since: 2024-12-01 is after until: 2024-11-30", 14),
    ("since:7d until:30d", "is after until:", 9),
    ("year:2023-2020", "'year:2023-2020' runs backwards; write year:2020-2023", 5),
    ("year:20", "'year:' needs a year such as 2024 or a range such as 2020-2023, got '20'", 5),
    ("sort:recent sort:relevance x", "'sort:' is given twice with different values", 12),
    ("x" * 2000, f"too long: at most {MAX_QUERY_LENGTH} characters (this one has 2000)", 500),
    ("x" * 501, "too long", 500),
    (
        "autor:hinton",
        "unknown field 'autor:' at column 1 — did you mean author:? Fields: author, title, "
        "abstract, cat, org, id, since, until, year, sort",
        0,
    ),
    ("x titel:graph", "unknown field 'titel:' at column 3 — did you mean title:?", 2),
    ("catgory:cs", "did you mean cat:?", 0),
    ("sicne:7d", "did you mean since:?", 0),
    ("title:", "'title:' at column 1 needs a value right after it, as in title:transformer", 0),
    ("title: OR a", "'title:' at column 1 needs a value", 0),
    ("title:🚀", "'🚀' at column 7 has no letters or digits", 6),
    ("title:-x", "to exclude, put the minus before the field: -title:x", 6),
    ("author: -x", "to exclude, put the minus before the field", 8),
    ("title:-(a b)", "'title:-' at column 1: to exclude, put the minus before the field", 6),
    ('title:-"a b"', "to exclude, put the minus before the field", 6),
    ("title:(a author:b)", "'author:' at column 10 can't go inside title:(...) (column 1)", 9),
    ("title:(a cat:cs)", "'cat:' at column 10 can't go inside title:(...)", 9),
    ("title:(a 2403.05530)", "an arXiv id at column 10 can't go inside title:(...)", 9),
    ("cat:(cs.CL OR cs.LG)", "'cat:' at column 1 takes a single value", 0),
    ("cat:cs.CLL", "unknown arXiv category 'cs.CLL' — did you mean cs.CL?", 4),
    ("cat:bogus-thing", "unknown arXiv category 'bogus-thing'. Categories look like cs.CL", 4),
    ("cat:c$", "'cat:' needs an arXiv category such as cs.CL", 4),
    ("cat:cs.CL,cs.LG", "for several, write cat:cs.CL OR cat:cs.LG", 4),
    ("id:banana", "'id:' needs an arXiv id such as 2403.05530 or hep-th/9901001, got 'banana'", 3),
    ("https://example.com/paper", "the link at column 1 can't be searched", 0),
    ("(" * 11 + "a" + ")" * 11, "too many nested parentheses at column 11: at most 10", 10),
]


@pytest.mark.parametrize(
    ("text", "message", "position"), ERROR_CASES, ids=[c[0][:40] for c in ERROR_CASES]
)
def test_refuses_with_a_precise_message(text: str, message: str, position: int | None) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert str(caught.value) == caught.value.message


def test_ten_levels_of_nesting_are_fine() -> None:
    assert parse("(" * 10 + "a" + ")" * 10).text_tree == t("a")


def test_length_limit_ignores_surrounding_whitespace() -> None:
    assert parse("  " + "x" * MAX_QUERY_LENGTH + "\n").text_tree == t("x" * MAX_QUERY_LENGTH)


def test_positions_count_characters_as_typed() -> None:
    # The zero-width joiner is deleted before lexing; the column still counts it.
    with pytest.raises(QueryError) as caught:
        parse('a\u200d "b')
    assert caught.value.position == 3
    assert "column 4" in caught.value.message


def test_query_error_is_a_value_error() -> None:
    assert issubclass(QueryError, ValueError)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Large Language Models", ["large", "language", "models"]),
        ("gpt-4 and c++", ["gpt", "4", "and", "c"]),
        ("Schrödinger’s cat", ["schrodinger", "s", "cat"]),
        ("naïve Bayes", ["naive", "bayes"]),
        ("ＦＵＬＬ width", ["full", "width"]),
        ("snake_case", ["snake", "case"]),
        ("emoji🚀inside", ["emoji", "inside"]),
        ("zero\u200bwidth", ["zerowidth"]),
        ("Straße", ["strasse"]),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens
