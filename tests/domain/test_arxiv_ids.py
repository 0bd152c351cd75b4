from __future__ import annotations

import pytest

from bot.domain.arxiv_ids import ArxivRef, find_arxiv_ref, parse_arxiv_ref
from bot.domain.refs import BadPaperRef, PaperRef, parse_paper_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2403.05530", ArxivRef("2403.05530")),
        ("2403.05530v2", ArxivRef("2403.05530", 2)),
        ("arXiv:0704.0001v1", ArxivRef("0704.0001", 1)),
        ("hep-th/9901001", ArxivRef("hep-th/9901001")),
        ("math.GT/0309136v3", ArxivRef("math.GT/0309136", 3)),
        ("https://arxiv.org/abs/2403.05530v2", ArxivRef("2403.05530", 2)),
        ("https://arxiv.org/pdf/2403.05530v1.pdf", ArxivRef("2403.05530", 1)),
        ("http://export.arxiv.org/abs/cond-mat/0412498", ArxivRef("cond-mat/0412498")),
        ("10.48550/arXiv.2403.05530", ArxivRef("2403.05530")),
        ("https://doi.org/10.48550/arxiv.2403.05530", ArxivRef("2403.05530")),
    ],
)
def test_parse_arxiv_ref_accepts_ids_urls_and_dois(text: str, expected: ArxivRef) -> None:
    assert parse_arxiv_ref(text) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "2403.055", "12345.67890", "https://example.org/abs/2403.05530"]
)
def test_parse_arxiv_ref_rejects_other_text(text: str) -> None:
    assert parse_arxiv_ref(text) is None


def test_find_arxiv_ref_in_a_guid() -> None:
    assert find_arxiv_ref("oai:arXiv.org:2411.17700v1") == ArxivRef("2411.17700", 1)


def test_parse_paper_ref_kinds() -> None:
    assert parse_paper_ref(" 2411.17700v1 ") == PaperRef("arxiv", "2411.17700", 1)
    assert parse_paper_ref("https://doi.org/10.1145/3292500.3330701") == PaperRef(
        "doi", "10.1145/3292500.3330701"
    )
    assert parse_paper_ref("t:0123456789abcdef") == PaperRef("key", "t:0123456789abcdef")


def test_parse_paper_ref_says_what_it_expected() -> None:
    with pytest.raises(BadPaperRef, match="not an arXiv id"):
        parse_paper_ref("hello world")
    with pytest.raises(BadPaperRef, match="give an arXiv id"):
        parse_paper_ref("   ")
