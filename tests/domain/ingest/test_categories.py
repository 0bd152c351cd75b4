"""The arXiv category taxonomy: names, archives, autocomplete and listing codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.categories import (
    ARCHIVES,
    CATEGORIES,
    LEGACY_CATEGORIES,
    archive_of,
    category_name,
    complete_category,
    expand_listing_code,
    is_category,
    normalise_category,
)

ARXIV_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "arxiv"


def test_names_a_category() -> None:
    assert category_name("cs.CL") == "Computation and Language"
    assert category_name("hep-th") == "High Energy Physics - Theory"
    assert category_name("cond-mat.mes-hall") == "Mesoscale and Nanoscale Physics"


def test_unknown_code_has_no_name() -> None:
    assert category_name("cs.XX") is None
    assert not is_category("cs.XX")


def test_codes_are_case_sensitive_but_normalisable() -> None:
    assert not is_category("CS.cl")
    assert normalise_category("CS.cl") == "cs.CL"
    assert normalise_category("HEP-TH") == "hep-th"


@pytest.mark.parametrize(
    "archive",
    ["cs", "math", "astro-ph", "cond-mat", "physics", "nlin", "q-bio", "q-fin", "stat", "eess"],
)
def test_every_divided_archive_has_categories(archive: str) -> None:
    assert any(code.startswith(f"{archive}.") for code in CATEGORIES)


@pytest.mark.parametrize(
    "code", ["gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nucl-ex", "nucl-th"]
)
def test_undivided_archives_are_categories(code: str) -> None:
    assert is_category(code)
    assert code in ARCHIVES


def test_taxonomy_size_matches_arxiv() -> None:
    # arXiv lists 155 current categories (40 cs, 32 math, 6 stat, 4 eess, 3 econ, 10 q-bio,
    # 9 q-fin and the physics archives).
    assert len(CATEGORIES) == 155
    assert sum(code.startswith("cs.") for code in CATEGORIES) == 40
    assert sum(code.startswith("math.") for code in CATEGORIES) == 32


def test_codes_are_well_formed() -> None:
    for code in CATEGORIES:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)?(\.([A-Z]{2}|[a-z]+(-[a-z]+)?))?", code), code
        assert archive_of(code) in ARCHIVES, code


def test_every_category_in_a_days_rss_is_known() -> None:
    text = (ARXIV_FIXTURES / "rss_2024-11-28_all_archives.xml").read_text(encoding="utf-8")
    codes = set(re.findall(r"<category>([^<]+)</category>", text))
    assert len(codes) > 100
    assert sorted(c for c in codes if not is_category(c)) == []


def test_legacy_codes_are_categories_but_not_offered() -> None:
    assert is_category("alg-geom")
    assert category_name("cmp-lg") == "Computation and Language"
    offered = {code for code, _ in complete_category("geom", limit=200)}
    assert "alg-geom" not in offered
    assert not set(LEGACY_CATEGORIES) & set(CATEGORIES)


@pytest.mark.parametrize(
    ("code", "archive"),
    [("cs.CL", "cs"), ("hep-th", "hep-th"), ("astro-ph.CO", "astro-ph"), ("math.GT", "math")],
)
def test_archive_of(code: str, archive: str) -> None:
    assert archive_of(code) == archive


def test_complete_by_code_prefix() -> None:
    codes = [code for code, _ in complete_category("cs.c")]
    assert codes[:7] == ["cs.CC", "cs.CE", "cs.CG", "cs.CL", "cs.CR", "cs.CV", "cs.CY"]
    # Substring matches come after the prefix ones ("physi|cs.c|omp-ph").
    assert "physics.comp-ph" in codes[7:]


def test_complete_exact_code_first() -> None:
    assert complete_category("cs.LG")[0] == ("cs.LG", "Machine Learning")


def test_complete_by_name_is_case_insensitive() -> None:
    results = complete_category("MACHINE learn")
    assert ("cs.LG", "Machine Learning") in results
    assert ("stat.ML", "Machine Learning") in results


def test_complete_by_word_inside_a_name() -> None:
    codes = [code for code, _ in complete_category("language")]
    assert "cs.CL" in codes
    assert "cs.FL" in codes


def test_complete_respects_limit() -> None:
    assert len(complete_category("", limit=25)) == 25
    assert len(complete_category("a", limit=3)) == 3
    assert complete_category("a", limit=0) == []


def test_complete_nothing_matches() -> None:
    assert complete_category("zzzz") == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("CL", "cs.CL"),
        ("LG", "cs.LG"),
        ("CV", "cs.CV"),  # also math.CV: cs wins
        ("NA", "cs.NA"),  # also math.NA
        ("IT", "cs.IT"),
        ("SY", "cs.SY"),  # also eess.SY
        ("ML", "stat.ML"),
        ("CO", "math.CO"),
        ("SP", "math.SP"),
        ("EM", "econ.EM"),
        ("cl", "cs.CL"),
        ("cs.CL", "cs.CL"),
        ("hep-th", "hep-th"),
        ("mes-hall", "cond-mat.mes-hall"),
        ("quant-ph", "quant-ph"),
    ],
)
def test_expand_listing_code(code: str, expected: str) -> None:
    assert expand_listing_code(code) == expected


@pytest.mark.parametrize("code", ["", "XX", "cs.XX", "Nov"])
def test_expand_unknown_listing_code(code: str) -> None:
    assert expand_listing_code(code) is None
